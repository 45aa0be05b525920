// What the vision tower takes for one image: normalized pixels cut into
// patches in the processor's order, and the patch grid.
#pragma once

#include <cstdint>
#include <vector>

namespace deskpilot::engine {

// A patch grid: frames x rows x columns of 14x14 patches.
struct GridTHW {
  int64_t t = 0, h = 0, w = 0;
};

struct ImagePatches {
  // (grid_t * grid_h * grid_w, channels * temporal_patch * patch * patch): rows
  // in merge-block order (t, h / merge, w / merge, merge_h, merge_w), columns
  // (channel, frame, y, x), as Qwen2VLImageProcessor flattens them.
  std::vector<float> pixel_values;
  int64_t grid_t = 0, grid_h = 0, grid_w = 0;  // in patches

  int64_t patches() const { return grid_t * grid_h * grid_w; }
  GridTHW grid() const { return {grid_t, grid_h, grid_w}; }
  // Tokens the image becomes in the prompt (after the 2x2 merge).
  int64_t tokens(int64_t merge) const { return patches() / (merge * merge); }
};

}  // namespace deskpilot::engine
