// The vision tower on one NVIDIA GPU: VisionTower::encode (engine/
// vision_tower.h) with the weights in GPU memory as BF16, FP32 activations,
// cuBLAS projections and the kernels of kernels/cuda (LayerNorm or RMSNorm,
// 2D RoPE, attention within the image or within Qwen2.5-VL's windows on
// tensor cores (kernels/cuda/flash_attention.h; FP32 where the device or
// head_dim rule it out), GELU, QuickGELU, SwiGLU with gate/up as one GEMM).
// An image's buffers are carved from one allocation kept for the next image
// (no cudaMalloc/cudaFree per image). The per-image tables (rotary angles,
// window order and segments) come from VisionTower::layout, the same
// function the CPU uses. Built only with CUDA.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "engine/vision_tower.h"

namespace deskpilot::engine {

class CudaVisionTower {
 public:
  // Uploads the weights; nullptr and *error on failure (memory, cuBLAS).
  static std::unique_ptr<CudaVisionTower> create(const VisionTower& cpu, std::string* error);
  // Random BF16 weights of the given shape, made on the device (benchmarks).
  static std::unique_ptr<CudaVisionTower> create_random(const VisionConfig& config, bool qwen25, uint64_t seed,
                                                        std::string* error);
  ~CudaVisionTower();

  // Bytes of weights on the device.
  int64_t weight_bytes() const;
  // features: (patches / merge^2, out_hidden), as VisionTower::encode.
  // Not thread-safe (one stream).
  bool encode(const ImagePatches& image, std::vector<float>* features, std::string* error);

 private:
  struct Impl;
  explicit CudaVisionTower(std::unique_ptr<Impl> impl);
  // A stream and a cuBLAS handle for a new tower.
  static std::unique_ptr<Impl> start(const VisionConfig& config, bool qwen25, std::string* error);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpilot::engine
