#include "kernels/cpu/attention.h"

#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"

#include <algorithm>
#include <cmath>
#include <vector>

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

// Head h of rows [begin, end) of x (rows, heads, d) into a contiguous (end - begin, d) copy, times `scale`.
void gather(const float* x, int64_t heads, int64_t d, int64_t h, int64_t begin, int64_t end, float scale, float* out) {
  for (int64_t t = begin; t < end; ++t)
    for (int64_t i = 0; i < d; ++i) out[(t - begin) * d + i] = x[(t * heads + h) * d + i] * scale;
}

// The same, transposed: (d, end - begin).
void gather_transposed(const float* x, int64_t heads, int64_t d, int64_t h, int64_t begin, int64_t end, float* out) {
  const int64_t len = end - begin;
  for (int64_t t = begin; t < end; ++t)
    for (int64_t i = 0; i < d; ++i) out[i * len + (t - begin)] = x[(t * heads + h) * d + i];
}

// Causal GQA attention for many queries: per query head, query blocks of
// kQueryBlock rows see the keys up to their own position.
void attention_causal_blocked(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                              int64_t q_heads, int64_t kv_heads, int64_t d) {
  const int64_t group = q_heads / kv_heads, total = past + len;
  const float scale = 1.0f / std::sqrt(static_cast<float>(d));
#pragma omp parallel
  {
    std::vector<float> kh(static_cast<size_t>(total * d)), vt(kh.size());  // (total, d), (d, total)
    std::vector<float> qb(static_cast<size_t>(kQueryBlock * d));            // (block, d)
    std::vector<float> scores(static_cast<size_t>(kQueryBlock * total));    // (block, total)
#pragma omp for schedule(dynamic, 1)
    for (int64_t h = 0; h < q_heads; ++h) {
      gather(k, kv_heads, d, h / group, 0, total, 1.0f, kh.data());
      gather_transposed(v, kv_heads, d, h / group, 0, total, vt.data());
      for (int64_t b = 0; b < len; b += kQueryBlock) {
        const int64_t m = std::min(kQueryBlock, len - b);
        const int64_t keys = past + b + m;  // the last row of the block sees this many
        gather(q, q_heads, d, h, b, b + m, scale, qb.data());
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

}  // namespace

void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
  if (len > 8) return attention_causal_blocked(q, k, v, out, len, past, q_heads, kv_heads, head_dim);
  // Decode (a few queries): one pass over the cached keys per query head.
  const int64_t group = q_heads / kv_heads;
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t kv_stride = kv_heads * head_dim;
#pragma omp parallel
  {
    std::vector<float> scores(static_cast<size_t>(past + len));  // (visible keys)
#pragma omp for schedule(dynamic, 1) collapse(2)
    for (int64_t i = 0; i < len; ++i) {
      for (int64_t h = 0; h < q_heads; ++h) {
        const float* qv = q + (i * q_heads + h) * head_dim;
        const int64_t kvh = h / group;
        const int64_t visible = past + i + 1;
        float max_score = -INFINITY;
        for (int64_t t = 0; t < visible; ++t) {
          const float* kv = k + t * kv_stride + kvh * head_dim;
          float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
          for (int64_t d = 0; d < head_dim; ++d) acc += qv[d] * kv[d];
          scores[t] = acc * scale;
          max_score = std::max(max_score, scores[t]);
        }
        const float inv = 1.0f / exp_shifted_sum(scores.data(), visible, max_score);
        float* o = out + (i * q_heads + h) * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        for (int64_t t = 0; t < visible; ++t) {
          const float p = scores[t] * inv;
          const float* vv = v + t * kv_stride + kvh * head_dim;
#pragma omp simd
          for (int64_t d = 0; d < head_dim; ++d) o[d] += p * vv[d];
        }
      }
    }
  }
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
        gather(k, heads, d, h, begin, begin + len, 1.0f, kh.data());
        gather_transposed(v, heads, d, h, begin, begin + len, vt.data());
        for (int64_t b = 0; b < len; b += kQueryBlock) {
          const int64_t m = std::min(kQueryBlock, len - b);
          gather(q, heads, d, h, begin + b, begin + b + m, scale, qb.data());
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
