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

}  // namespace deskpilot::agent
