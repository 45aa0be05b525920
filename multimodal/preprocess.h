// Image preprocessing of Qwen2-VL / Qwen2.5-VL, equal to transformers'
// Qwen2VLImageProcessor (the slow path): smart_resize with the checkpoint's
// min/max pixels, Pillow's bicubic resampling (ported with its fixed-point
// arithmetic, so the resized pixels are the same bytes), rescale by 1/255,
// CLIP mean/std normalization in FP32 as numpy does it, the frame
// duplicated to the temporal patch size, and patches in merge-block order.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/image_patches.h"

namespace deskpilot::multimodal {

// 8-bit RGB, row-major, 3 bytes per pixel.
struct RgbImage {
  int64_t width = 0, height = 0;
  std::vector<uint8_t> pixels;  // (height, width, 3)
};

// Pillow's Image.resize((width, height), Image.BICUBIC) on an RGB image:
// separable, horizontal pass first, support widened by the scale when
// shrinking, 22-bit fixed-point coefficients, round-half-up and clamping.
RgbImage resize_bicubic_pillow(const RgbImage& in, int64_t width, int64_t height);

// The whole processor: nullopt and *error for empty images or aspect
// ratios smart_resize refuses.
std::optional<engine::ImagePatches> preprocess_image(const RgbImage& image, const engine::PreprocessorConfig& config,
                                                     std::string* error);

}  // namespace deskpilot::multimodal
