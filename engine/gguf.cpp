#include "engine/gguf.h"

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <limits>

namespace deskpilot::engine {
namespace {

using kernels::DType;

struct GgmlType {
  uint32_t id;
  const char* name;
  uint32_t block, block_bytes;
};

// ggml's types (ggml.h, gguf-py's GGML_QUANT_SIZES): enough to size any tensor.
constexpr GgmlType kGgmlTypes[] = {
    {0, "F32", 1, 4},         {1, "F16", 1, 2},         {2, "Q4_0", 32, 18},      {3, "Q4_1", 32, 20},
    {6, "Q5_0", 32, 22},      {7, "Q5_1", 32, 24},      {8, "Q8_0", 32, 34},      {9, "Q8_1", 32, 40},
    {10, "Q2_K", 256, 84},    {11, "Q3_K", 256, 110},   {12, "Q4_K", 256, 144},   {13, "Q5_K", 256, 176},
    {14, "Q6_K", 256, 210},   {15, "Q8_K", 256, 292},   {16, "IQ2_XXS", 256, 66}, {17, "IQ2_XS", 256, 74},
    {18, "IQ3_XXS", 256, 98}, {19, "IQ1_S", 256, 50},   {20, "IQ4_NL", 32, 18},   {21, "IQ3_S", 256, 110},
    {22, "IQ2_S", 256, 82},   {23, "IQ4_XS", 256, 136}, {24, "I8", 1, 1},         {25, "I16", 1, 2},
    {26, "I32", 1, 4},        {27, "I64", 1, 8},        {28, "F64", 1, 8},        {29, "IQ1_M", 256, 56},
    {30, "BF16", 1, 2},       {34, "TQ1_0", 256, 54},   {35, "TQ2_0", 256, 66},   {39, "MXFP4", 32, 17},
    {40, "NVFP4", 64, 36},    {41, "Q1_0", 128, 18},
};

const GgmlType* find_type(uint32_t id) {
  for (const auto& t : kGgmlTypes)
    if (t.id == id) return &t;
  return nullptr;
}

std::optional<DType> dtype_of(uint32_t id) {
  switch (id) {
    case 0:
      return DType::kF32;
    case 1:
      return DType::kF16;
    case 30:
      return DType::kBF16;
    case 8:
      return DType::kQ8_0;
    case 2:
      return DType::kQ4_0;
    case 12:
      return DType::kQ4_K;
    case 13:
      return DType::kQ5_K;
    case 14:
      return DType::kQ6_K;
    default:
      return std::nullopt;
  }
}

constexpr uint64_t kMaxDims = 4;
constexpr uint64_t kMaxStringBytes = uint64_t{1} << 30;

// A bounds-checked little-endian reader over the file image; the first
// failure sticks and says where.
class Reader {
 public:
  Reader(const uint8_t* bytes, size_t size, const std::string& file, std::string* error)
      : p_(bytes), size_(size), file_(file), error_(error) {}
  bool ok() const { return ok_; }
  size_t at() const { return at_; }
  size_t left() const { return size_ - at_; }
  // Sets the context ("metadata key general.name") errors are reported in.
  void context(std::string c) { context_ = std::move(c); }

  bool fail(const std::string& what) {
    if (ok_) {
      *error_ =
          file_ + ": " + (context_.empty() ? "" : context_ + ": ") + what + " (at byte " + std::to_string(at_) + ")";
      ok_ = false;
    }
    return false;
  }
  bool need(uint64_t n) {
    if (!ok_) return false;
    if (n > size_ - at_)
      return fail("needs " + std::to_string(n) + " bytes, the file has " + std::to_string(size_ - at_) + " left");
    return true;
  }
  template <typename T>
  T get() {
    T v{};
    if (!need(sizeof(T))) return v;
    std::memcpy(&v, p_ + at_, sizeof(T));
    at_ += sizeof(T);
    return v;
  }
  std::string string() {
    const uint64_t n = get<uint64_t>();
    if (!ok_) return {};
    if (n > kMaxStringBytes) {
      fail("a string of " + std::to_string(n) + " bytes");
      return {};
    }
    if (!need(n)) return {};
    std::string s(reinterpret_cast<const char*>(p_ + at_), n);
    at_ += n;
    return s;
  }
  bool skip_to(uint64_t offset) {
    if (offset > size_) return fail("the data section starts past the end of the file");
    at_ = offset;
    return true;
  }

 private:
  const uint8_t* p_;
  size_t size_;
  size_t at_ = 0;
  const std::string& file_;
  std::string* error_;
  std::string context_;
  bool ok_ = true;
};

size_t scalar_size(GgufValue::Type t) {
  switch (t) {
    case GgufValue::Type::kU8:
    case GgufValue::Type::kI8:
    case GgufValue::Type::kBool:
      return 1;
    case GgufValue::Type::kU16:
    case GgufValue::Type::kI16:
      return 2;
    case GgufValue::Type::kU32:
    case GgufValue::Type::kI32:
    case GgufValue::Type::kF32:
      return 4;
    case GgufValue::Type::kU64:
    case GgufValue::Type::kI64:
    case GgufValue::Type::kF64:
      return 8;
    default:
      return 0;
  }
}

// One scalar of type t: integer and number set; false on a bad type.
bool read_scalar(Reader& r, GgufValue::Type t, int64_t* integer, double* number) {
  switch (t) {
    case GgufValue::Type::kU8:
      *integer = r.get<uint8_t>();
      break;
    case GgufValue::Type::kI8:
      *integer = r.get<int8_t>();
      break;
    case GgufValue::Type::kU16:
      *integer = r.get<uint16_t>();
      break;
    case GgufValue::Type::kI16:
      *integer = r.get<int16_t>();
      break;
    case GgufValue::Type::kU32:
      *integer = r.get<uint32_t>();
      break;
    case GgufValue::Type::kI32:
      *integer = r.get<int32_t>();
      break;
    case GgufValue::Type::kI64:
      *integer = r.get<int64_t>();
      break;
    case GgufValue::Type::kU64: {
      const uint64_t u = r.get<uint64_t>();
      if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) return r.fail("a u64 past 2^63");
      *integer = static_cast<int64_t>(u);
      break;
    }
    case GgufValue::Type::kBool: {
      const uint8_t b = r.get<uint8_t>();
      if (r.ok() && b > 1) return r.fail("a bool of " + std::to_string(b));
      *integer = b;
      break;
    }
    case GgufValue::Type::kF32:
      *number = r.get<float>();
      return r.ok();
    case GgufValue::Type::kF64:
      *number = r.get<double>();
      return r.ok();
    default:
      return r.fail("value type " + std::to_string(static_cast<uint32_t>(t)) + " is not a scalar");
  }
  *number = static_cast<double>(*integer);
  return r.ok();
}

bool read_value(Reader& r, GgufValue* v) {
  const uint32_t type = r.get<uint32_t>();
  if (!r.ok()) return false;
  if (type > 12) return r.fail("unknown value type " + std::to_string(type));
  v->type = static_cast<GgufValue::Type>(type);
  if (v->type == GgufValue::Type::kString) {
    v->text = r.string();
    return r.ok();
  }
  if (v->type != GgufValue::Type::kArray) return read_scalar(r, v->type, &v->integer, &v->number);
  const uint32_t element = r.get<uint32_t>();
  const uint64_t count = r.get<uint64_t>();
  if (!r.ok()) return false;
  if (element > 12 || element == static_cast<uint32_t>(GgufValue::Type::kArray)) {
    return r.fail("an array of value type " + std::to_string(element));
  }
  v->element_type = static_cast<GgufValue::Type>(element);
  // Each element takes at least a byte (strings: 8): a count past that cannot fit.
  const uint64_t least = v->element_type == GgufValue::Type::kString ? 8 : scalar_size(v->element_type);
  if (count > r.left() / least) return r.fail("an array of " + std::to_string(count) + " elements past the end");
  if (v->element_type == GgufValue::Type::kString) {
    v->strings.reserve(count);
    for (uint64_t i = 0; i < count && r.ok(); ++i) v->strings.push_back(r.string());
    return r.ok();
  }
  const bool integral = v->element_type != GgufValue::Type::kF32 && v->element_type != GgufValue::Type::kF64;
  if (integral) v->integers.reserve(count);
  v->numbers.reserve(count);
  for (uint64_t i = 0; i < count && r.ok(); ++i) {
    int64_t n = 0;
    double d = 0.0;
    if (!read_scalar(r, v->element_type, &n, &d)) return false;
    if (integral) v->integers.push_back(n);
    v->numbers.push_back(d);
  }
  return r.ok();
}

bool mul_overflows(uint64_t a, uint64_t b, uint64_t* out) { return __builtin_mul_overflow(a, b, out); }

}  // namespace

bool GgufValue::is_integer() const {
  return type != Type::kF32 && type != Type::kF64 && type != Type::kString && type != Type::kArray;
}
bool GgufValue::is_number() const { return type != Type::kString && type != Type::kArray; }

int64_t GgufTensor::elements() const {
  int64_t n = 1;
  for (int64_t d : dims) n *= d;
  return n;
}

std::vector<int64_t> GgufTensor::shape() const { return std::vector<int64_t>(dims.rbegin(), dims.rend()); }

std::string ggml_type_name(uint32_t id) {
  const GgmlType* t = find_type(id);
  return t ? t->name : "type " + std::to_string(id);
}

uint32_t ggml_type_id(DType t) {
  for (const auto& g : kGgmlTypes)
    if (dtype_of(g.id) == t) return g.id;
  return 0;
}

std::optional<GgufContents> parse_gguf(const uint8_t* bytes, size_t size, const std::string& file, std::string* error) {
  Reader r(bytes, size, file, error);
  GgufContents c;
  if (size < 4 || std::memcmp(bytes, "GGUF", 4) != 0) {
    *error = file + ": not a GGUF file (no \"GGUF\" magic)";
    return std::nullopt;
  }
  r.get<uint32_t>();
  c.version = r.get<uint32_t>();
  if (r.ok() && c.version != 2 && c.version != 3) {
    r.fail("GGUF version " + std::to_string(c.version) + " (deskpilot reads 2 and 3)");
  }
  const uint64_t tensor_count = r.get<uint64_t>();
  const uint64_t kv_count = r.get<uint64_t>();
  // Each entry takes more than 8 bytes: counts past the file's size are corrupt.
  if (r.ok() && (tensor_count > size / 8 || kv_count > size / 8)) {
    r.fail(std::to_string(tensor_count) + " tensors and " + std::to_string(kv_count) + " metadata entries");
  }
  for (uint64_t i = 0; i < kv_count && r.ok(); ++i) {
    r.context("metadata entry " + std::to_string(i));
    const std::string key = r.string();
    if (!r.ok()) break;
    r.context("metadata key " + key);
    GgufValue v;
    if (!read_value(r, &v)) break;
    if (!c.metadata.emplace(key, std::move(v)).second) r.fail("the key appears twice");
  }
  if (!r.ok()) return std::nullopt;
  if (auto it = c.metadata.find("general.alignment"); it != c.metadata.end()) {
    r.context("metadata key general.alignment");
    const GgufValue& a = it->second;
    if (!a.is_integer() || a.integer <= 0 || (a.integer & (a.integer - 1)) != 0 || a.integer > 4096) {
      r.fail("expected a power of two up to 4096");
      return std::nullopt;
    }
    c.alignment = static_cast<uint64_t>(a.integer);
  }
  c.tensors.reserve(tensor_count);
  for (uint64_t i = 0; i < tensor_count && r.ok(); ++i) {
    r.context("tensor " + std::to_string(i));
    GgufTensor t;
    t.name = r.string();
    if (!r.ok()) break;
    r.context("tensor " + t.name);
    const uint32_t n_dims = r.get<uint32_t>();
    if (r.ok() && (n_dims == 0 || n_dims > kMaxDims)) {
      r.fail(std::to_string(n_dims) + " dimensions (1 to 4)");
      break;
    }
    uint64_t elements = 1;
    for (uint32_t d = 0; d < n_dims && r.ok(); ++d) {
      const uint64_t dim = r.get<uint64_t>();
      if (r.ok() && (dim == 0 || dim > (uint64_t{1} << 40) || mul_overflows(elements, dim, &elements))) {
        r.fail("dimension " + std::to_string(d) + " of " + std::to_string(dim));
      }
      t.dims.push_back(static_cast<int64_t>(dim));
    }
    t.ggml_type = r.get<uint32_t>();
    t.offset = r.get<uint64_t>();
    if (!r.ok()) break;
    const GgmlType* type = find_type(t.ggml_type);
    if (!type) {
      r.fail("unknown ggml type " + std::to_string(t.ggml_type));
      break;
    }
    t.type_name = type->name;
    t.dtype = dtype_of(t.ggml_type);
    if (t.dims[0] % type->block != 0) {
      r.fail("rows of " + std::to_string(t.dims[0]) + " are not whole " + type->name + " blocks of " +
             std::to_string(type->block));
      break;
    }
    if (mul_overflows(elements / type->block, type->block_bytes, &t.bytes)) {
      r.fail("size overflows");
      break;
    }
    if (t.offset % c.alignment != 0) {
      r.fail("offset " + std::to_string(t.offset) + " is not a multiple of the alignment " +
             std::to_string(c.alignment));
      break;
    }
    c.tensors.push_back(std::move(t));
  }
  if (!r.ok()) return std::nullopt;
  r.context("");
  const uint64_t data_start = (r.at() + c.alignment - 1) / c.alignment * c.alignment;
  if (!r.skip_to(data_start)) return std::nullopt;
  const uint64_t data_size = size - data_start;
  std::vector<const GgufTensor*> order;
  std::map<std::string, int> names;
  for (auto& t : c.tensors) {
    if (t.offset > data_size || t.bytes > data_size - t.offset) {
      *error = file + ": tensor " + t.name + ": " + std::to_string(t.bytes) + " bytes at offset " +
               std::to_string(t.offset) + " run past the end of the " + std::to_string(data_size) + " data bytes";
      return std::nullopt;
    }
    if (++names[t.name] > 1) {
      *error = file + ": tensor " + t.name + " appears twice";
      return std::nullopt;
    }
    t.data = bytes + data_start + t.offset;
    order.push_back(&t);
  }
  std::sort(order.begin(), order.end(), [](const GgufTensor* a, const GgufTensor* b) { return a->offset < b->offset; });
  for (size_t i = 1; i < order.size(); ++i) {
    if (order[i - 1]->offset + order[i - 1]->bytes > order[i]->offset) {
      *error = file + ": tensors " + order[i - 1]->name + " and " + order[i]->name + " overlap";
      return std::nullopt;
    }
  }
  return c;
}

std::unique_ptr<GgufFile> GgufFile::open(const std::string& path, std::string* error) {
  std::unique_ptr<GgufFile> f(new GgufFile());
  f->path_ = path;
  f->map_ = MappedFile::open(path, error);
  if (!f->map_) return nullptr;
  auto parsed = parse_gguf(f->map_->data(), f->map_->size(), path, error);
  if (!parsed) return nullptr;
  f->contents_ = std::move(*parsed);
  for (size_t i = 0; i < f->contents_.tensors.size(); ++i) f->by_name_[f->contents_.tensors[i].name] = i;
  return f;
}

GgufFile::~GgufFile() = default;

const GgufValue* GgufFile::find(const std::string& key) const {
  auto it = contents_.metadata.find(key);
  return it == contents_.metadata.end() ? nullptr : &it->second;
}

const GgufTensor* GgufFile::tensor(const std::string& name) const {
  auto it = by_name_.find(name);
  return it == by_name_.end() ? nullptr : &contents_.tensors[it->second];
}

std::optional<int64_t> GgufFile::integer(const std::string& key, std::string* error) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_integer()) {
    *error = path_ + ": metadata " + key + ": expected an integer";
    return std::nullopt;
  }
  return v->integer;
}

std::optional<double> GgufFile::number(const std::string& key, std::string* error) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (!v->is_number()) {
    *error = path_ + ": metadata " + key + ": expected a number";
    return std::nullopt;
  }
  return v->number;
}

std::optional<std::string> GgufFile::text(const std::string& key, std::string* error) const {
  const GgufValue* v = find(key);
  if (!v) return std::nullopt;
  if (v->type != GgufValue::Type::kString) {
    *error = path_ + ": metadata " + key + ": expected a string";
    return std::nullopt;
  }
  return v->text;
}

}  // namespace deskpilot::engine
