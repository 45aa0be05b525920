#include "cli/capture.h"

#include <filesystem>
#include <iostream>
#include <memory>

#include <opencv2/imgcodecs.hpp>

#include "vision/capture.h"

namespace deskpilot::cli {
namespace {

struct CaptureOptions {
  std::string display;
  int monitor = -1;
  std::string region;
  std::string out;
};

int run_capture(const CaptureOptions& o) {
  vision::X11CaptureOptions x;
  x.display = o.display;
  if (o.monitor >= 0) x.monitor = o.monitor;
  if (!o.region.empty()) {
    x.region = vision::parse_rect(o.region);
    if (!x.region) {
      std::cerr << "deskpilot: --region: expected X,Y,W,H such as 0,0,800,600, got '" << o.region << "'\n";
      return 2;
    }
  }
  std::string error;
  auto source = vision::open_x11_capture(x, &error);
  if (!source) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  cv::Mat frame;
  if (!source->grab(&frame, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::string ext = std::filesystem::path(o.out).extension().string();
  for (char& c : ext) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (ext != ".png" && ext != ".jpg" && ext != ".jpeg") {
    std::cerr << "deskpilot: --out " << o.out << ": expected a .png or .jpg file name\n";
    return 2;
  }
  try {
    if (!cv::imwrite(o.out, frame)) {
      std::cerr << "deskpilot: " << o.out << ": cannot write the image (is the extension .png or .jpg?)\n";
      return 1;
    }
  } catch (const cv::Exception& e) {
    std::cerr << "deskpilot: " << o.out << ": " << e.what() << "\n";
    return 1;
  }
  std::cout << o.out << " " << frame.cols << "x" << frame.rows << " (" << source->method() << ")\n";
  return 0;
}

}  // namespace

void add_capture_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<CaptureOptions>();
  CLI::App* cmd = app.add_subcommand("capture", "Save one screenshot of an X display");
  cmd->add_option("--display", o->display, "X display such as :1 (default: $DISPLAY)");
  auto* monitor = cmd->add_option("--monitor", o->monitor, "XRandR monitor index (0-based)")->check(CLI::NonNegativeNumber);
  cmd->add_option("--region", o->region, "Region X,Y,W,H of the screen")->excludes(monitor);
  cmd->add_option("--out", o->out, "Output image (.png or .jpg)")->required();
  cmd->callback([o, exit_code] { *exit_code = run_capture(*o); });
}

}  // namespace deskpilot::cli
