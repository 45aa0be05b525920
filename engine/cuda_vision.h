// The vision tower on one NVIDIA GPU: VisionTower::encode (engine/
// vision_tower.h) with the weights in GPU memory as BF16, FP32 activations,
// cuBLAS projections and the kernels of kernels/cuda (LayerNorm or RMSNorm,
// 2D RoPE, attention within the image or within Qwen2.5-VL's windows, GELU,
// QuickGELU, SwiGLU with gate/up as one GEMM). The per-image tables (rotary
// angles, window order and segments) come from VisionTower::layout, the
// same function the CPU uses. Built only with CUDA.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "engine/vision_tower.h"

namespace deskpilot::engine {

class CudaVisionTower {
 public:
  // Uploads the weights; nullptr and *error on failure (memory, cuBLAS).
  static std::unique_ptr<CudaVisionTower> create(const VisionTower& cpu, std::string* error);
  ~CudaVisionTower();

  // features: (patches / merge^2, out_hidden), as VisionTower::encode.
  // Not thread-safe (one stream).
  bool encode(const ImagePatches& image, std::vector<float>* features, std::string* error);

 private:
  struct Impl;
  explicit CudaVisionTower(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpilot::engine
