#include "eval/grounding_eval.h"

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <unordered_map>

#include <opencv2/imgcodecs.hpp>

#include "base/clock.h"
#include "eval/files.h"
#include "eval/grounding_report.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string percent(const Accuracy& a) {
  if (a.total == 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", 100.0 * a.value());
  return b;
}

bool write_file(const fs::path& path, const std::string& text, std::string* error) {
  std::ofstream out(path, std::ios::binary);
  out << text;
  if (!out) {
    *error = path.string() + ": cannot write";
    return false;
  }
  return true;
}

}  // namespace

std::string grade(const std::optional<actions::Point>& point, double x1, double y1, double x2, double y2) {
  if (!point) return "wrong_format";
  return point->x >= x1 && point->x <= x2 && point->y >= y1 && point->y <= y2 ? "correct" : "wrong";
}

void Accuracy::add(const GroundingResult& r) {
  ++total;
  if (r.correctness == "correct") ++correct;
  if (r.correctness == "wrong_format") ++wrong_format;
}

json to_json(const GroundingResult& r) {
  json j = {{"id", r.id},
            {"correctness", r.correctness},
            {"point", r.point ? json::array({r.point->x, r.point->y}) : json(nullptr)},
            {"bbox", {r.x1, r.y1, r.x2, r.y2}},
            {"img_size", {r.width, r.height}},
            {"image", r.image},
            {"instruction", r.instruction},
            {"ui_type", r.ui_type},
            {"group", r.group},
            {"application", r.application},
            {"raw", r.raw},
            {"ms", r.ms},
            {"prompt_tokens", r.prompt_tokens},
            {"completion_tokens", r.completion_tokens}};
  return j;
}

std::optional<GroundingResult> grounding_result_from_json(const json& j) {
  try {
    GroundingResult r;
    r.id = j.at("id").get<std::string>();
    r.correctness = j.at("correctness").get<std::string>();
    if (!j.at("point").is_null()) r.point = actions::Point{j["point"].at(0).get<double>(), j["point"].at(1).get<double>()};
    const json& b = j.at("bbox");
    r.x1 = b.at(0).get<double>(), r.y1 = b.at(1).get<double>(), r.x2 = b.at(2).get<double>(), r.y2 = b.at(3).get<double>();
    r.width = j.at("img_size").at(0).get<int>();
    r.height = j.at("img_size").at(1).get<int>();
    r.image = j.value("image", "");
    r.instruction = j.value("instruction", "");
    r.ui_type = j.at("ui_type").get<std::string>();
    r.group = j.value("group", "");
    r.application = j.value("application", "");
    r.raw = j.value("raw", "");
    r.ms = j.value("ms", 0.0);
    r.prompt_tokens = j.value("prompt_tokens", int64_t{0});
    r.completion_tokens = j.value("completion_tokens", int64_t{0});
    if (r.correctness != "correct" && r.correctness != "wrong" && r.correctness != "wrong_format") return std::nullopt;
    return r;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

GroundingSummary summarize(const std::vector<GroundingResult>& results) {
  GroundingSummary s;
  for (const GroundingResult& r : results) {
    s.overall.add(r);
    (r.ui_type == "icon" ? s.icon : s.text).add(r);
    (r.ui_type == "icon" ? s.group_icon : s.group_text)[r.group].add(r);
    s.group_all[r.group].add(r);
    s.application[r.application].add(r);
  }
  return s;
}

json to_json(const GroundingSummary& s) {
  const auto acc = [](const Accuracy& a) {
    return json{{"accuracy", a.value()}, {"correct", a.correct}, {"total", a.total}, {"wrong_format", a.wrong_format}};
  };
  json groups = json::object(), apps = json::object();
  for (const auto& [g, a] : s.group_all) {
    json row = {{"all", acc(a)}};
    if (s.group_text.count(g)) row["text"] = acc(s.group_text.at(g));
    if (s.group_icon.count(g)) row["icon"] = acc(s.group_icon.at(g));
    groups[g] = row;
  }
  for (const auto& [app, a] : s.application) apps[app] = acc(a);
  return {{"overall", acc(s.overall)}, {"text", acc(s.text)}, {"icon", acc(s.icon)}, {"groups", groups},
          {"applications", apps}};
}

std::string summary_markdown(const GroundingSummary& s, const std::string& title) {
  std::ostringstream md;
  md << "## " << title << "\n\n| group | text | icon | all | samples |\n| --- | ---: | ---: | ---: | ---: |\n";
  for (const auto& [g, a] : s.group_all) {
    const Accuracy t = s.group_text.count(g) ? s.group_text.at(g) : Accuracy{};
    const Accuracy i = s.group_icon.count(g) ? s.group_icon.at(g) : Accuracy{};
    md << "| " << g << " | " << percent(t) << " | " << percent(i) << " | " << percent(a) << " | " << a.total << " |\n";
  }
  md << "| **overall** | " << percent(s.text) << " | " << percent(s.icon) << " | **" << percent(s.overall) << "** | "
     << s.overall.total << " |\n\nAccuracy in %: a point inside the target box is correct. Answers without a point: "
     << s.overall.wrong_format << ".\n";
  return md.str();
}

bool read_grounding_results(const std::string& dir, std::vector<GroundingResult>* results, std::string* error) {
  return read_jsonl((fs::path(dir) / "samples.jsonl").string(), "a grounding result",
                    [&](const json& j) {
                      auto r = grounding_result_from_json(j);
                      if (r) results->push_back(std::move(*r));
                      return r.has_value();
                    },
                    error);
}

bool run_grounding(const GroundingSet& set, Grounder& grounder, const GroundingRunOptions& options,
                   std::vector<GroundingResult>* results, std::string* error) {
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  if (!fs::is_directory(options.out_dir)) {
    *error = options.out_dir + ": cannot create the results folder";
    return false;
  }
  const fs::path out(options.out_dir);
  std::unordered_map<std::string, GroundingResult> done;
  if (options.resume && fs::exists(out / "samples.jsonl")) {
    std::vector<GroundingResult> before;
    if (!read_grounding_results(options.out_dir, &before, error)) return false;
    for (GroundingResult& r : before) done.emplace(r.id, std::move(r));
  }
  json config = options.config;
  config["format"] = grounding_format_name(set.format);
  config["data"] = set.dir;
  config["images"] = set.images_dir;
  config["grounder"] = grounder.name();
  config["samples"] = set.samples.size();
  if (!write_file(out / "config.json", config.dump(2) + "\n", error)) return false;
  std::ofstream lines(out / "samples.jsonl", options.resume ? std::ios::app : std::ios::trunc);
  if (!lines) {
    *error = (out / "samples.jsonl").string() + ": cannot write";
    return false;
  }
  const size_t total = options.limit > 0 ? std::min<size_t>(set.samples.size(), options.limit) : set.samples.size();
  results->clear();
  for (size_t i = 0; i < total; ++i) {
    const GroundingSample& s = set.samples[i];
    if (auto it = done.find(s.id); it != done.end()) {
      results->push_back(it->second);
      continue;
    }
    const cv::Mat image = cv::imread(s.image, cv::IMREAD_COLOR);
    if (image.empty()) {
      *error = s.image + ": cannot read the image of sample " + s.id;
      return false;
    }
    GroundingResult r;
    r.id = s.id;
    r.image = s.image;
    r.instruction = s.instruction;
    r.ui_type = s.ui_type;
    r.group = s.group;
    r.application = s.application;
    r.width = image.cols;
    r.height = image.rows;
    const double sx = s.normalized ? image.cols : 1.0, sy = s.normalized ? image.rows : 1.0;
    r.x1 = s.x1 * sx, r.y1 = s.y1 * sy, r.x2 = s.x2 * sx, r.y2 = s.y2 * sy;
    GroundingAnswer answer;
    const auto t0 = std::chrono::steady_clock::now();
    if (!grounder.locate(image, s.instruction, &answer, error)) {
      *error = "sample " + s.id + ": " + *error;
      return false;
    }
    r.ms = base::ms_since(t0);
    r.point = answer.point;
    r.raw = answer.raw;
    r.prompt_tokens = answer.prompt_tokens;
    r.completion_tokens = answer.completion_tokens;
    r.correctness = grade(r.point, r.x1, r.y1, r.x2, r.y2);
    lines << to_json(r).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
    lines.flush();  // nothing lost if the run stops here
    if (options.on_result) options.on_result(r, i + 1, total);
    results->push_back(std::move(r));
  }
  const GroundingSummary summary = summarize(*results);
  const std::string title = std::string(grounding_format_name(set.format)) + " with " + grounder.name();
  return write_file(out / "summary.json", to_json(summary).dump(2) + "\n", error) &&
         write_file(out / "summary.md", summary_markdown(summary, title), error) &&
         write_grounding_report((out / "report.html").string(), title, summary, *results, error);
}

bool compare_grounding(const std::string& a, const std::string& b, std::string* markdown, std::string* error) {
  std::vector<GroundingResult> ra, rb;
  if (!read_grounding_results(a, &ra, error) || !read_grounding_results(b, &rb, error)) return false;
  const GroundingSummary sa = summarize(ra), sb = summarize(rb);
  std::ostringstream md;
  const auto row = [&](const std::string& name, const Accuracy& x, const Accuracy& y) {
    char delta[32] = "-";
    if (x.total > 0 && y.total > 0) std::snprintf(delta, sizeof delta, "%+.1f", 100.0 * (y.value() - x.value()));
    md << "| " << name << " | " << percent(x) << " (" << x.total << ") | " << percent(y) << " (" << y.total << ") | "
       << delta << " |\n";
  };
  md << "| | A: " << a << " | B: " << b << " | B - A |\n| --- | ---: | ---: | ---: |\n";
  row("**overall**", sa.overall, sb.overall);
  row("text", sa.text, sb.text);
  row("icon", sa.icon, sb.icon);
  std::set<std::string> groups;
  for (const auto& [g, x] : sa.group_all) groups.insert(g);
  for (const auto& [g, x] : sb.group_all) groups.insert(g);
  for (const std::string& g : groups)
    row(g, sa.group_all.count(g) ? sa.group_all.at(g) : Accuracy{}, sb.group_all.count(g) ? sb.group_all.at(g) : Accuracy{});
  std::unordered_map<std::string, const GroundingResult*> by_id;
  for (const GroundingResult& r : ra) by_id[r.id] = &r;
  std::vector<std::string> only_a, only_b;
  size_t common = 0;
  for (const GroundingResult& r : rb) {
    auto it = by_id.find(r.id);
    if (it == by_id.end()) continue;
    ++common;
    const bool ok_a = it->second->correctness == "correct", ok_b = r.correctness == "correct";
    if (ok_a && !ok_b) only_a.push_back(r.id);
    if (ok_b && !ok_a) only_b.push_back(r.id);
  }
  md << "\nSamples in both: " << common << "; right only in A: " << only_a.size() << ", right only in B: "
     << only_b.size() << ".\n";
  for (const auto& [label, ids] : {std::pair{"Right only in A", &only_a}, std::pair{"Right only in B", &only_b}}) {
    if (ids->empty()) continue;
    md << "\n" << label << ":";
    for (size_t i = 0; i < ids->size() && i < 20; ++i) md << " " << (*ids)[i];
    if (ids->size() > 20) md << " ... (" << ids->size() - 20 << " more)";
    md << "\n";
  }
  *markdown = md.str();
  return true;
}

}  // namespace deskpilot::eval
