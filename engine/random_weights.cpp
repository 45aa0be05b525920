#include "engine/random_weights.h"

#include <cmath>

#include "kernels/dtype.h"

namespace deskpilot::engine {

float RandomWeights::uniform() {
  uint64_t z = (state_ += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  return static_cast<float>(z >> 40) / static_cast<float>(1ull << 23) - 1.f;
}

Matrix RandomWeights::matrix(int64_t rows, int64_t cols) {
  std::vector<uint16_t> data(static_cast<size_t>(rows * cols));
  const float scale = 1.f / std::sqrt(static_cast<float>(cols));
  for (uint16_t& b : data) b = kernels::f32_to_bf16(scale * uniform());
  bytes_ += rows * cols * 2;
  storage_.push_back(std::move(data));
  return Matrix{storage_.back().data(), kernels::DType::kBF16, rows, cols};
}

std::vector<float> RandomWeights::vector(int64_t n, float center, float spread) {
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = center + spread * uniform();
  return v;
}

}  // namespace deskpilot::engine
