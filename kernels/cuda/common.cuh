// Shared device helpers of the CUDA kernels: block-wide reductions and the
// launch-size checks every launcher does. Internal to kernels/cuda.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

constexpr int kWarp = 32;

__device__ __forceinline__ float warp_sum(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v += __shfl_xor_sync(0xffffffffu, v, offset);
  return v;
}

__device__ __forceinline__ float warp_max(float v) {
  for (int offset = kWarp / 2; offset > 0; offset /= 2) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, offset));
  return v;
}

// Sum (or max) over the block (blockDim.x a multiple of 32, at most 1024);
// every thread gets it.
template <bool kMax>
__device__ __forceinline__ float block_reduce(float v) {
  __shared__ float partial[32];
  __shared__ float total;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const float identity = kMax ? -3.402823466e38f : 0.f;
  v = kMax ? warp_max(v) : warp_sum(v);
  if (lane == 0) partial[warp] = v;
  __syncthreads();
  if (warp == 0) {
    v = lane < static_cast<int>(blockDim.x / kWarp) ? partial[lane] : identity;
    v = kMax ? warp_max(v) : warp_sum(v);
    if (lane == 0) total = v;
  }
  __syncthreads();
  const float out = total;
  __syncthreads();  // the shared slots may be reused by the next call
  return out;
}
__device__ __forceinline__ float block_sum(float v) { return block_reduce<false>(v); }
__device__ __forceinline__ float block_max(float v) { return block_reduce<true>(v); }

// The keys query token t attends to, [lo, hi) in cache rows: causal after
// `past` cached rows when starts is null, else t's segment (starts:
// segments + 1 offsets, starts[0] = 0; the last start <= t, by bisection).
struct KeyRange {
  int64_t lo, hi;
};
__device__ __forceinline__ KeyRange key_range(int64_t t, int64_t past, const int64_t* starts, int64_t segments) {
  if (!starts) return {0, past + t + 1};
  int64_t lo = 0, hi = segments;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (starts[mid] <= t) lo = mid;
    else hi = mid;
  }
  return {starts[lo], starts[lo + 1]};
}

// FP32 to BF16 bits, round to nearest even, NaN stays (a quiet) NaN: the one
// rounding every kernel that writes BF16 uses (so that a fused kernel's
// output equals the unfused kernels' bit for bit).
__device__ __forceinline__ uint16_t bf16_bits(float v) {
  const uint32_t bits = __float_as_uint(v);
  if ((bits & 0x7fffffffu) > 0x7f800000u) return static_cast<uint16_t>((bits >> 16) | 0x40u);
  return static_cast<uint16_t>((bits + 0x7fffu + ((bits >> 16) & 1u)) >> 16);
}

// Grid size for n elements in blocks of `threads`, capped for a grid-stride loop.
inline unsigned grid_for(int64_t n, int threads) {
  const int64_t blocks = (n + threads - 1) / threads;
  return static_cast<unsigned>(blocks < 65535 * 8 ? (blocks > 0 ? blocks : 1) : 65535 * 8);
}

}  // namespace deskpilot::kernels::cuda
