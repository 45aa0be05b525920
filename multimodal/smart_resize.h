// smart_resize: the image size a Qwen2-VL / Qwen2.5-VL model actually sees.
//
// The vision tower works on 14x14 patches merged 2x2, so both sides must be
// multiples of 28; the pixel count is clamped to [min_pixels, max_pixels]
// while keeping the aspect ratio as close as possible. UI-TARS-1.5 answers
// in absolute pixels of this resized image, so mapping its coordinates back
// to the screen needs exactly the same arithmetic as the reference
// (ui_tars.action_parser.smart_resize and transformers' Qwen2VLImageProcessor),
// Python's round-half-to-even included: 1522x1022 becomes 1512x1008.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace deskpilot::multimodal {

struct Size {
  int64_t width = 0;
  int64_t height = 0;
  friend bool operator==(const Size&, const Size&) = default;
};

struct SmartResizeParams {
  int64_t factor = 28;                   // patch size 14 x spatial merge 2
  int64_t min_pixels = 100 * 28 * 28;    // UI-TARS defaults (ui_tars.action_parser)
  int64_t max_pixels = 16384 * 28 * 28;
  double max_aspect_ratio = 200.0;       // the reference refuses anything longer
};

struct SmartResizeResult {
  std::optional<Size> size;  // set on success
  std::string error;         // why not, when size is empty
};

// Returns the resized (width, height) for an image of the given size, or an
// error for empty images and aspect ratios above params.max_aspect_ratio.
SmartResizeResult smart_resize(Size image, const SmartResizeParams& params = {});

}  // namespace deskpilot::multimodal
