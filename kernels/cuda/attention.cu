#include "kernels/cuda/attention.h"

#include <cfloat>

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 128;                    // 4 warps per (token, head)
constexpr int kWarps = kThreads / kWarp;
constexpr int kPerLane = kMaxAttentionHeadDim / kWarp;  // head_dim elements each lane keeps

// A cached key or value as FP32: stored FP32, or BF16 bits (the cache).
__device__ __forceinline__ float load(const float* p, int64_t i) { return p[i]; }
__device__ __forceinline__ float load(const uint16_t* p, int64_t i) {
  return __uint_as_float(static_cast<uint32_t>(p[i]) << 16);
}

// One block: query row `t`, head `h`. Keys/values of head kvh, rows [lo, hi),
// row stride `row` floats (heads * head_dim of k/v). With `partial` set, the
// block writes its unnormalised state instead (out: sum of p v relative to
// its max; partial: max and sum of p), for a later merge of key splits.
template <typename KV>
__device__ void attend(const float* __restrict__ qv, const KV* __restrict__ k, const KV* __restrict__ v,
                       float* __restrict__ out, KeyRange range, int64_t kv_row, int64_t kvh, int64_t head_dim,
                       float scale, float* __restrict__ partial = nullptr) {
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  float q[kPerLane], acc[kPerLane];
  for (int e = 0; e < kPerLane; ++e) {
    const int64_t d = lane + e * kWarp;
    q[e] = d < head_dim ? qv[d] * scale : 0.f;
    acc[e] = 0.f;
  }
  float m = -FLT_MAX, l = 0.f;  // running max and sum of exp for this warp's keys
  for (int64_t j = range.lo + warp; j < range.hi; j += kWarps) {
    const KV* kj = k + j * kv_row + kvh * head_dim;
    float s = 0.f;
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      if (d < head_dim) s += q[e] * load(kj, d);
    }
    s = warp_sum(s);
    const float m_new = fmaxf(m, s);
    const float correction = expf(m - m_new), p = expf(s - m_new);
    l = l * correction + p;
    const KV* vj = v + j * kv_row + kvh * head_dim;
    for (int e = 0; e < kPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      acc[e] = acc[e] * correction + (d < head_dim ? p * load(vj, d) : 0.f);
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
  if (partial && threadIdx.x == 0) {
    partial[0] = total_m;
    partial[1] = total_l;
  }
  const float inv = partial ? 1.f : total_l > 0.f ? 1.f / total_l : 0.f;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.f;
    for (int w = 0; w < kWarps; ++w) o += sacc[w][d] * expf(sm[w] - total_m);
    out[d] = o * inv;
  }
}

// `past` from the argument, or from device memory when past_at is set.
template <typename KV>
__global__ void causal_kernel(const float* q, const KV* k, const KV* v, float* out, int64_t past,
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
  const int64_t offset = (t * heads + h) * head_dim;
  attend(q + offset, k, v, out + offset, key_range(t, 0, starts, segments), heads * head_dim, h, head_dim, scale);
}


// Decode over a long cache (flash-decoding): the keys of one query split into
// chunks of kSplitKeys, one block per (chunk, head) writing a partial state,
// then one block per head merging them. Chunks past the cache length (read
// on the device) write an empty state, so one captured graph fits any length
// up to the capacity it was sized for.
constexpr int64_t kSplitKeys = 256;

// A batch of decode rows (grid z), each its own sequence: row z's cache
// (k[z], v[z]), query, length (past_at[z]) and workspace. Null tables: one
// sequence, the k and v arguments.
template <typename KV>
struct DecodeRows {
  const KV* const* k = nullptr;  // (b) device
  const KV* const* v = nullptr;
};

// Moves the per-row pointers to row blockIdx.z.
template <typename KV>
__device__ __forceinline__ void select_row(DecodeRows<KV> rows, const float*& q, const KV*& k, const KV*& v,
                                           float*& work, const int64_t*& past_at, int64_t q_heads, int64_t head_dim,
                                           int64_t splits) {
  const int64_t z = blockIdx.z;
  if (rows.k) {
    k = rows.k[z];
    v = rows.v[z];
  }
  q += z * q_heads * head_dim;
  work += z * q_heads * splits * (head_dim + 2);
  past_at += z;
}

template <typename KV>
__global__ void split_kernel(const float* q, const KV* k, const KV* v, float* work, const int64_t* past_at,
                             int64_t q_heads, int64_t kv_heads, int64_t head_dim, float scale, DecodeRows<KV> rows) {
  const int64_t split = blockIdx.x, h = blockIdx.y, splits = gridDim.x;
  select_row(rows, q, k, v, work, past_at, q_heads, head_dim, splits);
  const int64_t kvh = h / (q_heads / kv_heads);
  const int64_t end = *past_at + 1;
  const int64_t lo = split * kSplitKeys, hi = lo + kSplitKeys < end ? lo + kSplitKeys : end;
  float* acc = work + (h * splits + split) * (head_dim + 2);  // (head_dim) sums, then max and sum of p
  attend(q + h * head_dim, k, v, acc, {lo, hi > lo ? hi : lo}, kv_heads * head_dim, kvh, head_dim, scale,
         acc + head_dim);
}

// The same for all query heads of one KV head at once (G of them, at most
// kMaxGroup, head_dim up to kGroupMaxHeadDim): one block per (chunk, KV
// head) reads each key and value once for the whole group (a 7B decoder's
// 7 query heads per KV head: a seventh of the cache traffic). Each warp
// takes every fourth key; each lane owns head_dim / 32 columns of every
// query head's state.
constexpr int kMaxGroup = 8;
constexpr int64_t kGroupMaxHeadDim = 128;
constexpr int kGroupPerLane = kGroupMaxHeadDim / kWarp;

template <typename KV, int G>
__global__ void split_group_kernel(const float* q, const KV* k, const KV* v, float* work, const int64_t* past_at,
                                   int64_t kv_heads, int64_t head_dim, float scale, DecodeRows<KV> rows) {
  const int64_t split = blockIdx.x, kvh = blockIdx.y, splits = gridDim.x;
  select_row(rows, q, k, v, work, past_at, kv_heads * G, head_dim, splits);
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int64_t end = *past_at + 1, kv_row = kv_heads * head_dim;
  const int64_t lo = split * kSplitKeys, hi = lo + kSplitKeys < end ? lo + kSplitKeys : end;
  float qr[G][kGroupPerLane], acc[G][kGroupPerLane], m[G], l[G];
  for (int g = 0; g < G; ++g) {
    const float* qh = q + (kvh * G + g) * head_dim;
    for (int e = 0; e < kGroupPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      qr[g][e] = d < head_dim ? qh[d] * scale : 0.f;
      acc[g][e] = 0.f;
    }
    m[g] = -FLT_MAX;
    l[g] = 0.f;
  }
  for (int64_t j = lo + warp; j < hi; j += kWarps) {
    const KV* kj = k + j * kv_row + kvh * head_dim;
    const KV* vj = v + j * kv_row + kvh * head_dim;
    float kf[kGroupPerLane], vf[kGroupPerLane];
    for (int e = 0; e < kGroupPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      kf[e] = d < head_dim ? load(kj, d) : 0.f;
      vf[e] = d < head_dim ? load(vj, d) : 0.f;
    }
    for (int g = 0; g < G; ++g) {
      float s = 0.f;
      for (int e = 0; e < kGroupPerLane; ++e) s += qr[g][e] * kf[e];
      s = warp_sum(s);
      const float m_new = fmaxf(m[g], s);
      const float correction = expf(m[g] - m_new), p = expf(s - m_new);
      l[g] = l[g] * correction + p;
      for (int e = 0; e < kGroupPerLane; ++e) acc[g][e] = acc[g][e] * correction + p * vf[e];
      m[g] = m_new;
    }
  }
  // Merge the warps' states per query head into this chunk's partial state.
  __shared__ float sm[kWarps][G], sl[kWarps][G];
  __shared__ float sacc[kWarps][G][kGroupMaxHeadDim];
  for (int g = 0; g < G; ++g) {
    if (lane == 0) {
      sm[warp][g] = m[g];
      sl[warp][g] = l[g];
    }
    for (int e = 0; e < kGroupPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      if (d < head_dim) sacc[warp][g][d] = acc[g][e];
    }
  }
  __syncthreads();
  for (int g = 0; g < G; ++g) {
    float total_m = -FLT_MAX;
    for (int w = 0; w < kWarps; ++w) total_m = fmaxf(total_m, sm[w][g]);
    float total_l = 0.f;
    for (int w = 0; w < kWarps; ++w) total_l += sl[w][g] * expf(sm[w][g] - total_m);
    float* state = work + ((kvh * G + g) * splits + split) * (head_dim + 2);  // as split_kernel writes it
    if (threadIdx.x == 0) {
      state[head_dim] = total_m;
      state[head_dim + 1] = total_l;
    }
    for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
      float o = 0.f;
      for (int w = 0; w < kWarps; ++w) o += sacc[w][g][d] * expf(sm[w][g] - total_m);
      state[d] = o;
    }
  }
}

__device__ __forceinline__ void store(float* out, int64_t i, float v) { out[i] = v; }
__device__ __forceinline__ void store(uint16_t* out, int64_t i, float v) { out[i] = bf16_bits(v); }

template <typename Out>
__global__ void merge_kernel(const float* work, Out* out, int64_t splits, int64_t head_dim) {
  const int64_t h = blockIdx.x, q_heads = gridDim.x, z = blockIdx.y;  // head, row of a batch
  const float* base = work + (z * q_heads + h) * splits * (head_dim + 2);
  out += z * q_heads * head_dim;
  float m = -FLT_MAX;
  for (int64_t s = 0; s < splits; ++s) {
    const float* st = base + s * (head_dim + 2);
    if (st[head_dim + 1] > 0.f) m = fmaxf(m, st[head_dim]);
  }
  float l = 0.f;
  for (int64_t s = 0; s < splits; ++s) {
    const float* st = base + s * (head_dim + 2);
    if (st[head_dim + 1] > 0.f) l += st[head_dim + 1] * expf(st[head_dim] - m);
  }
  const float inv = l > 0.f ? 1.f / l : 0.f;
  for (int64_t d = threadIdx.x; d < head_dim; d += blockDim.x) {
    float o = 0.f;
    for (int64_t s = 0; s < splits; ++s) {
      const float* st = base + s * (head_dim + 2);
      if (st[head_dim + 1] > 0.f) o += st[d] * expf(st[head_dim] - m);
    }
    store(out, h * head_dim + d, o * inv);
  }
}

// Query-tiled attention (prefill and the vision tower): one block per
// (16 queries, head). The block's keys and values pass through shared memory
// 32 rows at a time and serve all 16 queries, instead of every query
// streaming them from global memory; each lane scores one key of the tile
// and owns head_dim / 32 output columns. Head_dim up to 128 (Qwen2-VL's and
// Qwen2.5-VL's 128 in the decoder, 80 in the vision tower).
constexpr int kTileQueries = 16;
constexpr int kTileKeys = kWarp;
constexpr int kTiledMaxHeadDim = 128;
constexpr int kTiledPerLane = kTiledMaxHeadDim / kWarp;
constexpr int kQueriesPerWarp = kTileQueries / kWarps;

size_t tiled_shared_bytes(int64_t head_dim) {
  return static_cast<size_t>(kTileKeys * (head_dim + 1) + kTileKeys * head_dim + kTileQueries * head_dim) * 4;
}

template <typename KV>
__global__ void tiled_kernel(const float* __restrict__ q, const KV* __restrict__ k, const KV* __restrict__ v,
                             float* __restrict__ out, int64_t len, int64_t past, const int64_t* past_at,
                             const int64_t* starts, int64_t segments, int64_t q_heads, int64_t kv_heads,
                             int64_t head_dim, float scale) {
  extern __shared__ float smem[];
  const int64_t k_stride = head_dim + 1;  // padded: lanes read different rows of one column
  float* ks = smem;                        // (32, head_dim + 1)
  float* vs = ks + kTileKeys * k_stride;   // (32, head_dim)
  float* qs = vs + kTileKeys * head_dim;   // (16, head_dim), scaled
  if (past_at) past = *past_at;
  const int warp = threadIdx.x / kWarp, lane = threadIdx.x % kWarp;
  const int64_t t0 = static_cast<int64_t>(blockIdx.x) * kTileQueries, h = blockIdx.y;
  const int64_t kvh = h / (q_heads / kv_heads);
  const int64_t q_row = q_heads * head_dim, kv_row = kv_heads * head_dim;
  for (int64_t e = threadIdx.x; e < kTileQueries * head_dim; e += blockDim.x) {
    const int64_t t = t0 + e / head_dim, d = e % head_dim;
    qs[e] = t < len ? q[t * q_row + h * head_dim + d] * scale : 0.f;
  }
  // Each warp's queries and their ranges; the block's key span covers them all.
  KeyRange mine[kQueriesPerWarp];
  float m[kQueriesPerWarp], l[kQueriesPerWarp], acc[kQueriesPerWarp][kTiledPerLane];
  for (int i = 0; i < kQueriesPerWarp; ++i) {
    const int64_t t = t0 + warp * kQueriesPerWarp + i;
    mine[i] = t < len ? key_range(t, past, starts, segments) : KeyRange{0, 0};
    m[i] = -FLT_MAX;
    l[i] = 0.f;
    for (int e = 0; e < kTiledPerLane; ++e) acc[i][e] = 0.f;
  }
  const int64_t last = (t0 + kTileQueries < len ? t0 + kTileQueries : len) - 1;
  const KeyRange first_range = key_range(t0, past, starts, segments);
  const KeyRange last_range = key_range(last, past, starts, segments);
  const int64_t span_lo = first_range.lo, span_hi = last_range.hi;  // ranges grow with t
  for (int64_t kt = span_lo; kt < span_hi; kt += kTileKeys) {
    __syncthreads();  // the previous tile is consumed (and qs written, the first time)
    for (int64_t e = threadIdx.x; e < kTileKeys * head_dim; e += blockDim.x) {
      const int64_t j = e / head_dim, d = e % head_dim, key = kt + j;
      const bool in = key < span_hi;
      ks[j * k_stride + d] = in ? load(k, key * kv_row + kvh * head_dim + d) : 0.f;
      vs[j * head_dim + d] = in ? load(v, key * kv_row + kvh * head_dim + d) : 0.f;
    }
    __syncthreads();
    const int64_t key = kt + lane;
    for (int i = 0; i < kQueriesPerWarp; ++i) {
      const KeyRange r = mine[i];
      if (kt >= r.hi || kt + kTileKeys <= r.lo) continue;  // the whole warp agrees
      const float* qi = qs + (warp * kQueriesPerWarp + i) * head_dim;
      const bool valid = key >= r.lo && key < r.hi;
      float s = -FLT_MAX;
      if (valid) {
        s = 0.f;
        const float* kj = ks + lane * k_stride;
        for (int64_t d = 0; d < head_dim; ++d) s += qi[d] * kj[d];
      }
      const float m_new = fmaxf(m[i], warp_max(s));
      const float p = valid ? expf(s - m_new) : 0.f;
      const float correction = expf(m[i] - m_new);
      l[i] = l[i] * correction + warp_sum(p);
      for (int e = 0; e < kTiledPerLane; ++e) acc[i][e] *= correction;
      for (int j = 0; j < kTileKeys; ++j) {
        const float pj = __shfl_sync(0xffffffffu, p, j);
        if (pj == 0.f) continue;  // masked (or negligible) key: the same for the whole warp
        for (int e = 0; e < kTiledPerLane; ++e) {
          const int64_t d = lane + e * kWarp;
          if (d < head_dim) acc[i][e] += pj * vs[j * head_dim + d];
        }
      }
      m[i] = m_new;
    }
  }
  for (int i = 0; i < kQueriesPerWarp; ++i) {
    const int64_t t = t0 + warp * kQueriesPerWarp + i;
    if (t >= len) continue;
    const float inv = l[i] > 0.f ? 1.f / l[i] : 0.f;
    for (int e = 0; e < kTiledPerLane; ++e) {
      const int64_t d = lane + e * kWarp;
      if (d < head_dim) out[t * q_row + h * head_dim + d] = acc[i][e] * inv;
    }
  }
}

template <typename KV>
cudaError_t launch_tiled(const float* q, const KV* k, const KV* v, float* out, int64_t len, int64_t past,
                         const int64_t* past_at, const int64_t* starts, int64_t segments, int64_t q_heads,
                         int64_t kv_heads, int64_t head_dim, cudaStream_t stream) {
  const dim3 grid(static_cast<unsigned>((len + kTileQueries - 1) / kTileQueries), static_cast<unsigned>(q_heads));
  tiled_kernel<<<grid, kThreads, tiled_shared_bytes(head_dim), stream>>>(
      q, k, v, out, len, past, past_at, starts, segments, q_heads, kv_heads, head_dim,
      1.f / sqrtf(static_cast<float>(head_dim)));
  return cudaGetLastError();
}

}  // namespace

namespace {

template <typename KV>
cudaError_t launch_causal(const float* q, const KV* k, const KV* v, float* out, int64_t len, int64_t past,
                          const int64_t* past_at, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                          cudaStream_t stream) {
  if (len <= 0 || q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads || head_dim <= 0) return cudaErrorInvalidValue;
  if (head_dim > kMaxAttentionHeadDim || len > 0x7fffffff || q_heads > 65535) return cudaErrorInvalidConfiguration;
  if (len > 1 && head_dim <= kTiledMaxHeadDim)  // prefill: keys shared by a tile of queries
    return launch_tiled(q, k, v, out, len, past, past_at, nullptr, 0, q_heads, kv_heads, head_dim, stream);
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

cudaError_t attention_causal_at(const float* q, const uint16_t* k, const uint16_t* v, float* out, int64_t len,
                                const int64_t* past, int64_t q_heads, int64_t kv_heads, int64_t head_dim,
                                cudaStream_t stream) {
  if (!past) return cudaErrorInvalidValue;
  return launch_causal(q, k, v, out, len, 0, past, q_heads, kv_heads, head_dim, stream);
}

int64_t attention_decode_workspace(int64_t capacity, int64_t q_heads, int64_t head_dim) {
  const int64_t splits = (capacity + kSplitKeys - 1) / kSplitKeys;
  return (splits > 0 ? splits : 1) * q_heads * (head_dim + 2);
}

namespace {

template <typename KV, int G>
void launch_group(const float* q, const KV* k, const KV* v, float* workspace, const int64_t* past, dim3 grid,
                  int64_t kv_heads, int64_t head_dim, float scale, DecodeRows<KV> rows, cudaStream_t stream) {
  split_group_kernel<KV, G><<<grid, kThreads, 0, stream>>>(q, k, v, workspace, past, kv_heads, head_dim, scale,
                                                            rows);
}

// `b` rows: one sequence (rows without tables, b = 1) or a batch.
template <typename KV, typename Out>
cudaError_t launch_decode(const float* q, const KV* k, const KV* v, Out* out, const int64_t* past,
                          int64_t capacity, int64_t q_heads, int64_t kv_heads, int64_t head_dim, float* workspace,
                          DecodeRows<KV> rows, int64_t b, cudaStream_t stream) {
  if (!past || capacity <= 0 || q_heads <= 0 || kv_heads <= 0 || q_heads % kv_heads || head_dim <= 0 || b <= 0)
    return cudaErrorInvalidValue;
  if (head_dim > kMaxAttentionHeadDim || q_heads > 65535 || b > 65535) return cudaErrorInvalidConfiguration;
  const int64_t splits = (capacity + kSplitKeys - 1) / kSplitKeys;
  if (splits > 0x7fffffff) return cudaErrorInvalidConfiguration;
  const float scale = 1.f / sqrtf(static_cast<float>(head_dim));
  const int64_t group = q_heads / kv_heads;
  const auto z = static_cast<unsigned>(b);
  const dim3 grouped(static_cast<unsigned>(splits), static_cast<unsigned>(kv_heads), z);
  if (head_dim <= kGroupMaxHeadDim && group <= kMaxGroup) {  // the group shares each key it reads
    switch (group) {
      case 1: launch_group<KV, 1>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 2: launch_group<KV, 2>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 3: launch_group<KV, 3>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 4: launch_group<KV, 4>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 5: launch_group<KV, 5>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 6: launch_group<KV, 6>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      case 7: launch_group<KV, 7>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
      default: launch_group<KV, 8>(q, k, v, workspace, past, grouped, kv_heads, head_dim, scale, rows, stream); break;
    }
  } else {
    split_kernel<<<dim3(static_cast<unsigned>(splits), static_cast<unsigned>(q_heads), z), kThreads, 0, stream>>>(
        q, k, v, workspace, past, q_heads, kv_heads, head_dim, scale, rows);
  }
  merge_kernel<<<dim3(static_cast<unsigned>(q_heads), z), kThreads, 0, stream>>>(workspace, out, splits, head_dim);
  return cudaGetLastError();
}

}  // namespace

cudaError_t attention_decode(const float* q, const float* k, const float* v, float* out, const int64_t* past,
                             int64_t capacity, int64_t q_heads, int64_t kv_heads, int64_t head_dim, float* workspace,
                             cudaStream_t stream) {
  return launch_decode(q, k, v, out, past, capacity, q_heads, kv_heads, head_dim, workspace, DecodeRows<float>(), 1,
                       stream);
}

cudaError_t attention_decode(const float* q, const uint16_t* k, const uint16_t* v, float* out, const int64_t* past,
                             int64_t capacity, int64_t q_heads, int64_t kv_heads, int64_t head_dim, float* workspace,
                             cudaStream_t stream) {
  return launch_decode(q, k, v, out, past, capacity, q_heads, kv_heads, head_dim, workspace, DecodeRows<uint16_t>(),
                       1, stream);
}

cudaError_t attention_decode(const float* q, const uint16_t* k, const uint16_t* v, uint16_t* out,
                             const int64_t* past, int64_t capacity, int64_t q_heads, int64_t kv_heads,
                             int64_t head_dim, float* workspace, cudaStream_t stream) {
  return launch_decode(q, k, v, out, past, capacity, q_heads, kv_heads, head_dim, workspace, DecodeRows<uint16_t>(),
                       1, stream);
}

cudaError_t attention_decode_rows(const float* q, const uint16_t* const* k, const uint16_t* const* v, uint16_t* out,
                                  const int64_t* past, int64_t b, int64_t capacity, int64_t q_heads, int64_t kv_heads,
                                  int64_t head_dim, float* workspace, cudaStream_t stream) {
  if (!k || !v) return cudaErrorInvalidValue;
  DecodeRows<uint16_t> rows;
  rows.k = k;
  rows.v = v;
  return launch_decode<uint16_t>(q, nullptr, nullptr, out, past, capacity, q_heads, kv_heads, head_dim, workspace,
                                 rows, b, stream);
}

cudaError_t attention_segments(const float* q, const float* k, const float* v, float* out, int64_t n, int64_t heads,
                               int64_t head_dim, const int64_t* starts, int64_t segments, cudaStream_t stream) {
  if (n <= 0 || heads <= 0 || head_dim <= 0 || segments <= 0) return cudaErrorInvalidValue;
  if (head_dim > kMaxAttentionHeadDim || n > 0x7fffffff || heads > 65535) return cudaErrorInvalidConfiguration;
  if (head_dim <= kTiledMaxHeadDim)
    return launch_tiled(q, k, v, out, n, 0, nullptr, starts, segments, heads, heads, head_dim, stream);
  const dim3 grid(static_cast<unsigned>(n), static_cast<unsigned>(heads));
  segments_kernel<<<grid, kThreads, 0, stream>>>(q, k, v, out, heads, head_dim, starts, segments,
                                                 1.f / sqrtf(static_cast<float>(head_dim)));
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
