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

__global__ void rope_split_append_kernel(RopeSplitAppend a) {
  const int64_t half = a.head_dim / 2, heads = a.q_heads + 2 * a.kv_heads, n = a.len * heads * half;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < n;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t i = e % half, hh = (e / half) % heads, t = e / (half * heads);
    // Where token t's key and value go: row *past + t of the one cache, or row past[t] of its own.
    const bool rows = a.k_rows != nullptr;
    uint16_t* k_cache = rows ? a.k_rows[t] : a.k_cache;
    uint16_t* v_cache = rows ? a.v_rows[t] : a.v_cache;
    const int64_t slot = rows ? a.past[t] : *a.past + t;
    const float* src = a.qkv + (t * heads + hh) * a.head_dim;
    float x1 = src[i], x2 = src[i + half];
    if (a.bias) {
      x1 += a.bias[hh * a.head_dim + i];
      x2 += a.bias[hh * a.head_dim + i + half];
    }
    if (hh >= a.q_heads + a.kv_heads) {  // a value: appended as it is
      uint16_t* dst = v_cache + (slot * a.kv_heads + (hh - a.q_heads - a.kv_heads)) * a.head_dim;
      dst[i] = bf16_bits(x1);
      dst[i + half] = bf16_bits(x2);
      continue;
    }
    const float* c = a.cos + t * a.head_dim;
    const float* s = a.sin + t * a.head_dim;
    const float y1 = x1 * c[i] - x2 * s[i], y2 = x2 * c[i + half] + x1 * s[i + half];
    if (hh < a.q_heads) {
      float* dst = a.q + (t * a.q_heads + hh) * a.head_dim;
      dst[i] = y1;
      dst[i + half] = y2;
    } else {
      uint16_t* dst = k_cache + (slot * a.kv_heads + (hh - a.q_heads)) * a.head_dim;
      dst[i] = bf16_bits(y1);
      dst[i + half] = bf16_bits(y2);
    }
  }
}

}  // namespace

cudaError_t rope_split_append(const RopeSplitAppend& a, cudaStream_t stream) {
  const bool caches = a.k_rows ? a.v_rows != nullptr : a.k_cache && a.v_cache;
  if (!a.qkv || !a.cos || !a.sin || !a.q || !caches || !a.past) return cudaErrorInvalidValue;
  if (a.len <= 0 || a.q_heads <= 0 || a.kv_heads <= 0 || a.head_dim <= 0 || a.head_dim % 2)
    return cudaErrorInvalidValue;
  const int64_t pairs = a.len * (a.q_heads + 2 * a.kv_heads) * (a.head_dim / 2);
  rope_split_append_kernel<<<grid_for(pairs, kThreads), kThreads, 0, stream>>>(a);
  return cudaGetLastError();
}

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
