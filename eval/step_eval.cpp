#include "eval/step_eval.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>

#include "base/clock.h"
#include "base/files.h"
#include "eval/files.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;

std::string lower_trim(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  const size_t a = s.find_first_not_of(" \t\n\r"), b = s.find_last_not_of(" \t\n\r");
  return a == std::string::npos ? "" : s.substr(a, b - a + 1);
}

// Errors name the file, the episode and the step.
struct Where {
  std::string file;
  size_t episode = 0;
  std::string at(const std::string& rest) const {
    return file + ": episode " + std::to_string(episode) + (rest.empty() ? "" : ": " + rest);
  }
};

bool number(const json& j, const char* key, double* out) {
  if (!j.contains(key) || !j[key].is_number()) return false;
  *out = j[key].get<double>();
  return true;
}

// AndroidControl's action JSON -> StepAction (pixels).
bool android_action(const json& a, StepAction* s, std::string* why) {
  if (!a.is_object() || !a.contains("action_type") || !a["action_type"].is_string()) {
    *why = "action_type: expected a string";
    return false;
  }
  const std::string t = a["action_type"].get<std::string>();
  double x = 0, y = 0;
  if (t == "click" || t == "long_press") {
    if (!number(a, "x", &x) || !number(a, "y", &y)) {
      *why = t + " needs numbers x and y";
      return false;
    }
    s->type = t;
    s->point = actions::Point{x, y};
  } else if (t == "scroll") {
    s->type = "scroll";
    s->direction = a.value("direction", "");
    if (s->direction != "up" && s->direction != "down" && s->direction != "left" && s->direction != "right") {
      *why = "scroll: direction must be up, down, left or right";
      return false;
    }
  } else if (t == "input_text" || t == "type") {
    s->type = "type";
    s->text = a.value("text", "");
  } else if (t == "open_app") {
    s->type = "open_app";
    s->text = a.value("app_name", "");
  } else if (t == "navigate_back") {
    s->type = "press_back";
  } else if (t == "navigate_home") {
    s->type = "press_home";
  } else if (t == "wait") {
    s->type = "wait";
  } else if (t == "status" || t == "finished") {
    s->type = "finished";
  } else {
    *why = "action_type '" + t + "' is not an AndroidControl action";
    return false;
  }
  return true;
}

// GUI-Odyssey's step -> StepAction; coordinates 0..1000 of the screen.
bool odyssey_action(const json& st, int width, int height, StepAction* s, std::string* why) {
  const std::string t = st.value("action", "");
  const json info = st.contains("info") ? st["info"] : json();
  const auto point = [&](const json& p, actions::Point* out) {
    if (!p.is_array() || p.size() != 2 || !p[0].is_number() || !p[1].is_number()) return false;
    *out = {p[0].get<double>() / 1000.0 * width, p[1].get<double>() / 1000.0 * height};
    return true;
  };
  if (t == "CLICK" || t == "LONG_PRESS") {
    actions::Point p;
    if (!info.is_array() || info.empty() || !point(info[0], &p)) {
      *why = t + ": info must be [[x, y]] (0..1000)";
      return false;
    }
    s->type = t == "CLICK" ? "click" : "long_press";
    s->point = p;
  } else if (t == "SCROLL") {
    actions::Point a, b;
    if (!info.is_array() || info.size() != 2 || !point(info[0], &a) || !point(info[1], &b)) {
      *why = "SCROLL: info must be [[x1, y1], [x2, y2]] (0..1000)";
      return false;
    }
    s->type = "scroll";
    const double dx = b.x - a.x, dy = b.y - a.y;
    // The finger moves one way, the content the other: a swipe up scrolls down.
    s->direction = std::fabs(dy) >= std::fabs(dx) ? (dy < 0 ? "down" : "up") : (dx < 0 ? "right" : "left");
  } else if (t == "TEXT") {
    s->type = "type";
    s->text = info.is_string() ? info.get<std::string>() : "";
  } else if (t == "KEY_BACK") {
    s->type = "press_back";
  } else if (t == "KEY_HOME") {
    s->type = "press_home";
  } else if (t == "KEY_APPSELECT") {
    s->type = "other";
  } else if (t == "COMPLETE" || t == "INCOMPLETE") {
    s->type = "finished";
  } else {
    *why = "action '" + t + "' is not a GUI-Odyssey action";
    return false;
  }
  return true;
}

bool read_episode(const json& e, StepFormat format, const Where& where, const fs::path& images, Episode* out,
                  std::string* error) {
  if (!e.is_object()) {
    *error = where.at("expected an object");
    return false;
  }
  out->file = where.file;
  out->id = e.contains("episode_id") ? (e["episode_id"].is_string() ? e["episode_id"].get<std::string>()
                                                                       : e["episode_id"].dump())
                                     : fs::path(where.file).stem().string() + "#" + std::to_string(where.episode);
  const auto image_path = [&](const std::string& p) { return fs::path(p).is_relative() ? (images / p).string() : p; };
  if (format == StepFormat::kAndroidControl) {
    out->goal = e.value("goal", "");
    if (!e.contains("screenshots") || !e["screenshots"].is_array() || !e.contains("actions") ||
        !e["actions"].is_array()) {
      *error = where.at("expected screenshots and actions lists");
      return false;
    }
    const json& shots = e["screenshots"];
    const json& acts = e["actions"];
    if (shots.size() < acts.size()) {
      *error = where.at(std::to_string(acts.size()) + " actions but " + std::to_string(shots.size()) + " screenshots");
      return false;
    }
    for (size_t i = 0; i < acts.size(); ++i) {
      StepRecord r;
      if (!shots[i].is_string()) {
        *error = where.at("screenshots[" + std::to_string(i) + "]: expected a path");
        return false;
      }
      r.image = image_path(shots[i].get<std::string>());
      std::string why;
      if (!android_action(acts[i], &r.truth, &why)) {
        *error = where.at("actions[" + std::to_string(i) + "]: " + why);
        return false;
      }
      if (e.contains("target_boxes") && e["target_boxes"].is_array() && i < e["target_boxes"].size() &&
          e["target_boxes"][i].is_array() && e["target_boxes"][i].size() == 4)
        r.box = e["target_boxes"][i].get<std::vector<double>>();
      out->steps.push_back(std::move(r));
    }
  } else {
    out->goal = e.contains("task_info") && e["task_info"].is_object() ? e["task_info"].value("instruction", "") : "";
    if (!e.contains("steps") || !e["steps"].is_array()) {
      *error = where.at("expected a steps list");
      return false;
    }
    int width = 0, height = 0;
    for (size_t i = 0; i < e["steps"].size(); ++i) {
      const json& st = e["steps"][i];
      StepRecord r;
      if (!st.is_object() || !st.contains("screenshot") || !st["screenshot"].is_string()) {
        *error = where.at("steps[" + std::to_string(i) + "].screenshot: expected a path");
        return false;
      }
      r.image = image_path(st["screenshot"].get<std::string>());
      // The screen size for the 0..1000 coordinates: device_info, else the image.
      if (e.contains("device_info") && e["device_info"].is_object()) {
        width = e["device_info"].value("w", 0);
        height = e["device_info"].value("h", 0);
      }
      if (width <= 0 || height <= 0) {
        const cv::Mat img = cv::imread(r.image, cv::IMREAD_COLOR);
        width = img.cols;
        height = img.rows;
      }
      std::string why;
      if (!odyssey_action(st, width, height, &r.truth, &why)) {
        *error = where.at("steps[" + std::to_string(i) + "]: " + why);
        return false;
      }
      out->steps.push_back(std::move(r));
    }
  }
  if (out->goal.empty()) {
    *error = where.at("no goal (androidcontrol: goal; gui-odyssey: task_info.instruction)");
    return false;
  }
  return true;
}

}  // namespace

std::optional<StepFormat> step_format_from_name(const std::string& name) {
  if (name == "androidcontrol") return StepFormat::kAndroidControl;
  if (name == "gui-odyssey") return StepFormat::kGuiOdyssey;
  return std::nullopt;
}

std::optional<std::vector<Episode>> load_episodes(const std::string& path, StepFormat format,
                                                  const std::string& images_dir, std::string* error) {
  const std::vector<fs::path> files = input_files(path, {".json"});
  if (files.empty()) {
    *error = path + ": no episode files (.json)";
    return std::nullopt;
  }
  std::vector<Episode> episodes;
  for (const fs::path& file : files) {
    std::string text;
    if (!base::read_file(file.string(), &text, error)) return std::nullopt;
    json j;
    try {
      j = json::parse(text);
    } catch (const json::exception& e) {
      *error = file.string() + ": " + e.what();
      return std::nullopt;
    }
    const json list = j.is_array() ? j : json::array({j});
    const fs::path images = images_dir.empty() ? file.parent_path() : fs::path(images_dir);
    for (size_t i = 0; i < list.size(); ++i) {
      Episode e;
      if (!read_episode(list[i], format, Where{file.string(), i}, images, &e, error)) return std::nullopt;
      episodes.push_back(std::move(e));
    }
  }
  return episodes;
}

StepAction step_action(const actions::Action& a) {
  using actions::ActionType;
  StepAction s;
  switch (a.type) {
    case ActionType::kClick:
    case ActionType::kLeftDouble:
    case ActionType::kRightSingle: s.type = "click"; break;
    case ActionType::kLongPress: s.type = "long_press"; break;
    case ActionType::kScroll:
    case ActionType::kDrag: s.type = "scroll"; break;
    case ActionType::kType: s.type = "type"; break;
    case ActionType::kOpenApp: s.type = "open_app"; break;
    case ActionType::kPressBack: s.type = "press_back"; break;
    case ActionType::kPressHome: s.type = "press_home"; break;
    case ActionType::kWait: s.type = "wait"; break;
    case ActionType::kFinished: s.type = "finished"; break;
    default: s.type = "other"; break;
  }
  if (s.type == "click" || s.type == "long_press") s.point = a.start;
  if (a.type == ActionType::kScroll) {
    static const char* names[] = {"up", "down", "left", "right"};
    s.direction = names[static_cast<int>(a.direction)];
  } else if (a.type == ActionType::kDrag && a.start && a.end) {
    const double dx = a.end->x - a.start->x, dy = a.end->y - a.start->y;
    s.direction = std::fabs(dy) >= std::fabs(dx) ? (dy < 0 ? "down" : "up") : (dx < 0 ? "right" : "left");
  }
  s.text = a.text;
  return s;
}

StepScore score_step(const StepAction& p, const StepRecord& truth, int width, int height) {
  StepScore s;
  const StepAction& t = truth.truth;
  s.type_match = p.type == t.type;
  s.needs_grounding = t.point.has_value();
  if (s.needs_grounding && p.point) {
    if (truth.box) {
      const auto& b = *truth.box;
      s.grounded = p.point->x >= b[0] && p.point->x <= b[2] && p.point->y >= b[1] && p.point->y <= b[3];
    } else {
      const double dx = (p.point->x - t.point->x) / std::max(1, width), dy = (p.point->y - t.point->y) / std::max(1, height);
      s.grounded = std::sqrt(dx * dx + dy * dy) <= 0.14;
    }
  }
  if (!s.type_match) return s;
  if (t.type == "click" || t.type == "long_press") s.success = s.grounded;
  else if (t.type == "scroll") s.success = p.direction == t.direction;
  else if (t.type == "type" || t.type == "open_app") s.success = lower_trim(p.text) == lower_trim(t.text);
  else s.success = true;
  return s;
}

json StepTotals::to_json() const {
  const auto ratio = [](int64_t a, int64_t b) { return b > 0 ? static_cast<double>(a) / static_cast<double>(b) : 0.0; };
  return {{"steps", steps},
          {"episodes", episodes},
          {"type_accuracy", ratio(type_match, steps)},
          {"grounding_accuracy", ratio(grounded, grounding_steps)},
          {"step_success_rate", ratio(success, steps)},
          {"episode_success_rate", ratio(episodes_all_success, episodes)},
          {"counts", {{"type_match", type_match}, {"grounding_steps", grounding_steps}, {"grounded", grounded},
                      {"success", success}, {"episodes_all_success", episodes_all_success}}}};
}

bool run_step_eval(const std::vector<Episode>& episodes, policies::Policy& policy, const StepRunOptions& options,
                   StepTotals* totals, std::string* error) {
  std::error_code ec;
  fs::create_directories(options.out_dir, ec);
  const fs::path out(options.out_dir);
  std::ofstream(out / "config.json") << options.config.dump(2) << "\n";
  std::ofstream lines(out / "steps.jsonl");
  if (!lines) {
    *error = (out / "steps.jsonl").string() + ": cannot write";
    return false;
  }
  *totals = StepTotals();
  const size_t count = options.limit > 0 ? std::min<size_t>(episodes.size(), options.limit) : episodes.size();
  for (size_t e = 0; e < count; ++e) {
    const Episode& ep = episodes[e];
    policy.reset(ep.goal);
    bool all = true;
    for (size_t i = 0; i < ep.steps.size(); ++i) {
      const StepRecord& rec = ep.steps[i];
      const cv::Mat image = cv::imread(rec.image, cv::IMREAD_COLOR);
      if (image.empty()) {
        *error = rec.image + ": cannot read the screenshot of episode " + ep.id + " step " + std::to_string(i);
        return false;
      }
      policies::Decision d;
      const auto t0 = std::chrono::steady_clock::now();
      if (!policy.decide(policies::Observation{image, static_cast<int>(i) + 1}, &d, error)) {
        *error = "episode " + ep.id + " step " + std::to_string(i) + ": " + *error;
        return false;
      }
      const double ms = base::ms_since(t0);
      StepAction predicted;
      predicted.type = "none";  // no parseable action
      if (d.ok && !d.actions.empty()) predicted = step_action(d.actions.front());
      const StepScore s = score_step(predicted, rec, image.cols, image.rows);
      ++totals->steps;
      totals->type_match += s.type_match;
      totals->grounding_steps += s.needs_grounding;
      totals->grounded += s.grounded;
      totals->success += s.success;
      all = all && s.success;
      json line = {{"episode", ep.id},
                   {"step", i},
                   {"goal", ep.goal},
                   {"truth", {{"type", rec.truth.type}, {"direction", rec.truth.direction}, {"text", rec.truth.text}}},
                   {"predicted", {{"type", predicted.type}, {"direction", predicted.direction}, {"text", predicted.text}}},
                   {"type_match", s.type_match},
                   {"grounded", s.grounded},
                   {"success", s.success},
                   {"raw", d.model_text.empty() ? d.thought : d.model_text},
                   {"ms", ms}};
      if (rec.truth.point) line["truth"]["point"] = {rec.truth.point->x, rec.truth.point->y};
      if (predicted.point) line["predicted"]["point"] = {predicted.point->x, predicted.point->y};
      lines << line.dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      lines.flush();
      if (!options.quiet)
        std::fprintf(stderr, "%s step %zu: %s (%s, expected %s)\n", ep.id.c_str(), i, s.success ? "success" : "miss",
                     predicted.type.c_str(), rec.truth.type.c_str());
    }
    ++totals->episodes;
    totals->episodes_all_success += all;
  }
  std::ofstream(out / "summary.json") << totals->to_json().dump(2) << "\n";
  return true;
}

}  // namespace deskpilot::eval
