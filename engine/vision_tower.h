// The vision towers of Qwen2-VL and Qwen2.5-VL on the CPU: patches in,
// one feature per 2x2 merged patch out (the text hidden size).
//
//   patch embedding      a Conv3d with stride = kernel: one GEMM over the
//                        (channel, frame, y, x) columns of each patch
//   2D rotary embedding  head_dim/2 frequencies: half rotated by the patch
//                        row, half by the column
//   blocks               Qwen2-VL: LayerNorm, attention per image, QuickGELU MLP
//                        Qwen2.5-VL: RMSNorm, windowed attention (full attention
//                        in fullatt_block_indexes), SwiGLU MLP with bias
//   patch merger         norm, 4 neighbours concatenated, Linear-GELU-Linear
//
// Qwen2.5-VL runs its blocks on merged units permuted into windows of
// window_size pixels (empty windows of the padding removed) and permutes the
// merger output back. Weight names: visual.* or model.visual.*.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/image_patches.h"
#include "engine/qwen2_lm.h"
#include "engine/random_weights.h"
#include "engine/safetensors.h"
#include "engine/tensor_sink.h"

namespace deskpilot::engine {

struct VisionBlockWeights {
  std::vector<float> norm1_w, norm1_b, norm2_w, norm2_b;  // (width); biases only with LayerNorm
  Matrix qkv, proj;                                       // (3*width, width), (width, width)
  std::vector<float> qkv_b, proj_b;
  Matrix fc1, fc2;                                        // Qwen2-VL: (inter, width), (width, inter)
  std::vector<float> fc1_b, fc2_b;
  Matrix gate, up, down;                                  // Qwen2.5-VL: (inter, width) x2, (width, inter)
  std::vector<float> gate_b, up_b, down_b;
};

// Where each merged unit of a batch of images goes in Qwen2.5-VL's window
// order, and the windows as segments over that order (in patches).
struct WindowPlan {
  std::vector<int64_t> index;   // (merged units) window order -> original merged unit
  std::vector<int64_t> starts;  // (windows + 1) patch offsets of the windows
};
WindowPlan plan_windows(const std::vector<GridTHW>& grids, int64_t merge, int64_t window_merged);

// Per-image inputs of the blocks that do not depend on the weights: the 2D
// rotary tables of every patch and, for Qwen2.5-VL, the window order.
struct VisionLayout {
  std::vector<float> cos, sin;          // (patches, head_dim), patches in block order
  std::vector<int64_t> order;           // (merged units) block order -> original merged unit
  std::vector<int64_t> full_starts;     // {0, patches}: attention over the whole image
  std::vector<int64_t> window_starts;   // Qwen2.5-VL: the windows as segments (patches)
};

// The layout of one image for a tower of this config (qwen25: windows).
VisionLayout vision_layout(const VisionConfig& config, bool qwen25, const ImagePatches& image);
// Whether block b attends over the whole image (else within windows).
bool vision_full_attention(const VisionConfig& config, bool qwen25, int64_t block);

class VisionTower {
 public:
  static std::unique_ptr<VisionTower> load(const WeightStore& weights, const ModelConfig& config, std::string* error);
  // Random BF16 weights of this shape held by the tower (benchmarks).
  static std::unique_ptr<VisionTower> create_random(const VisionConfig& config, Architecture architecture,
                                                    uint64_t seed);

  // One image: (patches, C*T*P*P) -> (patches / merge^2, out_hidden_size).
  std::vector<float> encode(const ImagePatches& image, const TensorSink& sink = nullptr) const;
  int64_t out_hidden() const { return config_.out_hidden_size; }
  const std::string& prefix() const { return prefix_; }
  VisionLayout layout(const ImagePatches& image) const { return vision_layout(config_, qwen25(), image); }
  bool full_attention(int64_t block) const { return vision_full_attention(config_, qwen25(), block); }

  // The weights, for other backends (engine/cuda_vision.h uploads them).
  bool qwen25() const { return architecture_ == Architecture::kQwen25VL; }
  const VisionConfig& config() const { return config_; }
  const Matrix& patch_embed() const { return patch_embed_; }
  const std::vector<VisionBlockWeights>& blocks() const { return blocks_; }
  const std::vector<float>& merger_norm_weight() const { return merger_norm_w_; }
  const std::vector<float>& merger_norm_bias() const { return merger_norm_b_; }
  const Matrix& merger_fc1() const { return merger_fc1_; }
  const Matrix& merger_fc2() const { return merger_fc2_; }
  const std::vector<float>& merger_fc1_bias() const { return merger_fc1_b_; }
  const std::vector<float>& merger_fc2_bias() const { return merger_fc2_b_; }

 private:
  VisionTower() = default;
  void norm(const float* x, const std::vector<float>& w, const std::vector<float>& b, float* out, int64_t rows) const;

  Architecture architecture_ = Architecture::kQwen2VL;
  VisionConfig config_;
  std::string prefix_;
  Matrix patch_embed_;                              // (width, C*T*P*P)
  std::vector<VisionBlockWeights> blocks_;
  std::vector<float> merger_norm_w_, merger_norm_b_;  // (width)
  Matrix merger_fc1_, merger_fc2_;                  // (4*width, 4*width), (out, 4*width)
  std::vector<float> merger_fc1_b_, merger_fc2_b_;
  std::shared_ptr<RandomWeights> random_;  // what the matrices point into, for create_random
};

}  // namespace deskpilot::engine
