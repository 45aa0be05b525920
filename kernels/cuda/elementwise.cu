#include "kernels/cuda/elementwise.h"

#include <cuda_fp16.h>

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__device__ __forceinline__ float bf16_bits_to_f32(uint16_t b) { return __uint_as_float(static_cast<uint32_t>(b) << 16); }

__device__ __forceinline__ float load_as_f32(const void* p, DType type, int64_t i) {
  switch (type) {
    case DType::kF32: return static_cast<const float*>(p)[i];
    case DType::kBF16: return bf16_bits_to_f32(static_cast<const uint16_t*>(p)[i]);
    case DType::kF16: return __half2float(__ushort_as_half(static_cast<const unsigned short*>(p)[i]));
  }
  return 0.f;
}

__global__ void silu_mul_kernel(const float* gate, const float* up, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const float g = gate[i];
    out[i] = g / (1.f + expf(-g)) * up[i];
  }
}

__device__ __forceinline__ void store(float* out, int64_t i, float v) { out[i] = v; }
__device__ __forceinline__ void store(uint16_t* out, int64_t i, float v) { out[i] = bf16_bits(v); }

template <typename Out>
__global__ void silu_mul_fused_kernel(const float* gu, Out* out, int64_t rows, int64_t inter) {
  const int64_t n = rows * inter;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t r = i / inter, c = i % inter;
    const float g = gu[r * 2 * inter + c];
    store(out, i, g / (1.f + expf(-g)) * gu[r * 2 * inter + inter + c]);
  }
}

// total = rows * row elements.
__global__ void copy_rows_at_kernel(const float* src, float* dst, int64_t total, int64_t row, const int64_t* offset) {
  float* to = dst + *offset * row;
  const int64_t n = total;
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    to[i] = src[i];
}

__global__ void gelu_erf_kernel(float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = 0.5f * x[i] * (1.f + erff(x[i] * 0.70710678118654752440f));
}

__global__ void quick_gelu_kernel(float* x, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] = x[i] / (1.f + expf(-1.702f * x[i]));
}

__global__ void add_kernel(float* x, const float* y, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    x[i] += y[i];
}

// One block per output row.
__global__ void gather_kernel(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids,
                              float* out) {
  const int32_t id = ids[blockIdx.x];
  float* dst = out + blockIdx.x * dim;
  const bool valid = id >= 0 && id < rows;
  for (int64_t c = threadIdx.x; c < dim; c += blockDim.x)
    dst[c] = valid ? load_as_f32(table, type, static_cast<int64_t>(id) * dim + c) : 0.f;
}

__global__ void f32_to_bf16_kernel(const float* x, uint16_t* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    out[i] = bf16_bits(x[i]);
  }
}

__global__ void to_f32_kernel(const void* x, DType type, float* out, int64_t n) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = load_as_f32(x, type, i);
}

// splitmix64 of (seed, i) -> [-1, 1).
__device__ __forceinline__ float hash_uniform(uint64_t seed, int64_t i) {
  uint64_t z = seed + static_cast<uint64_t>(i) * 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) * (2.f / 16777216.f) - 1.f;
}

__global__ void random_bf16_kernel(uint16_t* out, int64_t n, uint64_t seed, float scale) {
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < n;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x)
    out[i] = static_cast<uint16_t>(__float_as_uint(hash_uniform(seed, i) * scale) >> 16);
}

}  // namespace

cudaError_t fill_random_bf16(uint16_t* out, int64_t n, uint64_t seed, float scale, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  random_bf16_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(out, n, seed, scale);
  return cudaGetLastError();
}

cudaError_t silu_mul(const float* gate, const float* up, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  silu_mul_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(gate, up, out, n);
  return cudaGetLastError();
}

cudaError_t silu_mul_fused(const float* gu, float* out, int64_t rows, int64_t inter, cudaStream_t stream) {
  if (rows <= 0 || inter <= 0) return cudaSuccess;
  silu_mul_fused_kernel<<<grid_for(rows * inter, kThreads), kThreads, 0, stream>>>(gu, out, rows, inter);
  return cudaGetLastError();
}

cudaError_t silu_mul_fused_bf16(const float* gu, uint16_t* out, int64_t rows, int64_t inter, cudaStream_t stream) {
  if (rows <= 0 || inter <= 0) return cudaSuccess;
  silu_mul_fused_kernel<<<grid_for(rows * inter, kThreads), kThreads, 0, stream>>>(gu, out, rows, inter);
  return cudaGetLastError();
}

cudaError_t copy_rows_at(const float* src, float* dst, int64_t n, int64_t row, const int64_t* offset,
                         cudaStream_t stream) {
  if (n <= 0 || row <= 0) return cudaSuccess;
  copy_rows_at_kernel<<<grid_for(n * row, kThreads), kThreads, 0, stream>>>(src, dst, n * row, row, offset);
  return cudaGetLastError();
}

cudaError_t gelu_erf(float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  gelu_erf_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, n);
  return cudaGetLastError();
}

cudaError_t quick_gelu(float* x, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  quick_gelu_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, n);
  return cudaGetLastError();
}

cudaError_t add_inplace(float* x, const float* y, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  add_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, y, n);
  return cudaGetLastError();
}

cudaError_t embedding_gather(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids,
                             int64_t count, float* out, cudaStream_t stream) {
  if (count <= 0 || dim <= 0) return cudaSuccess;
  if (count > 0x7fffffff) return cudaErrorInvalidConfiguration;
  gather_kernel<<<static_cast<unsigned>(count), kThreads, 0, stream>>>(table, type, rows, dim, ids, out);
  return cudaGetLastError();
}

cudaError_t f32_to_bf16(const float* x, uint16_t* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  f32_to_bf16_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, out, n);
  return cudaGetLastError();
}

cudaError_t to_f32(const void* x, DType type, float* out, int64_t n, cudaStream_t stream) {
  if (n <= 0) return cudaSuccess;
  to_f32_kernel<<<grid_for(n, kThreads), kThreads, 0, stream>>>(x, type, out, n);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
