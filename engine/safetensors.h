// Safetensors: Hugging Face's weight files, memory-mapped read-only.
//
// A file is an 8-byte little-endian header length N, N bytes of JSON
// ({"name": {"dtype", "shape", "data_offsets": [begin, end]}, "__metadata__": {...}})
// and the tensor bytes, offsets relative to the end of the header. Files
// are hostile input: every length, offset and shape is checked (overflow,
// past the end of the file, overlapping tensors, unknown dtypes) and every
// error names the file and the tensor.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/mapped_file.h"
#include "kernels/dtype.h"

namespace deskpilot::engine {

using kernels::DType;
using kernels::dtype_from_name;
using kernels::dtype_name;
using kernels::dtype_size;

struct TensorView {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;  // row-major, outermost first
  const void* data = nullptr;  // into the mapping; valid while the file is open
  uint64_t offset = 0;         // from the start of the data section
  uint64_t bytes = 0;
  std::string file;            // where it lives, for messages

  int64_t elements() const;
  std::string shape_text() const;  // "[64, 128]"
};

struct SafetensorsHeader {
  std::vector<TensorView> tensors;
  std::map<std::string, std::string> metadata;  // __metadata__ (string values, by the format's definition)
};

// The header of a safetensors buffer checked against `data_size` bytes of
// tensor data; the views have offsets but no data pointer yet. nullopt and
// *error ("FILE: tensor NAME: ...") on any inconsistency.
std::optional<SafetensorsHeader> parse_safetensors_header(std::string_view header_json, uint64_t data_size,
                                                          const std::string& file, std::string* error);

// A whole safetensors file image (as mapped): length, header, data; the
// views point into `bytes`.
std::optional<SafetensorsHeader> parse_safetensors_buffer(const uint8_t* bytes, size_t size,
                                                          const std::string& file, std::string* error);

class SafetensorsFile {
 public:
  static std::unique_ptr<SafetensorsFile> open(const std::string& path, std::string* error);
  ~SafetensorsFile();
  SafetensorsFile(const SafetensorsFile&) = delete;
  SafetensorsFile& operator=(const SafetensorsFile&) = delete;

  const std::vector<TensorView>& tensors() const { return tensors_; }
  const std::map<std::string, std::string>& metadata() const { return metadata_; }
  const std::string& path() const { return path_; }

 private:
  SafetensorsFile() = default;
  std::string path_;
  std::unique_ptr<MappedFile> map_;
  std::vector<TensorView> tensors_;
  std::map<std::string, std::string> metadata_;
};

// All the weights of a model folder: model.safetensors, or the shards named
// by model.safetensors.index.json (each entry checked against its shard);
// or views into other memory (GGUF files, tensors made on load) that
// `owners` keep alive (engine/gguf_model.h).
class WeightStore {
 public:
  static std::unique_ptr<WeightStore> open(const std::string& model_dir, std::string* error);
  // nullptr and *error when two views share a name.
  static std::unique_ptr<WeightStore> from_views(std::vector<TensorView> views,
                                                 std::vector<std::shared_ptr<const void>> owners, std::string* error);

  const TensorView* find(const std::string& name) const;
  // The tensor, checked: nullptr and *error "NAME: expected shape [..], got [..] (FILE)".
  const TensorView* get(const std::string& name, const std::vector<int64_t>& expected_shape,
                        std::string* error) const;
  std::vector<std::string> names() const;
  size_t size() const { return by_name_.size(); }

 private:
  std::vector<std::unique_ptr<SafetensorsFile>> files_;
  std::vector<std::shared_ptr<const void>> owners_;
  std::vector<TensorView> views_;  // from_views: what by_name_ points into
  std::map<std::string, const TensorView*> by_name_;
};

std::string shape_text(const std::vector<int64_t>& shape);

}  // namespace deskpilot::engine
