// M-RoPE positions of a multimodal prompt, as transformers' get_rope_index:
// text tokens advance all three streams together; the tokens of an image
// (grid_t x grid_h/merge x grid_w/merge) take temporal, row and column
// indices offset by the position where the image starts; text after an
// image resumes one past the largest position so far. The delta (largest
// position + 1 - prompt length) shifts every generated token's position.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/image_patches.h"

namespace deskpilot::engine {

struct RopeIndex {
  std::vector<int64_t> positions;  // (3, prompt length): temporal, height, width
  int64_t delta = 0;
};

// nullopt and *error when the <|image_pad|> runs do not match the images.
std::optional<RopeIndex> rope_index(const std::vector<int32_t>& ids, const std::vector<ImagePatches>& images,
                                    const ModelConfig& config, std::string* error);

}  // namespace deskpilot::engine
