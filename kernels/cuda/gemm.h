// Projections on the GPU through cuBLAS: y (m, n) = x (m, k) · wᵀ + bias,
// with w BF16 as stored in the checkpoint (n, k), x rounded to BF16 on the
// way in (the Tensor Cores take both operands in one type), FP32
// accumulation and an FP32 result. cuBLAS headers stay in gemm.cu.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

class Gemm {
 public:
  // One cuBLAS handle bound to `stream`, with its own workspace (so that a
  // stream capture never makes cuBLAS allocate); nullptr and *error when
  // cuBLAS cannot start.
  static std::unique_ptr<Gemm> create(cudaStream_t stream, std::string* error);
  ~Gemm();
  Gemm(const Gemm&) = delete;
  Gemm& operator=(const Gemm&) = delete;

  // x: (m, k) FP32; w: (n, k) BF16 bits; bias: (n) or null; y: (m, n) FP32;
  // scratch: (m, k) BF16, for x rounded. false and *error on a cuBLAS or launch failure.
  bool linear_bf16(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias, float* y,
                   uint16_t* scratch, std::string* error);
  // The same with x already BF16 (a kernel that wrote it so: no conversion
  // launch); with `accumulate`, y += x wᵀ (+ bias) in cuBLAS's epilogue (a
  // residual connection without its own launch).
  bool linear_from_bf16(const uint16_t* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias,
                        float* y, bool accumulate, std::string* error);

 private:
  Gemm(void* handle, cudaStream_t stream, void* workspace) : handle_(handle), stream_(stream), workspace_(workspace) {}
  void* handle_;  // cublasHandle_t
  cudaStream_t stream_;
  void* workspace_;  // kWorkspaceBytes of device memory
};

// y (m, n) += bias (n) on every row.
cudaError_t add_bias_rows(float* y, const float* bias, int64_t m, int64_t n, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
