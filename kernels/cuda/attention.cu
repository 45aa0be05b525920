#include "kernels/cuda/attention.h"

#include <cfloat>

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 128;                    // 4 warps per (token, head)
constexpr int kWarps = kThreads / kWarp;
constexpr int kPerLane = kMaxAttentionHeadDim / kWarp;  // head_dim elements each lane keeps

// The keys a query sees: [lo, hi) in token rows.
struct KeyRange {
  int64_t lo, hi;
};

// One block: query row `t`, head `h`. Keys/values of head kvh, rows [lo, hi),
// row stride `row` floats (heads * head_dim of k/v).
__device__ void attend(const float* __restrict__ qv, const float* __restrict__ k, const float* __restrict__ v,
                       float* __restrict__ out, KeyRange range, int64_t kv_row, int64_t kvh, int64_t head_dim,
                       float scale) {
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  float q[kPerLane], acc[kPerLane];
  for (int e = 0; e < kPerLane; ++e) {
    const int64_t d = lane + e * kWarp;
    q[e] = d < head_dim ? qv[d] * scale : 0.f;
    acc[e] = 0.f;
  }
  float m = -FLT_MAX, l = 0.f;  // running max and sum of exp for this warp's keys
  for (int64_t j = range.lo + warp; j < range.hi; j += kWarps) {
    const float* kj = k + j * kv_row + kvh * head_dim;
    float s = 0.f;
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      if (d < head_dim) s += q[e] * kj[d];
    }
    s = warp_sum(s);
    const float m_new = fmaxf(m, s);
    const float correction = expf(m - m_new), p = expf(s - m_new);
    l = l * correction + p;
    const float* vj = v + j * kv_row + kvh * head_dim;
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      acc[e] = acc[e] * correction + (d < head_dim ? p * vj[d] : 0.f);
    }
    m = m_new;
  }
  // Merge the warps' states: the block's max, then rescaled sums.
  __shared__ float sm[kWarps], sl[kWarps];
  __shared__ float sacc[kWarps][kMaxAttentionHeadDim];
  if (lane == 0) {
    sm[warp] = m;
    sl[warp] = l;
  }
  for (int e = 0; e < kPerLane; ++e) {
    const int64_t d = lane + e * kWarp;
    if (d < head_dim) sacc[warp][d] = acc[e];
  }
  __syncthreads();
  float total_m = -FLT_MAX;
  for (int w = 0; w < kWarps; ++w) total_m = fmaxf(total_m, sm[w]);
  float total_l = 0.f;
  for (int w = 0; w < kWarps; ++w) total_l += sl[w] * expf(sm[w] - total_m);
  const float inv = total_l > 0.f ? 1.f / total_l : 0.f;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.f;
    for (int w = 0; w < kWarps; ++w) o += sacc[w][d] * expf(sm[w] - total_m);
    out[d] = o * inv;
  }
}

// `past` from the argument, or from device memory when past_at is set.
__global__ void causal_kernel(const float* q, const float* k, const float* v, float* out, int64_t past,
                              const int64_t* past_at, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                              float scale) {
  const int64_t t = blockIdx.x, h = blockIdx.y;
  if (past_at) past = *past_at;
  const int64_t kvh = h / (q_heads / kv_heads);
  const int64_t offset = (t * q_heads + h) * head_dim;
  attend(q + offset, k, v, out + offset, {0, past + t + 1}, kv_heads * head_dim, kvh, head_dim, scale);
}

__global__ void segments_kernel(const float* q, const float* k, const float* v, float* out, int64_t heads,
                                int64_t head_dim, const int64_t* starts, int64_t segments, float scale) {
  const int64_t t = blockIdx.x, h = blockIdx.y;
  // The segment of token t: the last start <= t (binary search).
  int64_t lo = 0, hi = segments;
  while (hi - lo > 1) {
    const int64_t mid = (lo + hi) / 2;
    if (starts[mid] <= t) lo = mid;
    else hi = mid;
  }
  const int64_t offset = (t * heads + h) * head_dim;
  attend(q + offset, k, v, out + offset, {starts[lo], starts[lo + 1]}, heads * head_dim, h, head_dim, scale);
}

}  // namespace

namespace {

cudaError_t launch_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                          const int64_t* past_at, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                          cudaStream_t stream) {
  if (len <= 0 || q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads || head_dim <= 0) return cudaErrorInvalidValue;
  if (head_dim > kMaxAttentionHeadDim || len > 0x7fffffff || q_heads > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(static_cast<unsigned>(len), static_cast<unsigned>(q_heads));
  causal_kernel<<<grid, kThreads, 0, stream>>>(q, k, v, out, past, past_at, q_heads, kv_heads, head_dim,
                                               1.f / sqrtf(static_cast<float>(head_dim)));
  return cudaGetLastError();
}

}  // namespace

cudaError_t attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                             int64_t q_heads, int64_t kv_heads, int64_t head_dim, cudaStream_t stream) {
  return launch_causal(q, k, v, out, len, past, nullptr, q_heads, kv_heads, head_dim, stream);
}

cudaError_t attention_causal_at(const float* q, const float* k, const float* v, float* out, int64_t len,
                                const int64_t* past, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                cudaStream_t stream) {
  if (!past) return cudaErrorInvalidValue;
  return launch_causal(q, k, v, out, len, 0, past, q_heads, kv_heads, head_dim, stream);
}

cudaError_t attention_segments(const float* q, const float* k, const float* v, float* out, int64_t n, int64_t heads,
                               int64_t head_dim, const int64_t* starts, int64_t segments, cudaStream_t stream) {
  if (n <= 0 || heads <= 0 || head_dim <= 0 || segments <= 0) return cudaErrorInvalidValue;
  if (head_dim > kMaxAttentionHeadDim || n > 0x7fffffff || heads > 65535) return cudaErrorInvalidConfiguration;
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(heads));
  segments_kernel<<<grid, kThreads, 0, stream>>>(q, k, v, out, heads, head_dim, starts, segments,
                                                 1.f / sqrtf(static_cast<float>(head_dim)));
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
