#include "engine/rope_index.h"

#include <algorithm>

namespace deskpilot::engine {

std::optional<RopeIndex> rope_index(const std::vector<int32_t>& ids, const std::vector<ImagePatches>& images,
                                    const ModelConfig& config, std::string* error) {
  const auto n = static_cast<int64_t>(ids.size());
  const int64_t merge = config.vision.spatial_merge_size;
  RopeIndex r;
  r.positions.assign(static_cast<size_t>(3 * n), 0);
  const auto set = [&](int64_t i, int64_t t, int64_t h, int64_t w) {
    r.positions[i] = t, r.positions[n + i] = h, r.positions[2 * n + i] = w;
  };
  int64_t next = 0;  // the position the next text token takes
  int64_t i = 0;
  size_t image = 0;
  while (i < n) {
    if (ids[i] == config.video_token_id) {
      if (error) *error = "token " + std::to_string(i) + ": videos are not supported";
      return std::nullopt;
    }
    if (ids[i] != config.image_token_id) {
      set(i, next, next, next);
      ++next, ++i;
      continue;
    }
    if (image >= images.size()) {
      if (error) *error = "token " + std::to_string(i) + ": more <|image_pad|> runs than the " +
                          std::to_string(images.size()) + " images given";
      return std::nullopt;
    }
    const ImagePatches& img = images[image];
    const int64_t gt = img.grid_t, gh = img.grid_h / merge, gw = img.grid_w / merge, count = gt * gh * gw;
    int64_t run = 0;
    while (i + run < n && ids[i + run] == config.image_token_id && run < count) ++run;
    if (run != count) {
      if (error) *error = "image " + std::to_string(image + 1) + ": " + std::to_string(run) +
                          " <|image_pad|> tokens at position " + std::to_string(i) + ", its " +
                          std::to_string(img.grid_h) + "x" + std::to_string(img.grid_w) + " patch grid needs " +
                          std::to_string(count);
      return std::nullopt;
    }
    int64_t largest = next - 1;
    for (int64_t t = 0; t < gt; ++t)
      for (int64_t y = 0; y < gh; ++y)
        for (int64_t x = 0; x < gw; ++x) {
          set(i + (t * gh + y) * gw + x, next + t, next + y, next + x);
          largest = std::max({largest, next + t, next + y, next + x});
        }
    next = largest + 1;
    i += count;
    ++image;
  }
  if (image != images.size()) {
    if (error) *error = std::to_string(images.size()) + " images given but the prompt has " + std::to_string(image) +
                        " <|image_pad|> runs";
    return std::nullopt;
  }
  r.delta = next - n;
  return r;
}

}  // namespace deskpilot::engine
