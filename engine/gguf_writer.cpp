#include "engine/gguf_writer.h"

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

namespace deskpilot::engine {
namespace {

constexpr uint64_t kAlignment = 32;

template <typename T>
void put(std::ostream& out, T v) {
  out.write(reinterpret_cast<const char*>(&v), sizeof v);
}

void put_string(std::ostream& out, const std::string& s) {
  put<uint64_t>(out, s.size());
  out.write(s.data(), static_cast<std::streamsize>(s.size()));
}

void put_scalar(std::ostream& out, GgufValue::Type t, int64_t integer, double number) {
  switch (t) {
    case GgufValue::Type::kU8:
      put<uint8_t>(out, static_cast<uint8_t>(integer));
      break;
    case GgufValue::Type::kI8:
      put<int8_t>(out, static_cast<int8_t>(integer));
      break;
    case GgufValue::Type::kU16:
      put<uint16_t>(out, static_cast<uint16_t>(integer));
      break;
    case GgufValue::Type::kI16:
      put<int16_t>(out, static_cast<int16_t>(integer));
      break;
    case GgufValue::Type::kU32:
      put<uint32_t>(out, static_cast<uint32_t>(integer));
      break;
    case GgufValue::Type::kI32:
      put<int32_t>(out, static_cast<int32_t>(integer));
      break;
    case GgufValue::Type::kU64:
      put<uint64_t>(out, static_cast<uint64_t>(integer));
      break;
    case GgufValue::Type::kI64:
      put<int64_t>(out, integer);
      break;
    case GgufValue::Type::kBool:
      put<uint8_t>(out, integer ? 1 : 0);
      break;
    case GgufValue::Type::kF32:
      put<float>(out, static_cast<float>(number));
      break;
    case GgufValue::Type::kF64:
      put<double>(out, number);
      break;
    default:
      break;
  }
}

void put_value(std::ostream& out, const GgufValue& v) {
  put<uint32_t>(out, static_cast<uint32_t>(v.type));
  if (v.type == GgufValue::Type::kString) return put_string(out, v.text);
  if (v.type != GgufValue::Type::kArray) return put_scalar(out, v.type, v.integer, v.number);
  put<uint32_t>(out, static_cast<uint32_t>(v.element_type));
  if (v.element_type == GgufValue::Type::kString) {
    put<uint64_t>(out, v.strings.size());
    for (const auto& s : v.strings) put_string(out, s);
    return;
  }
  put<uint64_t>(out, v.numbers.size());
  for (size_t i = 0; i < v.numbers.size(); ++i)
    put_scalar(out, v.element_type, i < v.integers.size() ? v.integers[i] : 0, v.numbers[i]);
}

void pad(std::ostream& out, uint64_t at) {
  static const char zeros[kAlignment] = {};
  out.write(zeros, static_cast<std::streamsize>((kAlignment - at % kAlignment) % kAlignment));
}

}  // namespace

void GgufWriter::set(const std::string& key, GgufValue value) {
  for (auto& [k, v] : metadata_) {
    if (k == key) {
      v = std::move(value);
      return;
    }
  }
  metadata_.emplace_back(key, std::move(value));
}

void GgufWriter::set_string(const std::string& key, const std::string& value) {
  GgufValue v;
  v.type = GgufValue::Type::kString;
  v.text = value;
  set(key, std::move(v));
}

void GgufWriter::set_u32(const std::string& key, uint32_t value) {
  GgufValue v;
  v.type = GgufValue::Type::kU32;
  v.integer = value;
  v.number = value;
  set(key, std::move(v));
}

void GgufWriter::set_f32(const std::string& key, float value) {
  GgufValue v;
  v.type = GgufValue::Type::kF32;
  v.number = value;
  set(key, std::move(v));
}

void GgufWriter::set_bool(const std::string& key, bool value) {
  GgufValue v;
  v.type = GgufValue::Type::kBool;
  v.integer = value;
  v.number = value;
  set(key, std::move(v));
}

void GgufWriter::set_i32s(const std::string& key, const std::vector<int64_t>& values) {
  GgufValue v;
  v.type = GgufValue::Type::kArray;
  v.element_type = GgufValue::Type::kI32;
  v.integers = values;
  v.numbers.assign(values.begin(), values.end());
  set(key, std::move(v));
}

void GgufWriter::set_f32s(const std::string& key, const std::vector<double>& values) {
  GgufValue v;
  v.type = GgufValue::Type::kArray;
  v.element_type = GgufValue::Type::kF32;
  v.numbers = values;
  set(key, std::move(v));
}

void GgufWriter::set_strings(const std::string& key, std::vector<std::string> values) {
  GgufValue v;
  v.type = GgufValue::Type::kArray;
  v.element_type = GgufValue::Type::kString;
  v.strings = std::move(values);
  set(key, std::move(v));
}

void GgufWriter::add_tensor(const std::string& name, kernels::DType type, const std::vector<int64_t>& shape,
                            const void* data) {
  int64_t elements = 1;
  for (int64_t d : shape) elements *= d;
  tensors_.push_back({name, type, shape, data, static_cast<uint64_t>(kernels::dtype_bytes(type, elements)), nullptr});
}

void GgufWriter::add_tensor(const std::string& name, kernels::DType type, const std::vector<int64_t>& shape,
                            Fill fill) {
  add_tensor(name, type, shape, static_cast<const void*>(nullptr));
  tensors_.back().fill = std::move(fill);
}

namespace {

void serialize(std::ostream& out, const std::vector<std::pair<std::string, GgufValue>>& metadata, const auto& tensors) {
  out.write("GGUF", 4);
  put<uint32_t>(out, 3);
  put<uint64_t>(out, tensors.size());
  put<uint64_t>(out, metadata.size());
  for (const auto& [key, value] : metadata) {
    put_string(out, key);
    put_value(out, value);
  }
  uint64_t offset = 0;
  for (const auto& t : tensors) {
    put_string(out, t.name);
    put<uint32_t>(out, static_cast<uint32_t>(t.shape.size()));
    for (auto it = t.shape.rbegin(); it != t.shape.rend(); ++it) put<uint64_t>(out, static_cast<uint64_t>(*it));
    put<uint32_t>(out, ggml_type_id(t.type));
    put<uint64_t>(out, offset);
    offset += (t.bytes + kAlignment - 1) / kAlignment * kAlignment;
  }
  pad(out, static_cast<uint64_t>(out.tellp()));
  for (const auto& t : tensors) {
    if (t.fill) {
      std::vector<uint8_t> bytes(t.bytes);
      t.fill(bytes.data(), t.bytes);
      out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(t.bytes));
    } else {
      out.write(static_cast<const char*>(t.data), static_cast<std::streamsize>(t.bytes));
    }
    pad(out, t.bytes);
  }
}

}  // namespace

std::string GgufWriter::bytes() const {
  std::ostringstream out;
  serialize(out, metadata_, tensors_);
  return out.str();
}

bool GgufWriter::write(const std::string& path, std::string* error) const {
  const std::string partial = path + ".partial";
  {
    std::ofstream out(partial, std::ios::binary | std::ios::trunc);
    if (!out) {
      *error = partial + ": cannot write: " + std::strerror(errno);
      return false;
    }
    serialize(out, metadata_, tensors_);
    out.flush();
    if (!out) {
      *error = partial + ": write failed: " + std::strerror(errno);
      std::remove(partial.c_str());
      return false;
    }
  }
  if (std::rename(partial.c_str(), path.c_str()) != 0) {
    *error = path + ": " + std::strerror(errno);
    std::remove(partial.c_str());
    return false;
  }
  return true;
}

}  // namespace deskpilot::engine
