// Writing GGUF files (version 3) as llama.cpp reads them: metadata, the
// tensor table, then the tensors at 32-byte alignment. The file is written
// beside its destination and renamed into place when complete, so a failed
// or interrupted write leaves nothing half-written under the name.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "engine/gguf.h"
#include "kernels/dtype.h"

namespace deskpilot::engine {

class GgufWriter {
 public:
  void set(const std::string& key, GgufValue value);
  void set_string(const std::string& key, const std::string& value);
  void set_u32(const std::string& key, uint32_t value);
  void set_f32(const std::string& key, float value);
  void set_bool(const std::string& key, bool value);
  void set_i32s(const std::string& key, const std::vector<int64_t>& values);
  void set_f32s(const std::string& key, const std::vector<double>& values);
  void set_strings(const std::string& key, std::vector<std::string> values);

  // `shape` outermost first (as transformers writes it); `data` is copied
  // when written, so it must stay valid until write().
  void add_tensor(const std::string& name, kernels::DType type, const std::vector<int64_t>& shape, const void* data);
  // A tensor whose bytes `fill` makes when it is written (one tensor in memory at a time).
  using Fill = std::function<void(uint8_t* dst, uint64_t bytes)>;
  void add_tensor(const std::string& name, kernels::DType type, const std::vector<int64_t>& shape, Fill fill);

  // The whole file's bytes (tests), or written to `path`.
  std::string bytes() const;
  bool write(const std::string& path, std::string* error) const;

 private:
  struct Tensor {
    std::string name;
    kernels::DType type;
    std::vector<int64_t> shape;
    const void* data;
    uint64_t bytes;
    Fill fill;
  };
  std::vector<std::pair<std::string, GgufValue>> metadata_;  // in the order set
  std::vector<Tensor> tensors_;
};

}  // namespace deskpilot::engine
