// Reading JSON documents that people write (configs, scenario and task
// files, request bodies) with errors that say where: every value carries the
// JSON path that led to it, and a reader that finds something wrong throws
// JsonError{path, message}, which read_json_document turns into
// "FILE: PATH: message". Paths start at the root's name: "$" gives
// "$.steps[1].click" (scenarios, tasks); "" gives "text_config.hidden_size"
// (Hugging Face configs, whose fields are known by their dotted names).
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

namespace deskpilot::base {

struct JsonError {
  std::string path;  // "" for the document as a whole
  std::string message;
};

// "a string", "a number", "a boolean", "an array", "an object", "null".
std::string json_kind(const nlohmann::json& j);

// Compact JSON text that never throws: bytes that are not UTF-8 in its
// strings become U+FFFD (nlohmann's dump() throws type_error 316 on them).
std::string json_text(const nlohmann::json& j);

// A value for "got ...": scalars as written (`"big"`, `7`), else json_kind.
std::string json_got(const nlohmann::json& j);

// The document; throws JsonError{"", "invalid JSON at byte N: ..."} (also for
// numbers beyond double: 1E999).
nlohmann::json parse_json(std::string_view text);

class JsonNode {
 public:
  JsonNode(const nlohmann::json& value, std::string path) : j_(value), path_(std::move(path)) {}

  const nlohmann::json& json() const { return j_; }
  const std::string& path() const { return path_; }
  std::string path_of(std::string_view key) const;  // PATH.key, or key at an unnamed root
  std::string path_of(size_t index) const;          // PATH[index]
  [[noreturn]] void fail(const std::string& message) const { throw JsonError{path_, message}; }

  // Children. contains: the key is there (null included); has: there and not null.
  bool contains(const char* key) const { return j_.is_object() && j_.contains(key); }
  bool has(const char* key) const { return contains(key) && !j_[key].is_null(); }
  JsonNode need(const char* key) const;    // fails here with "missing 'key'"
  JsonNode operator[](const char* key) const;  // the child (null when absent)
  JsonNode operator[](size_t index) const;
  size_t size() const { return j_.size(); }

  // This value as a type; fails here with "expected ..., got ...".
  const JsonNode& object() const;
  const JsonNode& array() const;
  std::string string() const;
  bool boolean() const;
  int64_t integer(int64_t min = INT64_MIN) const;  // "expected at least MIN, got V"
  double number() const;
  double number_in(double min, double max) const;  // "expected a number from MIN to MAX"
  // Fails with "unknown key 'k' (expected a, b, c)" for any other key.
  void only_keys(std::initializer_list<const char*> allowed) const;

  // Fields of an object that may be left out (or null): `fallback` then; a
  // value of the wrong type fails at the field's path. integer() without a
  // fallback is required there ("missing").
  std::string string(const char* key, const std::string& fallback) const;
  double number(const char* key, double fallback) const;
  bool boolean(const char* key, bool fallback) const;
  int64_t integer(const char* key, std::optional<int64_t> fallback = std::nullopt, int64_t min = 0) const;
  std::vector<int64_t> integers(const char* key) const;  // empty when absent

 private:
  const nlohmann::json& j_;
  std::string path_;
};

// `read(root)` over the document in `text`, the root named `root_name`; a
// JsonError from parsing or reading becomes *error = "FILE: PATH: message"
// (or "FILE: message" at the document level) and nullopt.
template <typename Read>
auto read_json_document(std::string_view text, const std::string& file, const std::string& root_name,
                        std::string* error, Read&& read) -> std::optional<decltype(read(std::declval<JsonNode>()))> {
  try {
    const nlohmann::json doc = parse_json(text);
    return read(JsonNode(doc, root_name));
  } catch (const JsonError& e) {
    *error = file + ": " + (e.path.empty() ? "" : e.path + ": ") + e.message;
    return std::nullopt;
  }
}

}  // namespace deskpilot::base
