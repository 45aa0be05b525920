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

// An image's features left in device memory, (rows, hidden), for a decoder
// on the same device (CudaLanguageModel::forward's device rows). The buffer
// goes back to the tower's pool when they go (no cudaFree, which waits for
// the whole device, per image).
class CudaFeatures {
 public:
  struct Pool;
  ~CudaFeatures();
  CudaFeatures(const CudaFeatures&) = delete;
  CudaFeatures& operator=(const CudaFeatures&) = delete;
  const float* data() const { return data_; }
  int64_t rows() const { return rows_; }
  int64_t hidden() const { return hidden_; }
  // A copy on the host (what the CPU's encoder would have given).
  bool download(std::vector<float>* out, std::string* error) const;

 private:
  friend class CudaVisionTower;
  CudaFeatures() = default;
  float* data_ = nullptr;
  size_t capacity_ = 0;  // floats
  int64_t rows_ = 0, hidden_ = 0;
  std::shared_ptr<Pool> pool_;
};

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
  // The same features left in device memory; nullptr and *error on failure.
  std::unique_ptr<CudaFeatures> encode_resident(const ImagePatches& image, std::string* error);

 private:
  struct Impl;
  // encode's work: the features gathered into `device` (room for them) or
  // downloaded into `host`.
  bool run(const ImagePatches& image, float* device, std::vector<float>* host, std::string* error);
  explicit CudaVisionTower(std::unique_ptr<Impl> impl);
  // A stream and a cuBLAS handle for a new tower.
  static std::unique_ptr<Impl> start(const VisionConfig& config, bool qwen25, std::string* error);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpilot::engine
