#include "eval/grounding_data.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/files.h"
#include "eval/files.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

// The records of a .json (a list) or .jsonl (one object per line) file.
bool read_records(const fs::path& path, std::vector<json>* out, std::string* error) {
  std::string text;
  if (!base::read_file(path.string(), &text, error)) return false;
  try {
    if (path.extension() == ".jsonl") {
      std::istringstream lines(text);
      std::string line;
      for (int n = 1; std::getline(lines, line); ++n) {
        if (line.find_first_not_of(" \t\r") == std::string::npos) continue;
        try {
          out->push_back(json::parse(line));
        } catch (const json::exception& e) {
          *error = path.string() + ": line " + std::to_string(n) + ": " + e.what();
          return false;
        }
      }
      return true;
    }
    json j = json::parse(text);
    if (!j.is_array()) {
      *error = path.string() + ": expected a JSON list of samples";
      return false;
    }
    for (json& r : j) out->push_back(std::move(r));
    return true;
  } catch (const json::exception& e) {
    *error = path.string() + ": " + e.what();
    return false;
  }
}

struct Reader {
  const std::string& where;  // "file.json[3]"
  const json& r;
  std::string* error;
  bool ok = true;

  std::string text(const char* key, bool required, const std::string& fallback = "") {
    if (!ok) return "";
    if (!r.contains(key) || r[key].is_null()) {
      if (required) fail(key, "missing");
      return fallback;
    }
    if (!r[key].is_string()) {
      fail(key, "expected a string");
      return "";
    }
    return r[key].get<std::string>();
  }
  std::vector<double> numbers(const char* key, size_t count) {
    std::vector<double> v;
    if (!ok) return v;
    if (!r.contains(key) || !r[key].is_array() || r[key].size() != count) {
      fail(key, "expected " + std::to_string(count) + " numbers");
      return v;
    }
    for (const json& x : r[key]) {
      if (!x.is_number()) {
        fail(key, "expected " + std::to_string(count) + " numbers");
        return {};
      }
      v.push_back(x.get<double>());
    }
    return v;
  }
  void fail(const char* key, const std::string& what) {
    if (ok) *error = where + "." + key + ": " + what;
    ok = false;
  }
};

// mobile / desktop / web from "screenspot_mobile_v2.json".
std::string split_of(const std::string& file) {
  for (const char* s : {"mobile", "desktop", "web"})
    if (file.find(s) != std::string::npos) return s;
  return fs::path(file).stem().string();
}

bool read_sample(const json& r, const std::string& where, const std::string& file, GroundingFormat format,
                 size_t index, GroundingSample* s, std::string* error) {
  if (!r.is_object()) {
    *error = where + ": expected an object";
    return false;
  }
  Reader read{where, r, error};
  s->instruction = read.text("instruction", true);
  if (format == GroundingFormat::kScreenSpotPro) {
    s->image = read.text("img_filename", true);
    const auto box = read.numbers("bbox", 4);
    const auto size = read.numbers("img_size", 2);
    s->ui_type = read.text("ui_type", true);
    s->split = read.text("platform", false, "unknown");
    s->group = read.text("group", false, s->split);
    s->application = read.text("application", false, "unknown");
    if (read.ok && r.contains("id") && (r["id"].is_string() || r["id"].is_number()))
      s->id = r["id"].is_string() ? r["id"].get<std::string>() : r["id"].dump();
    if (read.ok) {
      s->x1 = box[0], s->y1 = box[1], s->x2 = box[2], s->y2 = box[3];
      if (size[0] <= 0 || size[1] <= 0) read.fail("img_size", "expected a positive width and height");
    }
  } else {
    const bool hf = !r.contains("img_filename");
    s->image = hf ? (r.contains("file_name") ? read.text("file_name", true) : read.text("image", true))
                  : read.text("img_filename", true);
    const auto box = read.numbers("bbox", 4);
    s->ui_type = read.text("data_type", true);
    s->split = read.text("split", false, split_of(file));
    s->group = s->split;
    s->application = read.text("data_source", false, "unknown");
    if (read.ok && hf) {  // normalised x1, y1, x2, y2
      s->x1 = box[0], s->y1 = box[1], s->x2 = box[2], s->y2 = box[3];
      s->normalized = true;
      if (*std::max_element(box.begin(), box.end()) > 1.0 + 1e-6 || *std::min_element(box.begin(), box.end()) < 0)
        read.fail("bbox", "a re-packed (file_name) record's box must be normalised [x1, y1, x2, y2] in 0..1");
    } else if (read.ok) {  // pixels x, y, w, h
      s->x1 = box[0], s->y1 = box[1], s->x2 = box[0] + box[2], s->y2 = box[1] + box[3];
    }
  }
  if (read.ok && (s->x2 < s->x1 || s->y2 < s->y1)) read.fail("bbox", "the box ends before it starts");
  if (read.ok && s->ui_type != "text" && s->ui_type != "icon")
    read.fail(format == GroundingFormat::kScreenSpotPro ? "ui_type" : "data_type",
              "expected text or icon, got '" + s->ui_type + "'");
  if (read.ok && s->instruction.empty()) read.fail("instruction", "empty");
  if (s->id.empty()) s->id = file + "#" + std::to_string(index);
  return read.ok;
}

}  // namespace

std::optional<GroundingFormat> grounding_format_from_name(const std::string& name) {
  if (name == "screenspot") return GroundingFormat::kScreenSpot;
  if (name == "screenspot-v2") return GroundingFormat::kScreenSpotV2;
  if (name == "screenspot-pro") return GroundingFormat::kScreenSpotPro;
  return std::nullopt;
}

const char* grounding_format_name(GroundingFormat format) {
  switch (format) {
    case GroundingFormat::kScreenSpot: return "screenspot";
    case GroundingFormat::kScreenSpotV2: return "screenspot-v2";
    case GroundingFormat::kScreenSpotPro: return "screenspot-pro";
  }
  return "?";
}

std::optional<GroundingSet> load_grounding_set(const std::string& dir, GroundingFormat format,
                                               const std::string& images_dir, std::string* error) {
  GroundingSet set;
  set.format = format;
  set.dir = dir;
  std::error_code ec;
  if (!fs::is_directory(dir, ec)) {
    *error = dir + ": not a folder";
    return std::nullopt;
  }
  fs::path annotations = dir;
  if (format == GroundingFormat::kScreenSpotPro && fs::is_directory(annotations / "annotations", ec))
    annotations /= "annotations";
  const std::vector<fs::path> files = input_files(annotations.string(), {".json", ".jsonl"});
  if (files.empty()) {
    *error = annotations.string() + ": no .json or .jsonl annotation files";
    return std::nullopt;
  }
  if (!images_dir.empty()) {
    set.images_dir = images_dir;
  } else {
    set.images_dir = dir;
    for (const char* sub : {"images", "screenspotv2_image"})
      if (fs::is_directory(fs::path(dir) / sub, ec)) {
        set.images_dir = (fs::path(dir) / sub).string();
        break;
      }
  }
  for (const fs::path& file : files) {
    std::vector<json> records;
    if (!read_records(file, &records, error)) return std::nullopt;
    const std::string name = file.filename().string();
    for (size_t i = 0; i < records.size(); ++i) {
      GroundingSample s;
      if (!read_sample(records[i], file.string() + "[" + std::to_string(i) + "]", name, format, i, &s, error))
        return std::nullopt;
      if (fs::path(s.image).is_relative()) s.image = (fs::path(set.images_dir) / s.image).string();
      set.samples.push_back(std::move(s));
    }
  }
  return set;
}

}  // namespace deskpilot::eval
