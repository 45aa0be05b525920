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

// Exclusive prefix sum over the block of one value per thread; *total gets the sum.
__device__ float block_exclusive_scan(float v, float* total) {
  __shared__ float warp_totals[32];
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  float inclusive = v;
  for (int offset = 1; offset < kWarp; offset *= 2) {
    const float up = __shfl_up_sync(0xffffffffu, inclusive, offset);
    if (lane >= offset) inclusive += up;
  }
  if (lane == kWarp - 1) warp_totals[warp] = inclusive;
  __syncthreads();
  if (warp == 0) {
    const int warps = static_cast<int>(blockDim.x / kWarp);
    float t = lane < warps ? warp_totals[lane] : 0.f;
    for (int offset = 1; offset < kWarp; offset *= 2) {
      const float up = __shfl_up_sync(0xffffffffu, t, offset);
      if (lane >= offset) t += up;
    }
    if (lane < warps) warp_totals[lane] = t;  // inclusive over warps
  }
  __syncthreads();
  const float before = (warp > 0 ? warp_totals[warp - 1] : 0.f) + inclusive - v;
  *total = warp_totals[blockDim.x / kWarp - 1];
  __syncthreads();
  return before;
}

// One block per row. Each thread owns a contiguous chunk of the vocabulary,
// so that the draw can walk the kept tokens in id order.
__global__ void top_p_kernel(float* logits, int64_t vocab, float inv_temperature, float top_p, const float* uniform,
                             int32_t* ids) {
  float* row = logits + blockIdx.x * vocab;
  const int64_t chunk = (vocab + blockDim.x - 1) / blockDim.x;
  const int64_t lo = threadIdx.x * chunk, hi = lo + chunk < vocab ? lo + chunk : vocab;
  float m = -FLT_MAX;
  for (int64_t i = lo; i < hi; ++i) m = fmaxf(m, row[i] * inv_temperature);
  m = block_max(m);
  float z = 0.f;
  for (int64_t i = lo; i < hi; ++i) {
    const float p = expf(row[i] * inv_temperature - m);  // unnormalised, the largest is 1
    row[i] = p;
    z += p;
  }
  z = block_sum(z);
  // The cut t by bisection on [0, 1]: mass(p >= t) >= top_p * z holds at 0 and fails above 1.
  const float need = top_p * z;
  float t_lo = 0.f, t_hi = 1.f;
  for (int it = 0; it < 40; ++it) {
    const float mid = 0.5f * (t_lo + t_hi);
    float mass = 0.f;
    for (int64_t i = lo; i < hi; ++i) mass += row[i] >= mid ? row[i] : 0.f;
    if (block_sum(mass) >= need) t_lo = mid;
    else t_hi = mid;
  }
  float kept = 0.f;
  int64_t last = -1;  // this chunk's last kept token
  for (int64_t i = lo; i < hi; ++i)
    if (row[i] >= t_lo) {
      kept += row[i];
      last = i;
    }
  float total;
  const float before = block_exclusive_scan(kept, &total);
  const float target = uniform[blockIdx.x] * total;
  __shared__ int chosen;
  __shared__ unsigned long long fallback;
  if (threadIdx.x == 0) {
    chosen = -1;
    fallback = 0;
  }
  __syncthreads();
  if (last >= 0) atomicMax(&fallback, static_cast<unsigned long long>(last));  // rounding past the end: the last kept
  if (kept > 0.f && target >= before && target < before + kept) {
    float acc = before;
    for (int64_t i = lo; i < hi; ++i) {
      if (row[i] < t_lo) continue;
      acc += row[i];
      if (target < acc || i == last) {
        chosen = static_cast<int>(i);
        break;
      }
    }
  }
  __syncthreads();
  if (threadIdx.x == 0) ids[blockIdx.x] = chosen >= 0 ? chosen : static_cast<int32_t>(fallback);
}

}  // namespace

cudaError_t sample_top_p(float* logits, int64_t rows, int64_t vocab, float temperature, float top_p,
                         const float* uniform, int32_t* ids, cudaStream_t stream) {
  if (rows <= 0 || vocab <= 0 || !(temperature > 0.f) || !(top_p > 0.f) || top_p > 1.f) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff || vocab > 0x7fffffff) return cudaErrorInvalidConfiguration;
  top_p_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, vocab, 1.f / temperature, top_p, uniform,
                                                                    ids);
  return cudaGetLastError();
}

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
