#include "engine/safetensors.h"

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>

#include <nlohmann/json.hpp>

#include "base/files.h"

namespace deskpilot::engine {
namespace {

using nlohmann::json;

// A header over this size is refused before it is read (real ones are a few MB).
constexpr uint64_t kMaxHeaderBytes = 100ull << 20;

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

}  // namespace

int64_t TensorView::elements() const {
  int64_t n = 1;
  for (int64_t d : shape) n *= d;
  return n;
}

std::string shape_text(const std::vector<int64_t>& shape) {
  std::string out = "[";
  for (size_t i = 0; i < shape.size(); ++i) out += (i ? ", " : "") + std::to_string(shape[i]);
  return out + "]";
}

std::string TensorView::shape_text() const { return engine::shape_text(shape); }

std::optional<SafetensorsHeader> parse_safetensors_header(std::string_view header_json, uint64_t data_size,
                                                          const std::string& file, std::string* error) {
  json header;
  try {
    header = json::parse(header_json);
  } catch (const json::exception& e) {
    *error = file + ": the header is not valid JSON: " + e.what();
    return std::nullopt;
  }
  if (!header.is_object()) {
    *error = file + ": the header is not a JSON object";
    return std::nullopt;
  }
  SafetensorsHeader parsed;
  std::vector<TensorView>& out = parsed.tensors;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") {
      if (entry.is_object()) {
        for (const auto& [k, v] : entry.items()) {
          if (v.is_string()) parsed.metadata[k] = v.get<std::string>();
        }
      }
      continue;
    }
    const std::string where = file + ": tensor " + name + ": ";
    auto bad = [&](const std::string& what) {
      *error = where + what;
      return std::nullopt;
    };
    if (!entry.is_object() || !entry.contains("dtype") || !entry.contains("shape") || !entry.contains("data_offsets")) {
      return bad("expected {\"dtype\", \"shape\", \"data_offsets\"}");
    }
    TensorView t;
    t.name = name;
    t.file = file;
    if (!entry["dtype"].is_string()) return bad("dtype is not a string");
    const std::string dtype = entry["dtype"].get<std::string>();
    auto parsed = dtype_from_name(dtype);
    if (!parsed || kernels::is_quantized(*parsed)) {
      return bad("unsupported dtype '" + dtype + "' (expected BF16, F16 or F32)");
    }
    t.dtype = *parsed;
    const json& shape = entry["shape"];
    if (!shape.is_array()) return bad("shape is not an array");
    uint64_t elements = 1;
    for (const auto& d : shape) {
      if (!d.is_number_integer() || d.get<int64_t>() < 0) return bad("shape " + shape.dump() + " has a bad dimension");
      const uint64_t dim = d.get<uint64_t>();
      if (mul_overflows(elements, dim, &elements)) return bad("shape " + shape.dump() + " overflows");
      t.shape.push_back(static_cast<int64_t>(dim));
    }
    const json& offsets = entry["data_offsets"];
    if (!offsets.is_array() || offsets.size() != 2 || !offsets[0].is_number_unsigned() ||
        !offsets[1].is_number_unsigned()) {
      return bad("data_offsets is not [begin, end]");
    }
    const uint64_t begin = offsets[0].get<uint64_t>();
    const uint64_t end = offsets[1].get<uint64_t>();
    if (begin > end || end > data_size) {
      return bad("data_offsets [" + std::to_string(begin) + ", " + std::to_string(end) + "] past the end of the " +
                 std::to_string(data_size) + " data bytes");
    }
    uint64_t bytes = 0;
    if (mul_overflows(elements, dtype_size(t.dtype), &bytes)) return bad("size overflows");
    if (bytes != end - begin) {
      return bad("shape " + t.shape_text() + " of " + dtype + " needs " + std::to_string(bytes) +
                 " bytes, data_offsets give " + std::to_string(end - begin));
    }
    t.offset = begin;
    t.bytes = bytes;
    out.push_back(std::move(t));
  }
  // No two tensors may share bytes.
  std::vector<const TensorView*> order;
  for (const auto& t : out) order.push_back(&t);
  std::sort(order.begin(), order.end(), [](const TensorView* a, const TensorView* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    const uint64_t prev_end = order[i - 1]->offset + order[i - 1]->bytes;
    if (order[i]->offset < prev_end && order[i]->bytes > 0 && order[i - 1]->bytes > 0) {
      *error = file + ": tensor " + order[i]->name + ": its bytes overlap tensor " + order[i - 1]->name;
      return std::nullopt;
    }
  }
  return parsed;
}

std::optional<SafetensorsHeader> parse_safetensors_buffer(const uint8_t* bytes, size_t size,
                                                          const std::string& file, std::string* error) {
  if (size < 8) {
    *error = file + ": " + std::to_string(size) + " bytes is too short for a safetensors file";
    return std::nullopt;
  }
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[i];  // little endian
  if (n > kMaxHeaderBytes || n > size - 8) {
    *error = file + ": header length " + std::to_string(n) + " is past the end of the " + std::to_string(size) +
             "-byte file";
    return std::nullopt;
  }
  const std::string_view header(reinterpret_cast<const char*>(bytes + 8), n);
  auto parsed = parse_safetensors_header(header, size - 8 - n, file, error);
  if (!parsed) return std::nullopt;
  const uint8_t* data = bytes + 8 + n;
  for (auto& t : parsed->tensors) t.data = data + t.offset;
  return parsed;
}

std::unique_ptr<SafetensorsFile> SafetensorsFile::open(const std::string& path, std::string* error) {
  std::unique_ptr<SafetensorsFile> f(new SafetensorsFile());
  f->path_ = path;
  f->map_ = MappedFile::open(path, error);
  if (!f->map_) return nullptr;
  auto parsed = parse_safetensors_buffer(f->map_->data(), f->map_->size(), path, error);
  if (!parsed) return nullptr;
  f->tensors_ = std::move(parsed->tensors);
  f->metadata_ = std::move(parsed->metadata);
  return f;
}

SafetensorsFile::~SafetensorsFile() = default;

std::unique_ptr<WeightStore> WeightStore::open(const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  auto store = std::make_unique<WeightStore>();
  const fs::path index = fs::path(dir) / "model.safetensors.index.json";
  std::vector<std::string> shards;
  json weight_map = json::object();
  if (fs::exists(index)) {
    std::string text;
    if (!base::read_file(index.string(), &text, error)) return nullptr;
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      *error = index.string() + ": invalid JSON: " + e.what();
      return nullptr;
    }
    if (!j.contains("weight_map") || !j["weight_map"].is_object()) {
      *error = index.string() + ": weight_map: expected an object of tensor name -> shard file";
      return nullptr;
    }
    weight_map = j["weight_map"];
    for (const auto& [name, shard] : weight_map.items()) {
      if (!shard.is_string()) {
        *error = index.string() + ": weight_map." + name + ": expected a file name";
        return nullptr;
      }
      const std::string s = shard.get<std::string>();
      if (s.find('/') != std::string::npos || s.find("..") != std::string::npos) {
        *error = index.string() + ": weight_map." + name + ": '" + s + "' is not a file in the model folder";
        return nullptr;
      }
      if (std::find(shards.begin(), shards.end(), s) == shards.end()) shards.push_back(s);
    }
  } else if (fs::exists(fs::path(dir) / "model.safetensors")) {
    shards.push_back("model.safetensors");
  } else {
    *error = dir + ": no model.safetensors or model.safetensors.index.json";
    return nullptr;
  }
  for (const auto& shard : shards) {
    auto f = SafetensorsFile::open((fs::path(dir) / shard).string(), error);
    if (!f) return nullptr;
    for (const auto& t : f->tensors()) {
      if (!store->by_name_.emplace(t.name, &t).second) {
        *error = t.file + ": tensor " + t.name + " is also in " + store->by_name_[t.name]->file;
        return nullptr;
      }
      if (!weight_map.empty() && (!weight_map.contains(t.name) || weight_map[t.name] != shard)) {
        *error = t.file + ": tensor " + t.name + " is not listed for this shard in " + index.string();
        return nullptr;
      }
    }
    store->files_.push_back(std::move(f));
  }
  for (const auto& [name, shard] : weight_map.items()) {
    if (!store->by_name_.count(name)) {
      *error = index.string() + ": " + name + " is listed in " + shard.get<std::string>() + " but not there";
      return nullptr;
    }
  }
  return store;
}

std::unique_ptr<WeightStore> WeightStore::from_views(std::vector<TensorView> views,
                                                     std::vector<std::shared_ptr<const void>> owners,
                                                     std::string* error) {
  auto store = std::make_unique<WeightStore>();
  store->owners_ = std::move(owners);
  store->views_ = std::move(views);
  for (const auto& t : store->views_) {
    if (!store->by_name_.emplace(t.name, &t).second) {
      *error = t.file + ": tensor " + t.name + " is there twice";
      return nullptr;
    }
  }
  return store;
}

const TensorView* WeightStore::find(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : it->second;
}

const TensorView* WeightStore::get(const std::string& name, const std::vector<int64_t>& expected,
                                   std::string* error) const {
  const TensorView* t = find(name);
  if (!t) {
    *error = name + ": not in the checkpoint (expected shape " + shape_text(expected) + ")";
    return nullptr;
  }
  if (t->shape != expected) {
    *error = name + ": expected shape " + shape_text(expected) + ", got " + t->shape_text() + " (" + t->file + ")";
    return nullptr;
  }
  return t;
}

std::vector<std::string> WeightStore::names() const {
  std::vector<std::string> out;
  for (const auto& [name, t] : by_name_) out.push_back(name);
  return out;
}

}  // namespace deskpilot::engine
