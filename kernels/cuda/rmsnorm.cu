#include "kernels/cuda/rmsnorm.h"

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ void store(float* out, int64_t i, float v) { out[i] = v; }
__device__ __forceinline__ void store(uint16_t* out, int64_t i, float v) { out[i] = bf16_bits(v); }

template <typename Out>
__global__ void rmsnorm_kernel(const float* __restrict__ x, const float* __restrict__ weight, Out* __restrict__ out,
                               int64_t dim, float eps) {
  const float* xr = x + blockIdx.x * dim;  // (dim)
  Out* outr = out + blockIdx.x * dim;      // (dim)
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i] * xr[i];
  const float inv_rms = rsqrtf(block_sum(sum) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) store(outr, i, xr[i] * inv_rms * weight[i]);
}

template <typename Out>
cudaError_t launch(const float* x, const float* weight, Out* out, int64_t rows, int64_t dim, float eps,
                   cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  rmsnorm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, weight, out, dim, eps);
  return cudaGetLastError();
}

}  // namespace

cudaError_t rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim,
                        float eps, cudaStream_t stream) {
  return launch(x, weight, out, rows, dim, eps, stream);
}

cudaError_t rmsnorm_bf16(const float* x, const float* weight, uint16_t* out, int64_t rows, int64_t dim, float eps,
                         cudaStream_t stream) {
  return launch(x, weight, out, rows, dim, eps, stream);
}

}  // namespace deskpilot::kernels::cuda
