// Named intermediates for bisecting a divergence from the reference: a
// callback that receives (name, shape, FP32 data) when set. Names:
//   vision.patch_embed, vision.block.N, vision.merger   (per image)
//   position_ids, inputs_embeds, decoder.layer.N, decoder.norm (prefill)
//   logits.prefill_last, logits.step (each decode step)
// `deskpilot generate --dump-tensors DIR` writes them to files.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

namespace deskpilot::engine {

using TensorSink = std::function<void(const std::string& name, const std::vector<int64_t>& shape, const float* data)>;

}  // namespace deskpilot::engine
