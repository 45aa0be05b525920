#include "agent/trajectory.h"

#include <chrono>
#include <cstring>
#include <ctime>
#include <filesystem>

#include <opencv2/imgcodecs.hpp>

namespace deskpilot::agent {

std::unique_ptr<TrajectoryWriter> TrajectoryWriter::open(const std::string& dir, std::string* error) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    *error = dir + ": " + ec.message();
    return nullptr;
  }
  const std::string path = dir + "/trajectory.jsonl";
  FILE* f = std::fopen(path.c_str(), "a");
  if (!f) {
    *error = path + ": " + std::strerror(errno);
    return nullptr;
  }
  return std::unique_ptr<TrajectoryWriter>(new TrajectoryWriter(dir, f));
}

TrajectoryWriter::~TrajectoryWriter() { std::fclose(file_); }

bool TrajectoryWriter::append(int step, const cv::Mat& screenshot, nlohmann::ordered_json record,
                              std::string* error) {
  char name[32];
  std::snprintf(name, sizeof name, "step_%03d.png", step);
  nlohmann::ordered_json line;
  line["step"] = step;
  line["screenshot"] = screenshot.empty() ? nlohmann::ordered_json(nullptr) : nlohmann::ordered_json(name);
  for (auto& [k, v] : record.items()) line[k] = std::move(v);
  if (!screenshot.empty() && !cv::imwrite(dir_ + "/" + name, screenshot)) {
    *error = dir_ + "/" + name + ": cannot write";
    return false;
  }
  const std::string text = line.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace) + "\n";
  if (std::fwrite(text.data(), 1, text.size(), file_) != text.size() || std::fflush(file_) != 0) {
    *error = dir_ + "/trajectory.jsonl: " + std::strerror(errno);
    return false;
  }
  return true;
}

nlohmann::ordered_json trajectory_line(const StepRecord& r) {
  using json = nlohmann::ordered_json;
  const auto or_null = [](const std::string& s) { return s.empty() ? json(nullptr) : json(s); };
  json line;
  line["time"] = r.time;
  line["source"] = r.source;
  if (r.from_policy) {
    line["instruction"] = r.instruction;
    line["policy"] = r.policy;
    line["thought"] = or_null(r.thought);
  } else {
    line["json_path"] = r.json_path;
  }
  line["model_text"] = or_null(r.model_text);
  if (r.from_policy) {
    if (!r.note.empty()) line["note"] = r.note;
    line["attempts"] = r.attempts;
    line["tokens"] = {{"prompt", r.prompt_tokens}, {"completion", r.completion_tokens}};
  }
  line["actions"] = r.actions;
  line["events"] = r.events;
  line["result"] = r.error.empty() ? "ok" : "error";
  line["error"] = or_null(r.error);
  const StepLatency& l = r.latency;
  line["latency_ms"] = {{"capture", l.capture_ms}, {"think", l.think_ms}, {"act", l.act_ms}, {"settle", l.settle_ms}};
  line["settle"] = r.settle;
  return line;
}

}  // namespace deskpilot::agent
