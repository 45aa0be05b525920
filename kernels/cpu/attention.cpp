#include "kernels/cpu/attention.h"

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <vector>

#if defined(__AVX2__) || defined(__AVX512F__)
#include <immintrin.h>
#endif

namespace deskpilot::kernels {

namespace {

// Query rows per block: scores are (kQueryBlock, keys) per thread.
constexpr int64_t kQueryBlock = 64;

// One head on contiguous copies, as two GEMMs around a row softmax:
//   scores = q · kᵀ (q pre-scaled), row r keeps keys [0, visible(r)),
//   out = softmax(scores) · v, with v given transposed.
// q: (m, d); k: (len, d); vt: (d, len); scores: (m, len) scratch; out: (m, d) with row stride ld_out.
template <typename Visible>
void attend(const float* q, int64_t m, const float* k, const float* vt, int64_t len, int64_t d, Visible visible,
            float* scores, float* out, int64_t ld_out) {
  linear(q, m, d, k, DType::kF32, len, nullptr, scores);
  for (int64_t r = 0; r < m; ++r) {
    float* row = scores + r * len;
    const int64_t n = visible(r);
    float mx = -INFINITY;
    for (int64_t j = 0; j < n; ++j) mx = std::max(mx, row[j]);
    const float inv = 1.0f / exp_shifted_sum(row, n, mx);
    for (int64_t j = 0; j < n; ++j) row[j] *= inv;
    std::fill(row + n, row + len, 0.0f);
  }
  linear(scores, m, len, vt, DType::kF32, d, nullptr, out, ld_out);
}

// Head h of rows [begin, end) of x (row t of head h at x + t * ts + h * hs) into a contiguous
// (end - begin, d) copy, times `scale`.
void gather(const float* x, int64_t ts, int64_t hs, int64_t d, int64_t h, int64_t begin, int64_t end, float scale,
            float* out) {
  for (int64_t t = begin; t < end; ++t)
    for (int64_t i = 0; i < d; ++i) out[(t - begin) * d + i] = x[t * ts + h * hs + i] * scale;
}

// The same, transposed: (d, end - begin).
void gather_transposed(const float* x, int64_t ts, int64_t hs, int64_t d, int64_t h, int64_t begin, int64_t end,
                       float* out) {
  const int64_t len = end - begin;
  for (int64_t t = begin; t < end; ++t)
    for (int64_t i = 0; i < d; ++i) out[i * len + (t - begin)] = x[t * ts + h * hs + i];
}

// Causal GQA attention for many queries: per query head, query blocks of
// kQueryBlock rows see the keys up to their own position.
void attention_causal_blocked(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                              int64_t q_heads, int64_t kv_heads, int64_t d, KvLayout kv) {
  const int64_t group = q_heads / kv_heads, total = past + len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
#pragma omp parallel
  {
    std::vector<float> kh(static_cast<size_t>(total * d)), vt(kh.size());  // (total, d), (d, total)
    std::vector<float> qb(static_cast<size_t>(kQueryBlock * d));            // (block, d)
    std::vector<float> scores(static_cast<size_t>(kQueryBlock * total));    // (block, total)
#pragma omp for schedule(dynamic, 1)
    for (int64_t h = 0; h < q_heads; ++h) {
      gather(k, kv.token_stride, kv.head_stride, d, h / group, 0, total, 1.0f, kh.data());
      gather_transposed(v, kv.token_stride, kv.head_stride, d, h / group, 0, total, vt.data());
      for (int64_t b = 0; b < len; b += kQueryBlock) {
        const int64_t m = std::min(kQueryBlock, len - b);
        const int64_t keys = past + b + m;  // the last row of the block sees this many
        gather(q, q_heads * d, d, d, h, b, b + m, scale, qb.data());
        // vt rows have stride `total`; attend() wants (d, keys): copy when the block sees fewer keys.
        const float* vtk = vt.data();
        std::vector<float> vt_cut;
        if (keys < total) {
          vt_cut.resize(static_cast<size_t>(d * keys));
          for (int64_t i = 0; i < d; ++i) std::copy_n(vt.data() + i * total, keys, vt_cut.data() + i * keys);
          vtk = vt_cut.data();
        }
        attend(qb.data(), m, kh.data(), vtk, keys, d, [&](int64_t r) { return past + b + r + 1; }, scores.data(),
               out + (b * q_heads + h) * d, q_heads * d);
      }
    }
  }
}

// Keys per decode task: a chunk's keys and values of one head (2 x 128 KB at
// head_dim 128) stream through L2 once while its query heads are scored.
constexpr int64_t kDecodeChunk = 256;

// The decode kernels' vectors: 16 floats under AVX-512, 8 under AVX2 + FMA,
// plain loops elsewhere.
#if defined(__AVX512F__)
// GCC 12's AVX-512 headers start some intrinsics (the reduction) from a
// self-initialised "undefined" vector and then warn about it once inlined
// (GCC bug 105593).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#define DESKPILOT_ATTENTION_SIMD 1
using Vec = __m512;
constexpr int64_t kLanes = 16;
inline Vec vzero() { return _mm512_setzero_ps(); }
inline Vec vload(const float* p) { return _mm512_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm512_storeu_ps(p, v); }
inline Vec vset(float x) { return _mm512_set1_ps(x); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm512_fmadd_ps(a, b, c); }
inline float vsum(Vec v) { return _mm512_reduce_add_ps(v); }
inline Vec vmax(Vec a, Vec b) { return _mm512_max_ps(a, b); }
inline float vmaxall(Vec v) { return _mm512_reduce_max_ps(v); }
#elif defined(__AVX2__) && defined(__FMA__)
#define DESKPILOT_ATTENTION_SIMD 1
using Vec = __m256;
constexpr int64_t kLanes = 8;
inline Vec vzero() { return _mm256_setzero_ps(); }
inline Vec vload(const float* p) { return _mm256_loadu_ps(p); }
inline void vstore(float* p, Vec v) { _mm256_storeu_ps(p, v); }
inline Vec vset(float x) { return _mm256_set1_ps(x); }
inline Vec vfma(Vec a, Vec b, Vec c) { return _mm256_fmadd_ps(a, b, c); }
inline float vsum(Vec v) {
  const __m128 s = _mm_add_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_add_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_add_ss(t, _mm_movehdup_ps(t)));
}
inline Vec vmax(Vec a, Vec b) { return _mm256_max_ps(a, b); }
inline float vmaxall(Vec v) {
  const __m128 s = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  const __m128 t = _mm_max_ps(s, _mm_movehl_ps(s, s));
  return _mm_cvtss_f32(_mm_max_ss(t, _mm_movehdup_ps(t)));
}
#else
#define DESKPILOT_ATTENTION_SIMD 0
#endif

// The largest of s[0, n) (scores: no NaN), n >= 1.
float max_of(const float* s, int64_t n) {
  int64_t t = 0;
  float mx = -INFINITY;
#if DESKPILOT_ATTENTION_SIMD
  if (n >= kLanes) {
    Vec m = vload(s);
    for (t = kLanes; t + kLanes <= n; t += kLanes) m = vmax(m, vload(s + t));
    mx = vmaxall(m);
  }
#endif
  for (; t < n; ++t) mx = std::max(mx, s[t]);
  return mx;
}

// Decode reads each cached row from L1 once per pass over it, and L1's load
// bandwidth is what bounds these loops: a pass serves H = 2 query heads of
// the group at once (H = 1 for an odd group's last head).
//
// Keys scored together: their rows stay in L1 while the group's query heads
// read them, and their dot products are independent FMA chains.
constexpr int64_t kKeyBlock = 8;
// Values per accumulation pass, for the same reason.
constexpr int64_t kValueBlock = 32;

// s[h][x] = scale * q[h] . rows[x * stride, +d) for x < keys (<= kKeyBlock), h < H.
template <int H>
void score_keys(const float* const* q, const float* rows, int64_t keys, int64_t stride, int64_t d, float scale,
                float* const* s) {
#if DESKPILOT_ATTENTION_SIMD
  if (keys == kKeyBlock && d % kLanes == 0) {
    Vec acc[H][kKeyBlock];  // (head, key): 16 vectors at H = 2
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
      for (int64_t x = 0; x < kKeyBlock; ++x) acc[h][x] = vzero();
    for (int64_t c = 0; c < d; c += kLanes) {
      Vec qv[H];
      for (int h = 0; h < H; ++h) qv[h] = vload(q[h] + c);
#pragma GCC unroll 8
      for (int64_t x = 0; x < kKeyBlock; ++x) {
        const Vec r = vload(rows + x * stride + c);
        for (int h = 0; h < H; ++h) acc[h][x] = vfma(qv[h], r, acc[h][x]);
      }
    }
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
      for (int64_t x = 0; x < kKeyBlock; ++x) s[h][x] = vsum(acc[h][x]) * scale;
    return;
  }
#endif
  for (int h = 0; h < H; ++h) {
    for (int64_t x = 0; x < keys; ++x) {
      const float* r = rows + x * stride;
      float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
      for (int64_t i = 0; i < d; ++i) acc += q[h][i] * r[i];
      s[h][x] = acc * scale;
    }
  }
}

// o[h] (d) += sum over t < n of p[h][t] * rows[t * stride, +d), h < H, in
// column slices whose sums stay in registers while the rows go by.
template <int H>
void add_weighted_rows(const float* const* p, const float* rows, int64_t n, int64_t stride, int64_t d,
                       float* const* o) {
  int64_t c = 0;
#if DESKPILOT_ATTENTION_SIMD
  constexpr int64_t kSlice = kLanes == 16 ? 8 : 4;  // vectors: 2 x 8 of AVX-512's 32 registers, 2 x 4 of AVX2's 16
  for (; c + kSlice * kLanes <= d; c += kSlice * kLanes) {
    Vec acc[H][kSlice];
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
      for (int64_t x = 0; x < kSlice; ++x) acc[h][x] = vload(o[h] + c + x * kLanes);
    for (int64_t t = 0; t < n; ++t) {
      Vec w[H];
      for (int h = 0; h < H; ++h) w[h] = vset(p[h][t]);
      const float* r = rows + t * stride + c;
#pragma GCC unroll 8
      for (int64_t x = 0; x < kSlice; ++x) {
        const Vec rv = vload(r + x * kLanes);
        for (int h = 0; h < H; ++h) acc[h][x] = vfma(w[h], rv, acc[h][x]);
      }
    }
    for (int h = 0; h < H; ++h)
#pragma GCC unroll 8
      for (int64_t x = 0; x < kSlice; ++x) vstore(o[h] + c + x * kLanes, acc[h][x]);
  }
  for (; c + kLanes <= d; c += kLanes) {  // head_dim 64 under AVX-512, or a remainder
    Vec acc[H];
    for (int h = 0; h < H; ++h) acc[h] = vload(o[h] + c);
    for (int64_t t = 0; t < n; ++t) {
      const Vec rv = vload(rows + t * stride + c);
      for (int h = 0; h < H; ++h) acc[h] = vfma(vset(p[h][t]), rv, acc[h]);
    }
    for (int h = 0; h < H; ++h) vstore(o[h] + c, acc[h]);
  }
#endif
  for (int h = 0; h < H; ++h) {
    for (int64_t i = c; i < d; ++i) {
      float acc = o[h][i];
      for (int64_t t = 0; t < n; ++t) acc += p[h][t] * rows[t * stride + i];
      o[h][i] = acc;
    }
  }
}

// Decode, flash-decoding style: task (query i, KV head g, chunk c) scores keys
// [c * kDecodeChunk, ...) visible to query i for the `group` query heads of g,
// and keeps per head the chunk's max score, its sum of exp(score - max) and
// the exp-weighted sum of its values; a second pass merges the chunks.
void attention_decode(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t d, KvLayout kv) {
  const int64_t group = q_heads / kv_heads;
  const int64_t chunks = (past + len + kDecodeChunk - 1) / kDecodeChunk;  // the last query's
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  const int64_t parts = len * q_heads * chunks;
  std::vector<float> part_max(static_cast<size_t>(parts));      // (len, q_heads, chunks)
  std::vector<float> part_sum(static_cast<size_t>(parts));      // (len, q_heads, chunks)
  std::vector<float> part_out(static_cast<size_t>(parts * d));  // (len, q_heads, chunks, d)
  const auto part = [&](int64_t i, int64_t h, int64_t c) { return (i * q_heads + h) * chunks + c; };
#pragma omp parallel
  {
    std::vector<float> scores(static_cast<size_t>(group * kDecodeChunk));  // (group, chunk)
#pragma omp for schedule(dynamic, 1)
    for (int64_t task = 0; task < len * kv_heads * chunks; ++task) {
      const int64_t i = task / (kv_heads * chunks), g = task / chunks % kv_heads, c = task % chunks;
      const int64_t begin = c * kDecodeChunk, end = std::min(begin + kDecodeChunk, past + i + 1);
      for (int64_t j = 0; j < group; ++j) {
        const int64_t at = part(i, g * group + j, c);
        if (begin >= end) {  // past this query's position: an empty chunk
          part_max[at] = -INFINITY;
          part_sum[at] = 0.0f;
          std::fill_n(part_out.data() + at * d, d, 0.0f);
        }
      }
      if (begin >= end) continue;
      const int64_t n = end - begin;
      const float* keys = k + g * kv.head_stride + begin * kv.token_stride;
      const float* values = v + g * kv.head_stride + begin * kv.token_stride;
      const float* qg = q + (i * q_heads + g * group) * d;  // (group, d)
      // Scores, two query heads a pass over each block of keys.
      for (int64_t t = 0; t < n; t += kKeyBlock) {
        const int64_t keys_here = std::min(kKeyBlock, n - t);
        const float* rows = keys + t * kv.token_stride;
        for (int64_t j = 0; j < group; j += 2) {
          const float* qs[2] = {qg + j * d, qg + (j + 1) * d};
          float* ss[2] = {scores.data() + j * kDecodeChunk + t, scores.data() + (j + 1) * kDecodeChunk + t};
          if (j + 1 < group) score_keys<2>(qs, rows, keys_here, kv.token_stride, d, scale, ss);
          else score_keys<1>(qs, rows, keys_here, kv.token_stride, d, scale, ss);
        }
      }
      // Softmax within the chunk: scores become exp(score - max).
      for (int64_t j = 0; j < group; ++j) {
        float* s = scores.data() + j * kDecodeChunk;
        const float mx = max_of(s, n);
        const int64_t at = part(i, g * group + j, c);
        part_max[at] = mx;
        part_sum[at] = exp_shifted_sum(s, n, mx);
        std::fill_n(part_out.data() + at * d, d, 0.0f);
      }
      // Values, two query heads a pass over each block of rows.
      for (int64_t t = 0; t < n; t += kValueBlock) {
        const int64_t rows_here = std::min(kValueBlock, n - t);
        const float* rows = values + t * kv.token_stride;
        for (int64_t j = 0; j < group; j += 2) {
          const float* ps[2] = {scores.data() + j * kDecodeChunk + t, scores.data() + (j + 1) * kDecodeChunk + t};
          float* os[2] = {part_out.data() + part(i, g * group + j, c) * d,
                          part_out.data() + part(i, g * group + std::min(j + 1, group - 1), c) * d};
          if (j + 1 < group) add_weighted_rows<2>(ps, rows, rows_here, kv.token_stride, d, os);
          else add_weighted_rows<1>(ps, rows, rows_here, kv.token_stride, d, os);
        }
      }
    }
  }
  // Merge: out = sum_c e^(max_c - M) out_c / sum_c e^(max_c - M) sum_c, M the largest max.
  for (int64_t i = 0; i < len; ++i) {
    for (int64_t h = 0; h < q_heads; ++h) {
      float mx = -INFINITY;
      for (int64_t c = 0; c < chunks; ++c) mx = std::max(mx, part_max[part(i, h, c)]);
      float total = 0.0f;
      float* o = out + (i * q_heads + h) * d;
      std::fill_n(o, d, 0.0f);
      for (int64_t c = 0; c < chunks; ++c) {
        const int64_t at = part(i, h, c);
        if (part_sum[at] == 0.0f) continue;
        const float w = std::exp(part_max[at] - mx);
        total += w * part_sum[at];
        const float* po = part_out.data() + at * d;
        for (int64_t x = 0; x < d; ++x) o[x] += w * po[x];
      }
      const float inv = 1.0f / total;
      for (int64_t x = 0; x < d; ++x) o[x] *= inv;
    }
  }
}

}  // namespace

void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  attention_causal(q, k, v, out, len, past, q_heads, kv_heads, head_dim, KvLayout::token_major(kv_heads, head_dim));
}

void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim, KvLayout layout) {
  if (len > 8) return attention_causal_blocked(q, k, v, out, len, past, q_heads, kv_heads, head_dim, layout);
  attention_decode(q, k, v, out, len, past, q_heads, kv_heads, head_dim, layout);
}

void attention_causal_reference(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                                int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  const int64_t group = q_heads / kv_heads;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  for (int64_t i = 0; i < len; ++i) {
    for (int64_t h = 0; h < q_heads; ++h) {
      const int64_t visible = past + i + 1;
      std::vector<double> s(static_cast<size_t>(visible));
      double m = -INFINITY;
      for (int64_t t = 0; t < visible; ++t) {
        double acc = 0;
        for (int64_t d = 0; d < head_dim; ++d)
          acc += static_cast<double>(q[(i * q_heads + h) * head_dim + d]) *
                 k[(t * kv_heads + h / group) * head_dim + d];
        s[t] = acc * scale;
        m = std::max(m, s[t]);
      }
      double sum = 0;
      for (double& x : s) sum += (x = std::exp(x - m));
      for (int64_t d = 0; d < head_dim; ++d) {
        double acc = 0;
        for (int64_t t = 0; t < visible; ++t) acc += s[t] / sum * v[(t * kv_heads + h / group) * head_dim + d];
        out[(i * q_heads + h) * head_dim + d] = static_cast<float>(acc);
      }
    }
  }
}

void attention_segments(const float* q, const float* k, const float* v, float* out, int64_t n, int64_t heads,
                        int64_t head_dim, const int64_t* starts, int64_t segments) {
  (void)n;
  const int64_t d = head_dim;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
  int64_t longest = 0;
  for (int64_t s = 0; s < segments; ++s) longest = std::max(longest, starts[s + 1] - starts[s]);
#pragma omp parallel
  {
    std::vector<float> kh(static_cast<size_t>(longest * d)), vt(kh.size());  // (len, d), (d, len)
    std::vector<float> qb(static_cast<size_t>(kQueryBlock * d));              // (block, d)
    std::vector<float> scores(static_cast<size_t>(kQueryBlock * longest));    // (block, len)
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t s = 0; s < segments; ++s) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t begin = starts[s], len = starts[s + 1] - begin;
        if (len == 0) continue;
        gather(k, heads * d, d, d, h, begin, begin + len, 1.0f, kh.data());
        gather_transposed(v, heads * d, d, d, h, begin, begin + len, vt.data());
        for (int64_t b = 0; b < len; b += kQueryBlock) {
          const int64_t m = std::min(kQueryBlock, len - b);
          gather(q, heads * d, d, d, h, begin + b, begin + b + m, scale, qb.data());
          attend(qb.data(), m, kh.data(), vt.data(), len, d, [&](int64_t) { return len; }, scores.data(),
                 out + ((begin + b) * heads + h) * d, heads * d);
        }
      }
    }
  }
}

void attention_segments_reference(const float* q, const float* k, const float* v, float* out, int64_t n,
                                  int64_t heads, int64_t head_dim, const int64_t* starts, int64_t segments) {
  (void)n;
  const double scale = 1.0 / std::sqrt(static_cast<double>(head_dim));
  const int64_t stride = heads * head_dim;
  for (int64_t s = 0; s < segments; ++s) {
    for (int64_t t = starts[s]; t < starts[s + 1]; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        std::vector<double> w;
        double m = -INFINITY;
        for (int64_t j = starts[s]; j < starts[s + 1]; ++j) {
          double acc = 0;
          for (int64_t d = 0; d < head_dim; ++d)
            acc += static_cast<double>(q[t * stride + h * head_dim + d]) * k[j * stride + h * head_dim + d];
          w.push_back(acc * scale);
          m = std::max(m, w.back());
        }
        double sum = 0;
        for (double& x : w) sum += (x = std::exp(x - m));
        for (int64_t d = 0; d < head_dim; ++d) {
          double acc = 0;
          for (int64_t j = starts[s]; j < starts[s + 1]; ++j)
            acc += w[j - starts[s]] / sum * v[j * stride + h * head_dim + d];
          out[t * stride + h * head_dim + d] = static_cast<float>(acc);
        }
      }
    }
  }
}

}  // namespace deskpilot::kernels
