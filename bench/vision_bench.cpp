// The vision tower at full size: one screenshot through preprocessing and
// the encoder of a checkpoint with UI-TARS-1.5-7B's vision configuration
// (made by bench/vision_bench_reference.py). Prints the grid, the merged
// tokens, the times and the peak resident memory.
//   bench_vision MODEL_DIR SCREENSHOT_PNG
#include <sys/resource.h>

#include <chrono>
#include <cstdio>

#include "engine/model.h"
#include "base/clock.h"
#include "multimodal/image_io.h"
#include "multimodal/preprocess.h"

namespace {
using deskpilot::base::ms_since;
}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_vision MODEL_DIR SCREENSHOT_PNG\n");
    return 2;
  }
  std::string error;
  auto t0 = std::chrono::steady_clock::now();
  auto model = deskpilot::engine::Model::load(argv[1], &error);
  if (!model || !model->vision()) {
    std::fprintf(stderr, "%s\n", model ? "no vision tower" : error.c_str());
    return 1;
  }
  const double load_ms = ms_since(t0);
  auto img = deskpilot::multimodal::read_rgb_image(argv[2], &error);
  if (!img) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  t0 = std::chrono::steady_clock::now();
  auto patches = deskpilot::multimodal::preprocess_image(*img, model->files().preprocessor, &error);
  if (!patches) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  const double pre_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();
  const std::vector<float> features = model->vision()->encode(*patches);
  const double vision_ms = ms_since(t0);
  rusage usage{};
  getrusage(RUSAGE_SELF, &usage);
  const int64_t tokens = static_cast<int64_t>(features.size()) / model->vision()->out_hidden();
  std::printf("deskpilot grid=[%lld, %lld, %lld] tokens=%lld preprocess_ms=%.0f vision_ms=%.0f peak_rss_mb=%.0f load_ms=%.0f\n",
              static_cast<long long>(patches->grid_t), static_cast<long long>(patches->grid_h),
              static_cast<long long>(patches->grid_w), static_cast<long long>(tokens), pre_ms, vision_ms,
              usage.ru_maxrss / 1024.0, load_ms);
  return 0;
}
