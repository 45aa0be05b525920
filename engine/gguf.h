// GGUF: llama.cpp's model files, memory-mapped read-only.
//
// A file is: "GGUF", version (2 or 3), tensor count, metadata count (all
// little-endian); the metadata as key, type, value (strings are a u64 length
// and bytes; arrays a type, u64 count and elements); the tensor table as
// name, dimension count, dimensions (innermost first), ggml type, offset;
// then, at general.alignment (32 unless set), the data section the offsets
// point into. Files are hostile input: every length, count, dimension,
// offset and size is checked against the file (overflow, past the end,
// misaligned, overlapping, duplicate names), and every error names the file
// and the key or tensor.
//
// Tensor types deskpilot runs are the kernels::DType ones; a tensor of any
// other ggml type (Q4_1, Q5_0, IQ4_XS, ...) is read, named by its ggml name
// and has no dtype, so that the model loader refuses it by name.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/mapped_file.h"
#include "kernels/dtype.h"

namespace deskpilot::engine {

struct GgufValue {
  enum class Type : uint32_t {
    kU8 = 0,
    kI8 = 1,
    kU16 = 2,
    kI16 = 3,
    kU32 = 4,
    kI32 = 5,
    kF32 = 6,
    kBool = 7,
    kString = 8,
    kArray = 9,
    kU64 = 10,
    kI64 = 11,
    kF64 = 12,
  };
  Type type = Type::kU8;
  Type element_type = Type::kU8;     // of an array
  int64_t integer = 0;               // integer and bool types (u64 past INT64_MAX is refused)
  double number = 0.0;               // every numeric type
  std::string text;                  // kString
  std::vector<std::string> strings;  // an array of strings
  std::vector<int64_t> integers;     // an array of integers or bools
  std::vector<double> numbers;       // an array of numbers (integers too)

  bool is_integer() const;
  bool is_number() const;  // integer or float
};

struct GgufTensor {
  std::string name;
  std::vector<int64_t> dims;            // as stored: innermost (the row) first
  uint32_t ggml_type = 0;               // the file's type id
  std::string type_name;                // "Q4_K", "IQ4_XS", ...
  std::optional<kernels::DType> dtype;  // when deskpilot runs the type
  uint64_t offset = 0;                  // into the data section
  uint64_t bytes = 0;
  const void* data = nullptr;  // into the mapping

  int64_t elements() const;
  // The shape outermost first, as safetensors and transformers write it.
  std::vector<int64_t> shape() const;
};

struct GgufContents {
  uint32_t version = 0;
  uint64_t alignment = 32;
  std::map<std::string, GgufValue> metadata;
  std::vector<GgufTensor> tensors;
};

// A whole GGUF image checked; tensor data pointers point into `bytes`.
// nullopt and *error "FILE: ..." on any inconsistency.
std::optional<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& file, std::string* error);

// The ggml name of a type id ("Q4_K"), or "type N" for an id ggml does not have.
std::string ggml_type_name(uint32_t id);
// The ggml type id of a DType (the inverse of GgufTensor::dtype).
uint32_t ggml_type_id(kernels::DType t);

class GgufFile {
 public:
  static std::unique_ptr<GgufFile> open(const std::string& path, std::string* error);
  ~GgufFile();
  GgufFile(const GgufFile&) = delete;
  GgufFile& operator=(const GgufFile&) = delete;

  const std::string& path() const { return path_; }
  const GgufContents& contents() const { return contents_; }
  const GgufValue* find(const std::string& key) const;
  const GgufTensor* tensor(const std::string& name) const;

  // Typed metadata: nullopt when absent; *error (naming the key) and nullopt
  // when present with another type.
  std::optional<int64_t> integer(const std::string& key, std::string* error) const;
  std::optional<double> number(const std::string& key, std::string* error) const;
  std::optional<std::string> text(const std::string& key, std::string* error) const;

 private:
  GgufFile() = default;
  std::string path_;
  std::unique_ptr<MappedFile> map_;
  GgufContents contents_;
  std::map<std::string, size_t> by_name_;
};

}  // namespace deskpilot::engine
