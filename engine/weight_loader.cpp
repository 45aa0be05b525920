#include "engine/weight_loader.h"

namespace deskpilot::engine {

const TensorView* WeightLoader::get(const std::string& name, const std::vector<int64_t>& shape) {
  if (!ok) return nullptr;
  const TensorView* t = store.get(name, shape, error);
  ok = t != nullptr;
  return t;
}

Matrix WeightLoader::matrix(const std::string& name, int64_t rows, int64_t cols) {
  const TensorView* t = get(name, {rows, cols});
  return t ? Matrix{t->data, t->dtype, rows, cols} : Matrix{};
}

std::vector<float> WeightLoader::vector(const std::string& name, int64_t n) {
  std::vector<float> v;
  const TensorView* t = get(name, {n});
  if (!t) return v;
  v.resize(static_cast<size_t>(n));
  kernels::convert_to_f32(t->dtype, t->data, v.data(), static_cast<size_t>(n));
  return v;
}

}  // namespace deskpilot::engine
