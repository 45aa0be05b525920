#include "kernels/cuda/gemm.h"

#include <cublas_v2.h>

#include "kernels/cuda/common.cuh"
#include "kernels/cuda/elementwise.h"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;
constexpr size_t kWorkspaceBytes = size_t{32} << 20;  // what NVIDIA suggests for Hopper

__global__ void bias_kernel(float* y, const float* bias, int64_t m, int64_t n) {
  const int64_t total = m * n;
  for (int64_t e = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; e < total;
       e += static_cast<int64_t>(gridDim.x) * blockDim.x)
    y[e] += bias[e % n];
}

std::string status_text(cublasStatus_t s) { return std::string("cuBLAS: ") + cublasGetStatusString(s); }

}  // namespace

cudaError_t add_bias_rows(float* y, const float* bias, int64_t m, int64_t n, cudaStream_t stream) {
  if (m <= 0 || n <= 0) return cudaSuccess;
  bias_kernel<<<grid_for(m * n, kThreads), kThreads, 0, stream>>>(y, bias, m, n);
  return cudaGetLastError();
}

std::unique_ptr<Gemm> Gemm::create(cudaStream_t stream, std::string* error) {
  cublasHandle_t handle = nullptr;
  cublasStatus_t s = cublasCreate(&handle);
  if (s != CUBLAS_STATUS_SUCCESS) {
    *error = status_text(s);
    return nullptr;
  }
  void* workspace = nullptr;
  const cudaError_t c = cudaMalloc(&workspace, kWorkspaceBytes);
  if (c != cudaSuccess) {
    cublasDestroy(handle);
    *error = std::string("cuBLAS workspace: ") + cudaGetErrorString(c);
    return nullptr;
  }
  s = cublasSetStream(handle, stream);
  if (s == CUBLAS_STATUS_SUCCESS) s = cublasSetWorkspace(handle, workspace, kWorkspaceBytes);
  if (s != CUBLAS_STATUS_SUCCESS) {
    cublasDestroy(handle);
    cudaFree(workspace);
    *error = status_text(s);
    return nullptr;
  }
  return std::unique_ptr<Gemm>(new Gemm(handle, stream, workspace));
}

Gemm::~Gemm() {
  cublasDestroy(static_cast<cublasHandle_t>(handle_));
  cudaFree(workspace_);
}

bool Gemm::linear_bf16(const float* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias, float* y,
                       uint16_t* scratch, std::string* error) {
  if (m <= 0 || k <= 0 || n <= 0 || m > 0x7fffffff || k > 0x7fffffff || n > 0x7fffffff) {
    *error = "linear_bf16: bad shape";
    return false;
  }
  const cudaError_t c = f32_to_bf16(x, scratch, m * k, stream_);
  if (c != cudaSuccess) {
    *error = std::string("linear_bf16: ") + cudaGetErrorString(c);
    return false;
  }
  return linear_from_bf16(scratch, m, k, w, n, bias, y, false, error);
}

bool Gemm::linear_from_bf16(const uint16_t* x, int64_t m, int64_t k, const uint16_t* w, int64_t n, const float* bias,
                            float* y, bool accumulate, std::string* error) {
  if (m <= 0 || k <= 0 || n <= 0 || m > 0x7fffffff || k > 0x7fffffff || n > 0x7fffffff) {
    *error = "linear_bf16: bad shape";
    return false;
  }
  // Column-major view: y as (n, m) = (wᵀ as (n, k)) · (x as (k, m)) + beta y.
  const float alpha = 1.f, beta = accumulate ? 1.f : 0.f;
  const cublasStatus_t s = cublasGemmEx(static_cast<cublasHandle_t>(handle_), CUBLAS_OP_T, CUBLAS_OP_N,
                                        static_cast<int>(n), static_cast<int>(m), static_cast<int>(k), &alpha, w,
                                        CUDA_R_16BF, static_cast<int>(k), x, CUDA_R_16BF, static_cast<int>(k), &beta,
                                        y, CUDA_R_32F, static_cast<int>(n), CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT);
  if (s != CUBLAS_STATUS_SUCCESS) {
    *error = status_text(s);
    return false;
  }
  if (bias) {
    const cudaError_t c = add_bias_rows(y, bias, m, n, stream_);
    if (c != cudaSuccess) {
      *error = std::string("linear_bf16 bias: ") + cudaGetErrorString(c);
      return false;
    }
  }
  return true;
}

}  // namespace deskpilot::kernels::cuda
