// The key/value cache of the decoder: per layer, keys and values of every
// token seen so far, after M-RoPE (keys), in FP32.
#pragma once

#include <cstdint>
#include <vector>

namespace deskpilot::engine {

class KvCache {
 public:
  KvCache(int64_t layers, int64_t kv_heads, int64_t head_dim)
      : layers_(layers), row_(kv_heads * head_dim), k_(static_cast<size_t>(layers)), v_(static_cast<size_t>(layers)) {}

  int64_t length() const { return length_; }  // tokens cached
  int64_t row_size() const { return row_; }   // kv_heads * head_dim
  // Room for `tokens` in all; rows already cached stay.
  void reserve(int64_t tokens) {
    if (tokens <= capacity_) return;
    for (int64_t l = 0; l < layers_; ++l) {
      k_[l].resize(static_cast<size_t>(tokens * row_));
      v_[l].resize(static_cast<size_t>(tokens * row_));
    }
    capacity_ = tokens;
  }
  // (capacity, kv_heads, head_dim) of layer l.
  float* keys(int64_t l) { return k_[l].data(); }
  float* values(int64_t l) { return v_[l].data(); }
  // After a forward pass wrote rows [length, length + n).
  void advance(int64_t n) { length_ += n; }
  // Forget everything after the first n tokens (a shared prompt prefix stays).
  void truncate(int64_t n) { length_ = n < length_ ? n : length_; }

 private:
  int64_t layers_, row_;
  int64_t length_ = 0, capacity_ = 0;
  std::vector<std::vector<float>> k_, v_;  // (layers) x (capacity, kv_heads, head_dim)
};

}  // namespace deskpilot::engine
