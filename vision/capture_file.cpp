// Screenshots from files: one image repeated, or a folder's images in name
// order (one per grab, then the last one again).
#include <algorithm>
#include <filesystem>
#include <vector>

#include <opencv2/imgcodecs.hpp>

#include "vision/capture.h"

namespace deskpilot::vision {
namespace {

bool is_image(const std::filesystem::path& p) {
  std::string ext = p.extension().string();
  std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char c) { return std::tolower(c); });
  return ext == ".png" || ext == ".jpg" || ext == ".jpeg";
}

class FileSource final : public ScreenSource {
 public:
  explicit FileSource(std::vector<cv::Mat> frames) : frames_(std::move(frames)) {}

  bool grab(cv::Mat* bgr, std::string*) override {
    *bgr = frames_[next_].clone();
    if (next_ + 1 < frames_.size()) ++next_;
    return true;
  }
  Rect area() const override { return {0, 0, frames_[next_].cols, frames_[next_].rows}; }
  std::string method() const override { return "file"; }

 private:
  std::vector<cv::Mat> frames_;
  size_t next_ = 0;
};

}  // namespace

std::unique_ptr<ScreenSource> open_file_source(const std::string& path, std::string* error) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> files;
  if (fs::is_directory(path, ec)) {
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (entry.is_regular_file() && is_image(entry.path())) files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
    if (files.empty()) {
      *error = path + ": no .png or .jpg files in the folder";
      return nullptr;
    }
  } else {
    files.push_back(path);
  }
  std::vector<cv::Mat> frames;
  for (const auto& f : files) {
    cv::Mat image = cv::imread(f.string(), cv::IMREAD_COLOR);
    if (image.empty()) {
      *error = f.string() + ": cannot read as an image";
      return nullptr;
    }
    frames.push_back(std::move(image));
  }
  return std::make_unique<FileSource>(std::move(frames));
}

}  // namespace deskpilot::vision
