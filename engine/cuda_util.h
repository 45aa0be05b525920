// Helpers shared by the engine's CUDA parts (engine/cuda_lm.cpp,
// engine/cuda_vision.cpp): the first failure of a sequence of CUDA calls,
// device allocations that the owner frees, weight uploads as BF16.
// Internal to engine/; only compiled with CUDA.
#pragma once

#include <cuda_runtime.h>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "engine/weight_loader.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/flash_attention.h"
#include "kernels/dtype.h"

namespace deskpilot::engine::cuda_util {

// A number no earlier call in this process returned (never 0): what a
// captured CUDA graph records of the buffers it points into, so that buffers
// reallocated at the same addresses, or a new object where a freed one was,
// still count as new.
inline uint64_t next_epoch() {
  static std::atomic<uint64_t> counter{0};
  return ++counter;
}

// Whether attention over many queries runs on tensor cores
// (kernels/cuda/flash_attention.h: BF16 operands, FP32 softmax): wherever
// the device and head_dim allow, unless DESKPILOT_FLASH_ATTENTION=0 asks for
// the FP32 kernels (to tell a numerical difference from a bug).
inline bool flash_attention_wanted(int64_t head_dim) {
  const char* env = std::getenv("DESKPILOT_FLASH_ATTENTION");
  if (env && std::string(env) == "0") return false;
  return kernels::cuda::flash_attention_supported(head_dim);
}

// The first CUDA failure of a sequence of calls, with what was being done.
struct Check {
  std::string* error;
  bool ok = true;
  bool operator()(cudaError_t e, const char* what) {
    if (ok && e != cudaSuccess) {
      ok = false;
      if (error) *error = std::string(what) + ": " + cudaGetErrorString(e);
    }
    return ok;
  }
  bool fail(const std::string& message) {
    if (ok && error) *error = message;
    ok = false;
    return false;
  }
};

// Buffers carved out of one device allocation, aligned to 256 bytes. With
// no base it only measures: carve once to learn the size, reserve, carve
// again into the arena.
struct Carver {
  char* base = nullptr;
  size_t used = 0;
  template <typename T>
  T* take(int64_t n) {
    used = (used + 255) & ~static_cast<size_t>(255);
    T* p = base ? reinterpret_cast<T*>(base + used) : nullptr;
    used += static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T);
    return p;
  }
};

// One device allocation that only grows: the per-call buffers of a model
// without a cudaMalloc/cudaFree per call once it is big enough (cudaFree
// waits for the whole device).
class Arena {
 public:
  Arena() = default;
  Arena(const Arena&) = delete;
  Arena& operator=(const Arena&) = delete;
  ~Arena() { cudaFree(base_); }
  // Room for `bytes`; the contents do not survive a growth.
  bool reserve(size_t bytes, Check& check, const char* what) {
    if (bytes <= size_) return true;
    cudaFree(base_);
    base_ = nullptr;
    size_ = 0;
    if (!check(cudaMalloc(&base_, bytes), what)) return false;
    size_ = bytes;
    return true;
  }
  char* base() const { return static_cast<char*>(base_); }

 private:
  void* base_ = nullptr;
  size_t size_ = 0;
};

// Device memory freed when the owner goes (the weights of a model).
class Allocations {
 public:
  Allocations() = default;
  Allocations(const Allocations&) = delete;
  Allocations& operator=(const Allocations&) = delete;
  ~Allocations() {
    for (void* p : held_) cudaFree(p);
  }
  template <typename T>
  T* get(size_t n, Check& check, const char* what) {
    void* p = nullptr;
    if (!check(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)), what)) return nullptr;
    held_.push_back(p);
    return static_cast<T*>(p);
  }

 private:
  std::vector<void*> held_;
};

// A weight matrix on the device, BF16 (rows, cols).
struct DeviceMatrix {
  uint16_t* data = nullptr;  // BF16 (rows, cols), or the blocks of a GGUF type
  int64_t rows = 0, cols = 0;
  kernels::DType dtype = kernels::DType::kBF16;
};

// Copies `m` as BF16 to dst (m.rows * m.cols elements); F32/F16 are rounded
// once on the host (round to nearest even), a block at a time.
inline void upload_bf16(const Matrix& m, uint16_t* dst, Check& check) {
  const size_t n = static_cast<size_t>(m.rows * m.cols);
  if (m.dtype == kernels::DType::kBF16) {
    check(cudaMemcpy(dst, m.data, n * 2, cudaMemcpyHostToDevice), "weights upload");
    return;
  }
  const size_t block = 1 << 20;
  std::vector<float> f(block);
  std::vector<uint16_t> b(block);
  for (size_t at = 0; at < n && check.ok; at += block) {
    const size_t len = std::min(block, n - at);
    const auto* src = static_cast<const uint8_t*>(m.data) + kernels::dtype_bytes(m.dtype, static_cast<int64_t>(at));
    kernels::convert_to_f32(m.dtype, src, f.data(), len);
    for (size_t i = 0; i < len; ++i) b[i] = kernels::f32_to_bf16(f[i]);
    check(cudaMemcpy(dst + at, b.data(), len * 2, cudaMemcpyHostToDevice), "weights upload");
  }
}

// Matrices with the same column count stacked row-wise into one device
// matrix (q/k/v, gate/up: one GEMM instead of several). *bytes grows by its size.
// With keep_blocks, parts that share a block-quantized type (GGUF) stay in
// their blocks, row blocks one after another (for kernels/cuda/quant.h);
// anything else becomes BF16.
inline DeviceMatrix upload_stacked(const std::vector<const Matrix*>& parts, Allocations& mem, Check& check,
                                   int64_t* bytes, bool keep_blocks = false) {
  DeviceMatrix d{nullptr, 0, parts.front()->cols};
  for (const Matrix* m : parts) d.rows += m->rows;
  bool blocks = keep_blocks && kernels::is_quantized(parts.front()->dtype);
  for (const Matrix* m : parts) blocks = blocks && m->dtype == parts.front()->dtype && m->cols == d.cols;
  if (blocks) {
    d.dtype = parts.front()->dtype;
    const int64_t size = kernels::dtype_bytes(d.dtype, d.rows * d.cols);
    d.data = mem.get<uint16_t>(static_cast<size_t>(size / 2), check, "weights");  // block sizes are even
    int64_t at = 0;
    for (const Matrix* m : parts) {
      if (!d.data || !check.ok) break;
      const int64_t part = kernels::dtype_bytes(m->dtype, m->rows * m->cols);
      check(cudaMemcpy(reinterpret_cast<uint8_t*>(d.data) + at, m->data, static_cast<size_t>(part),
                       cudaMemcpyHostToDevice),
            "weights upload");
      at += part;
    }
    *bytes += size;
    return d;
  }
  d.data = mem.get<uint16_t>(static_cast<size_t>(d.rows * d.cols), check, "weights");
  int64_t row = 0;
  for (const Matrix* m : parts) {
    if (!d.data || !check.ok) break;
    if (m->cols != d.cols) {
      check.fail("stacked weights of different widths");
      break;
    }
    upload_bf16(*m, d.data + row * d.cols, check);
    row += m->rows;
  }
  *bytes += d.rows * d.cols * 2;
  return d;
}

inline DeviceMatrix upload_matrix(const Matrix& m, Allocations& mem, Check& check, int64_t* bytes,
                                  bool keep_blocks = false) {
  return upload_stacked({&m}, mem, check, bytes, keep_blocks);
}

// Random BF16 weights made on the device (benchmarks of real model sizes),
// scaled like an initialised layer (1 / sqrt(cols)) so activations stay
// finite; `*seed` advances. *bytes grows by its size.
inline DeviceMatrix random_matrix(int64_t rows, int64_t cols, uint64_t* seed, Allocations& mem, Check& check,
                                  cudaStream_t stream, int64_t* bytes) {
  DeviceMatrix d{mem.get<uint16_t>(static_cast<size_t>(rows * cols), check, "weights"), rows, cols};
  if (d.data)
    check(kernels::cuda::fill_random_bf16(d.data, rows * cols, (*seed)++, 1.f / std::sqrt(static_cast<float>(cols)),
                                          stream),
          "random weights");
  *bytes += rows * cols * 2;
  return d;
}

// Vectors concatenated (biases of stacked matrices); nullptr for none at all.
inline float* upload_floats(const std::vector<const std::vector<float>*>& parts, Allocations& mem, Check& check) {
  std::vector<float> all;
  for (const auto* p : parts) all.insert(all.end(), p->begin(), p->end());
  if (all.empty()) return nullptr;
  float* d = mem.get<float>(all.size(), check, "weights");
  if (d) check(cudaMemcpy(d, all.data(), all.size() * 4, cudaMemcpyHostToDevice), "weights upload");
  return d;
}

}  // namespace deskpilot::engine::cuda_util
