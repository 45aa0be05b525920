// Reading a model's tensors by name with the shapes the architecture
// expects. Matrices stay where they are (in the memory-mapped files, in
// their stored dtype); vectors (norms, biases) are converted to FP32. The
// first failure sticks: `ok` turns false and *error names the tensor with
// expected and actual shapes.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "engine/safetensors.h"

namespace deskpilot::engine {

// A matrix as stored: (rows, cols) of dtype, pointing into the mapping.
struct Matrix {
  const void* data = nullptr;
  DType dtype = DType::kF32;
  int64_t rows = 0, cols = 0;
};

struct WeightLoader {
  const WeightStore& store;
  std::string* error;
  bool ok = true;

  const TensorView* get(const std::string& name, const std::vector<int64_t>& shape);
  Matrix matrix(const std::string& name, int64_t rows, int64_t cols);
  std::vector<float> vector(const std::string& name, int64_t n);
};

}  // namespace deskpilot::engine
