// Random BF16 weights held in memory, for benchmarks of a model shape
// without a checkpoint (bench/model_bench.cpp): values uniform in
// [-1/sqrt(cols), 1/sqrt(cols)) like an initialised layer, so activations
// stay finite through any depth; norms near 1, biases near 0.
#pragma once

#include <cstdint>
#include <vector>

#include "engine/weight_loader.h"

namespace deskpilot::engine {

class RandomWeights {
 public:
  explicit RandomWeights(uint64_t seed) : state_(seed) {}
  RandomWeights(const RandomWeights&) = delete;
  RandomWeights& operator=(const RandomWeights&) = delete;
  // A (rows, cols) BF16 matrix owned here.
  Matrix matrix(int64_t rows, int64_t cols);
  // n floats center + spread * uniform[-1, 1).
  std::vector<float> vector(int64_t n, float center, float spread);
  int64_t bytes() const { return bytes_; }

 private:
  float uniform();  // [-1, 1), splitmix64
  uint64_t state_;
  int64_t bytes_ = 0;
  std::vector<std::vector<uint16_t>> storage_;
};

}  // namespace deskpilot::engine
