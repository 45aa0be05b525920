// Reading the golden files the reference scripts (scripts/golden/) wrote:
// text and JSON, and the tiny models' logits (a JSON index of float32
// tensors in a .bin file), plus the one comparison the goldens use.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstring>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <string>
#include <vector>

namespace deskpilot::testing {

inline const std::string kGoldenDir = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/";

inline std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

inline nlohmann::json read_json(const std::string& path) { return nlohmann::json::parse(read_text(path)); }

// tests/golden/models/NAME.golden.json and its NAME.logits.bin.
struct ModelGolden {
  nlohmann::json json;
  std::string blob;
  // The tensor an index entry {"offset", "shape"} points at, flattened.
  std::vector<float> tensor(const nlohmann::json& entry) const {
    int64_t n = 1;
    for (const auto& d : entry["shape"]) n *= d.get<int64_t>();
    std::vector<float> v(static_cast<size_t>(n));
    std::memcpy(v.data(), blob.data() + entry["offset"].get<size_t>(), sizeof(float) * static_cast<size_t>(n));
    return v;
  }
};

inline ModelGolden model_golden(const std::string& name) {
  return {read_json(kGoldenDir + "models/" + name + ".golden.json"),
          read_text(kGoldenDir + "models/" + name + ".logits.bin")};
}

inline float max_abs_diff(const float* a, const float* b, size_t n) {
  float m = 0;
  for (size_t i = 0; i < n; ++i) m = std::max(m, std::fabs(a[i] - b[i]));
  return m;
}

}  // namespace deskpilot::testing
