// A file memory-mapped read-only for as long as the object lives: the
// weight files (safetensors, GGUF) are read through it without a copy.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

namespace deskpilot::engine {

class MappedFile {
 public:
  // nullptr and *error ("PATH: why") when the path is not a readable regular file or cannot be mapped.
  static std::unique_ptr<MappedFile> open(const std::string& path, std::string* error);
  ~MappedFile();
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;

  const uint8_t* data() const { return static_cast<const uint8_t*>(map_); }  // nullptr for an empty file
  size_t size() const { return size_; }

 private:
  MappedFile() = default;
  void* map_ = nullptr;
  size_t size_ = 0;
};

}  // namespace deskpilot::engine
