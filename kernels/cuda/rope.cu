#include "kernels/cuda/rope.h"

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void cos_sin_kernel(const int64_t* positions, int64_t len, int64_t head_dim, const float* inv_freq,
                               const int32_t* stream, float* cos, float* sin) {
  const int64_t half = head_dim / 2, n = len * half;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t t = e / half, i = e % half;
    // FP32 angle, as transformers computes it; precise sinf/cosf (not the fast intrinsics).
    const float angle = static_cast<float>(positions[stream[i] * len + t]) * inv_freq[i];
    float s, c;
    sincosf(angle, &s, &c);
    cos[t * head_dim + i] = cos[t * head_dim + i + half] = c;
    sin[t * head_dim + i] = sin[t * head_dim + i + half] = s;
  }
}

__global__ void rope_kernel(float* x, int64_t len, int64_t heads, int64_t head_dim, const float* cos,
                            const float* sin) {
  const int64_t half = head_dim / 2, n = len * heads * half;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e % half, row = e / half, t = row / heads;
    float* v = x + row * head_dim;
    const float* c = cos + t * head_dim;
    const float* s = sin + t * head_dim;
    const float x1 = v[i], x2 = v[i + half];
    v[i] = x1 * c[i] - x2 * s[i];
    v[i + half] = x2 * c[i + half] + x1 * s[i + half];
  }
}

}  // namespace

cudaError_t mrope_cos_sin(const int64_t* positions, int64_t len, int64_t head_dim, const float* inv_freq,
                          const int32_t* stream, float* cos, float* sin, cudaStream_t cuda_stream) {
  if (len <= 0 || head_dim <= 0 || head_dim % 2) return cudaErrorInvalidValue;
  cos_sin_kernel<<<grid_for(len * head_dim / 2, kThreads), kThreads, 0, cuda_stream>>>(positions, len, head_dim,
                                                                                     inv_freq, stream, cos, sin);
  return cudaGetLastError();
}

cudaError_t rope_apply(float* x, int64_t len, int64_t heads, int64_t head_dim, const float* cos, const float* sin,
                       cudaStream_t stream) {
  if (len <= 0 || heads <= 0 || head_dim <= 0 || head_dim % 2) return cudaErrorInvalidValue;
  rope_kernel<<<grid_for(len * heads * head_dim / 2, kThreads), kThreads, 0, stream>>>(x, len, heads, head_dim, cos,
                                                                                       sin);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
