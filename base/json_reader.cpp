#include "base/json_reader.h"

#include "base/text.h"

namespace deskpilot::base {

using nlohmann::json;

std::string json_kind(const json& j) {
  if (j.is_string()) return "a string";
  if (j.is_number()) return "a number";
  if (j.is_boolean()) return "a boolean";
  if (j.is_array()) return "an array";
  if (j.is_object()) return "an object";
  return "null";
}

std::string json_text(const json& j) { return j.dump(-1, ' ', false, json::error_handler_t::replace); }

std::string json_got(const json& j) {
  if (j.is_structured()) return json_kind(j);
  std::string text = json_text(j);
  if (text.size() > 80) text = text.substr(0, 77) + "...";
  return text;
}

json parse_json(std::string_view text) {
  // Checked first, so that no error message quotes the bad bytes back.
  if (const size_t bad = invalid_utf8_at(text); bad != std::string_view::npos)
    throw JsonError{"", "invalid JSON at byte " + std::to_string(bad + 1) + ": invalid UTF-8"};
  try {
    return json::parse(text);
  } catch (const json::parse_error& e) {
    throw JsonError{"", "invalid JSON at byte " + std::to_string(e.byte) + ": " + e.what()};
  } catch (const json::exception& e) {  // e.g. a number out of range: 1E999
    throw JsonError{"", std::string("invalid JSON: ") + e.what()};
  }
}

std::string JsonNode::path_of(std::string_view key) const {
  return path_.empty() ? std::string(key) : path_ + "." + std::string(key);
}

std::string JsonNode::path_of(size_t index) const { return path_ + "[" + std::to_string(index) + "]"; }

JsonNode JsonNode::need(const char* key) const {
  if (!contains(key)) fail(std::string("missing '") + key + "'");
  return (*this)[key];
}

JsonNode JsonNode::operator[](const char* key) const {
  static const nlohmann::json kNull;
  return JsonNode(contains(key) ? j_.at(key) : kNull, path_of(key));
}

JsonNode JsonNode::operator[](size_t index) const { return JsonNode(j_.at(index), path_of(index)); }

const JsonNode& JsonNode::object() const {
  if (!j_.is_object()) fail("expected an object, got " + json_kind(j_));
  return *this;
}

const JsonNode& JsonNode::array() const {
  if (!j_.is_array()) fail("expected an array, got " + json_kind(j_));
  return *this;
}

std::string JsonNode::string() const {
  if (!j_.is_string()) fail("expected a string, got " + json_got(j_));
  return j_.get<std::string>();
}

bool JsonNode::boolean() const {
  if (!j_.is_boolean()) fail("expected true or false, got " + json_got(j_));
  return j_.get<bool>();
}

int64_t JsonNode::integer(int64_t min) const {
  if (!j_.is_number_integer()) fail("expected an integer, got " + json_got(j_));
  const int64_t v = j_.get<int64_t>();
  if (v < min) fail("expected at least " + std::to_string(min) + ", got " + std::to_string(v));
  return v;
}

double JsonNode::number() const {
  if (!j_.is_number()) fail("expected a number, got " + json_got(j_));
  return j_.get<double>();
}

double JsonNode::number_in(double min, double max) const {
  const double v = number();
  if (v < min || v > max) fail("expected a number from " + std::to_string(min) + " to " + std::to_string(max));
  return v;
}

void JsonNode::only_keys(std::initializer_list<const char*> allowed) const {
  for (const auto& [key, value] : j_.items()) {
    bool ok = false;
    std::string list;
    for (const char* a : allowed) {
      ok = ok || key == a;
      list += list.empty() ? a : std::string(", ") + a;
    }
    if (!ok) fail("unknown key '" + key + "' (expected " + list + ")");
  }
}

std::string JsonNode::string(const char* key, const std::string& fallback) const {
  return has(key) ? (*this)[key].string() : fallback;
}

double JsonNode::number(const char* key, double fallback) const {
  return has(key) ? (*this)[key].number() : fallback;
}

bool JsonNode::boolean(const char* key, bool fallback) const {
  return has(key) ? (*this)[key].boolean() : fallback;
}

int64_t JsonNode::integer(const char* key, std::optional<int64_t> fallback, int64_t min) const {
  if (!has(key)) {
    if (!fallback) throw JsonError{path_of(key), "missing"};
    return *fallback;
  }
  return (*this)[key].integer(min);
}

std::vector<int64_t> JsonNode::integers(const char* key) const {
  if (!has(key)) return {};
  const JsonNode list = (*this)[key];
  if (!list.json().is_array()) list.fail("expected a list of integers");
  std::vector<int64_t> out;
  for (const nlohmann::json& v : list.json()) {
    if (!v.is_number_integer()) list.fail("expected a list of integers, got " + list.json().dump());
    out.push_back(v.get<int64_t>());
  }
  return out;
}

}  // namespace deskpilot::base
