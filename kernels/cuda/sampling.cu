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

// One token of the kept ones (p >= cut and p > 0) of a row of unnormalised
// probabilities, each thread owning [lo, hi): the one where uniform * (kept
// mass) falls, walking ids in order; the last kept one if rounding runs past
// the end. Every thread gets it.
__device__ int32_t draw(const float* row, int64_t lo, int64_t hi, float cut, float uniform) {
  float kept = 0.f;
  int64_t last = -1;  // this chunk's last kept token
  for (int64_t i = lo; i < hi; ++i)
    if (row[i] >= cut && row[i] > 0.f) {
      kept += row[i];
      last = i;
    }
  float total;
  const float before = block_exclusive_scan(kept, &total);
  const float target = uniform * total;
  __shared__ int chosen;
  __shared__ unsigned long long fallback;
  if (threadIdx.x == 0) {
    chosen = -1;
    fallback = 0;
  }
  __syncthreads();
  if (last >= 0) atomicMax(&fallback, static_cast<unsigned long long>(last));
  if (kept > 0.f && target >= before && target < before + kept) {
    float acc = before;
    for (int64_t i = lo; i < hi; ++i) {
      if (row[i] < cut || !(row[i] > 0.f)) continue;
      acc += row[i];
      if (target < acc || i == last) {
        chosen = static_cast<int>(i);
        break;
      }
    }
  }
  __syncthreads();
  const int32_t id = chosen >= 0 ? chosen : static_cast<int32_t>(fallback);
  __syncthreads();  // the shared slots may be reused
  return id;
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
  const int32_t id = draw(row, lo, hi, t_lo, uniform[blockIdx.x]);
  if (threadIdx.x == 0) ids[blockIdx.x] = id;
}

// The block's argmax over [lo, hi) of each thread's chunk of `row`: larger value, then lower id.
__device__ int32_t block_argmax(const float* row, int64_t lo, int64_t hi) {
  float v = -FLT_MAX;
  int32_t id = 0x7fffffff;
  for (int64_t i = lo; i < hi; ++i) better(v, id, row[i], static_cast<int32_t>(i));
  for (int offset = kWarp / 2; offset > 0; offset /= 2)
    better(v, id, __shfl_xor_sync(0xffffffffu, v, offset), __shfl_xor_sync(0xffffffffu, id, offset));
  __shared__ float sv[32];
  __shared__ int32_t sid[32];
  __shared__ int32_t result;
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
    if (lane == 0) result = id == 0x7fffffff ? 0 : id;
  }
  __syncthreads();
  return result;
}

// The largest t in [0, 1] (40 halvings) with keep(t) true, keep monotone
// (true at 0): the cut of top-k (count of p >= t reaches k) and top-p (mass
// of p >= t reaches the share).
template <typename Keep>
__device__ float bisect(Keep keep) {
  float t_lo = 0.f, t_hi = 1.f;
  for (int it = 0; it < 40; ++it) {
    const float mid = 0.5f * (t_lo + t_hi);
    if (keep(mid)) t_lo = mid;
    else t_hi = mid;
  }
  return t_lo;
}

__global__ void choose_kernel(float* logits, int64_t vocab, const TokenChoice* choices, int32_t* ids) {
  const TokenChoice ch = choices[blockIdx.x];
  float* row = logits + blockIdx.x * vocab;
  const int64_t chunk = (vocab + blockDim.x - 1) / blockDim.x;
  const int64_t lo = threadIdx.x * chunk, hi = lo + chunk < vocab ? lo + chunk : vocab;
  const float r = ch.repetition_penalty;
  for (int64_t i = lo; i < hi; ++i) {
    float x = row[i];
    if (ch.seen && r != 1.f && ch.seen[i]) x = x < 0.f ? x * r : x / r;
    if (ch.counts && ch.counts[i] > 0)
      x -= static_cast<float>(ch.frequency_penalty * static_cast<double>(ch.counts[i]) + ch.presence_penalty);
    row[i] = x;
  }
  __syncthreads();
  int32_t id;
  if (!(ch.temperature > 0.f)) {
    id = block_argmax(row, lo, hi);
  } else {
    const float inv_t = 1.f / ch.temperature;
    float m = -FLT_MAX;
    for (int64_t i = lo; i < hi; ++i) m = fmaxf(m, row[i] * inv_t);
    m = block_max(m);
    for (int64_t i = lo; i < hi; ++i) row[i] = expf(row[i] * inv_t - m);  // unnormalised, the largest is 1
    if (ch.top_k > 0 && ch.top_k < vocab) {
      const float k = static_cast<float>(ch.top_k);
      const float cut = bisect([&](float t) {
        float n = 0.f;
        for (int64_t i = lo; i < hi; ++i) n += row[i] >= t ? 1.f : 0.f;
        return block_sum(n) >= k;
      });
      for (int64_t i = lo; i < hi; ++i)
        if (row[i] < cut) row[i] = 0.f;
    }
    float z = 0.f;
    for (int64_t i = lo; i < hi; ++i) z += row[i];
    z = block_sum(z);
    const float need = ch.top_p * z;
    const float cut = ch.top_p < 1.f ? bisect([&](float t) {
      float mass = 0.f;
      for (int64_t i = lo; i < hi; ++i) mass += row[i] >= t ? row[i] : 0.f;
      return block_sum(mass) >= need;
    })
                                     : 0.f;
    id = draw(row, lo, hi, cut, ch.uniform);
  }
  if (threadIdx.x == 0) {
    ids[blockIdx.x] = id;
    if (ch.counts) ++ch.counts[id];
    if (ch.seen) ch.seen[id] = 1;
  }
}

__global__ void record_kernel(int32_t* counts, uint8_t* seen, int32_t id) {
  if (counts) ++counts[id];
  if (seen) seen[id] = 1;
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

cudaError_t choose_tokens(float* logits, int64_t rows, int64_t vocab, const TokenChoice* choices, int32_t* ids,
                          cudaStream_t stream) {
  if (rows <= 0 || vocab <= 0 || !choices || !ids) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff || vocab > 0x7fffffff) return cudaErrorInvalidConfiguration;
  choose_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(logits, vocab, choices, ids);
  return cudaGetLastError();
}

cudaError_t record_token(int32_t* counts, uint8_t* seen, int32_t id, cudaStream_t stream) {
  if (id < 0) return cudaErrorInvalidValue;
  record_kernel<<<1, 1, 0, stream>>>(counts, seen, id);
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
