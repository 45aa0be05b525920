#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cmath>
#include <vector>

namespace deskpilot::kernels {

void attention_causal(const float* q, const float* k, const float* v, float* out, int64_t len, int64_t past,
                      int64_t q_heads, int64_t kv_heads, int64_t head_dim) {
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
        float sum = 0.0f;
        for (int64_t t = 0; t < visible; ++t) {
          scores[t] = std::exp(scores[t] - max_score);
          sum += scores[t];
        }
        const float inv = 1.0f / sum;
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
  const float scale = 1.0f / std::sqrt(static_cast<float>(head_dim));
  const int64_t stride = heads * head_dim;
  std::vector<int64_t> segment_of(static_cast<size_t>(starts[segments]));  // (n) token -> segment
  for (int64_t s = 0; s < segments; ++s)
    for (int64_t t = starts[s]; t < starts[s + 1]; ++t) segment_of[t] = s;
#pragma omp parallel
  {
    std::vector<float> scores;
#pragma omp for schedule(dynamic, 4) collapse(2)
    for (int64_t t = 0; t < starts[segments]; ++t) {
      for (int64_t h = 0; h < heads; ++h) {
        const int64_t s = segment_of[t], begin = starts[s], len = starts[s + 1] - begin;
        scores.resize(static_cast<size_t>(len));
        const float* qv = q + t * stride + h * head_dim;
        float max_score = -INFINITY;
        for (int64_t j = 0; j < len; ++j) {
          const float* kv = k + (begin + j) * stride + h * head_dim;
          float acc = 0.0f;
#pragma omp simd reduction(+ : acc)
          for (int64_t d = 0; d < head_dim; ++d) acc += qv[d] * kv[d];
          scores[j] = acc * scale;
          max_score = std::max(max_score, scores[j]);
        }
        float sum = 0.0f;
        for (int64_t j = 0; j < len; ++j) sum += scores[j] = std::exp(scores[j] - max_score);
        const float inv = 1.0f / sum;
        float* o = out + t * stride + h * head_dim;
        std::fill(o, o + head_dim, 0.0f);
        for (int64_t j = 0; j < len; ++j) {
          const float p = scores[j] * inv;
          const float* vv = v + (begin + j) * stride + h * head_dim;
#pragma omp simd
          for (int64_t d = 0; d < head_dim; ++d) o[d] += p * vv[d];
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
