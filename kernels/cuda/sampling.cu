#include "kernels/cuda/sampling.h"

#include <cfloat>

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 1024;

// The better of two (value, id) pairs: larger value, then lower id. NaN never wins.
__device__ __forceinline__ void better(float& v, int32_t& id, float ov, int32_t oid) {
  if (ov > v || (ov == v && oid < id) || (v != v && ov == ov)) {
    v = ov;
    id = oid;
  }
}

__global__ void argmax_kernel(const float* logits, int64_t vocab, int32_t* ids) {
  const float* row = logits + blockIdx.x * vocab;
  float v = -FLT_MAX;
  int32_t id = 0x7fffffff;
  for (int64_t i = threadIdx.x; i < vocab; i += blockDim.x) better(v, id, row[i], static_cast<int32_t>(i));
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    better(v, id, __shfl_xor_sync(0xffffffffu, v, offset), __shfl_xor_sync(0xffffffffu, id, offset));
  __shared__ float sv[32];
  __shared__ int32_t sid[32];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  if (lane == 0) {
    sv[warp] = v;
    sid[warp] = id;
  }
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / kWarp) ? sv[lane] : -FLT_MAX;
    id = lane < static_cast<int>(blockDim.x / kWarp) ? sid[lane] : 0x7fffffff;
    for (int offset = kWarp / 2; offset > 0; offset /= 2)
      better(v, id, __shfl_xor_sync(0xffffffffu, v, offset), __shfl_xor_sync(0xffffffffu, id, offset));
    if (lane == 0) ids[blockIdx.x] = id == 0x7fffffff ? 0 : id;
  }
}

__global__ void softmax_kernel(float* x, int64_t n, float scale) {
  float* row = x + blockIdx.x * n;
  float m = -FLT_MAX;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) m = fmaxf(m, row[i] * scale);
  m = block_max(m);
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) sum += expf(row[i] * scale - m);
  const float inv = 1.f / block_sum(sum);
  for (int64_t i = threadIdx.x; i < n; i += blockDim.x) row[i] = expf(row[i] * scale - m) * inv;
}

}  // namespace

cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* ids, cudaStream_t stream) {
  if (rows <= 0 || vocab <= 0) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff || vocab > 0x7fffffff) return cudaErrorInvalidConfiguration;
  argmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, vocab, ids);
  return cudaGetLastError();
}

cudaError_t softmax_rows(float* x, int64_t rows, int64_t n, float scale, cudaStream_t stream) {
  if (rows <= 0 || n <= 0) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  softmax_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, n, scale);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
