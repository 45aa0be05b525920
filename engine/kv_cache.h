// The key/value cache of the decoder: per layer, keys and values of every
// token seen so far, after M-RoPE (keys), in FP32.
//
// Head-major: layer l's keys are (kv_heads, capacity, head_dim), so that
// decode streams each head's keys as one contiguous run (token-major rows,
// 2 KB apart at 7B, left the hardware prefetcher behind: decode attention at
// 2048 tokens took 75 ms a token instead of 16). Growing the capacity moves
// every head's rows to the new stride.
#pragma once

#include "kernels/cpu/attention.h"

#include <algorithm>
#include <cstdint>
#include <vector>

namespace deskpilot::engine {

class KvCache {
 public:
  static constexpr int64_t kGrowth = 256;  // tokens

  KvCache(int64_t layers, int64_t kv_heads, int64_t head_dim)
      : layers_(layers), kv_heads_(kv_heads), head_dim_(head_dim), k_(static_cast<size_t>(layers)),
        v_(static_cast<size_t>(layers)) {}

  int64_t length() const { return length_; }      // tokens cached
  int64_t capacity() const { return capacity_; }  // tokens there is room for
  // Room for `tokens` in all, rounded up to a multiple of kGrowth tokens (so
  // that a caller growing it one token a step moves the rows once in kGrowth
  // steps, and no more than kGrowth - 1 rows a head go unused); rows already
  // cached stay.
  void reserve(int64_t tokens) {
    if (tokens <= capacity_) return;
    const int64_t capacity = (tokens + kGrowth - 1) / kGrowth * kGrowth;
    for (int64_t l = 0; l < layers_; ++l) {
      k_[l] = moved(k_[l], capacity);
      v_[l] = moved(v_[l], capacity);
    }
    capacity_ = capacity;
  }
  // Layer l's (kv_heads, capacity, head_dim), laid out as layout() says.
  const float* keys(int64_t l) const { return k_[l].data(); }
  const float* values(int64_t l) const { return v_[l].data(); }
  kernels::KvLayout layout() const { return kernels::KvLayout::head_major(capacity_, head_dim_); }
  // Rows [length, length + n) of layer l from k, v: (n, kv_heads, head_dim);
  // the room must be reserved.
  void write(int64_t l, const float* k, const float* v, int64_t n) {
    for (int64_t t = 0; t < n; ++t) {
      for (int64_t h = 0; h < kv_heads_; ++h) {
        const int64_t from = (t * kv_heads_ + h) * head_dim_, to = (h * capacity_ + length_ + t) * head_dim_;
        std::copy_n(k + from, head_dim_, k_[l].data() + to);
        std::copy_n(v + from, head_dim_, v_[l].data() + to);
      }
    }
  }
  // After a forward pass wrote rows [length, length + n).
  void advance(int64_t n) { length_ += n; }
  // Forget everything after the first n tokens (a shared prompt prefix stays).
  void truncate(int64_t n) { length_ = n < length_ ? n : length_; }

 private:
  // x's heads at a stride of `capacity` rows, their first length_ rows kept.
  std::vector<float> moved(const std::vector<float>& x, int64_t capacity) const {
    std::vector<float> out(static_cast<size_t>(kv_heads_ * capacity * head_dim_));
    for (int64_t h = 0; h < kv_heads_ && length_ > 0; ++h)
      std::copy_n(x.data() + h * capacity_ * head_dim_, length_ * head_dim_, out.data() + h * capacity * head_dim_);
    return out;
  }

  int64_t layers_, kv_heads_, head_dim_;
  int64_t length_ = 0, capacity_ = 0;
  std::vector<std::vector<float>> k_, v_;  // (layers) x (kv_heads, capacity, head_dim)
};

}  // namespace deskpilot::engine
