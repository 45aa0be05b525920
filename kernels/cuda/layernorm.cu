#include "kernels/cuda/layernorm.h"

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void layernorm_kernel(const float* __restrict__ x, const float* __restrict__ weight,
                                 const float* __restrict__ bias, float* __restrict__ out, int64_t dim, float eps) {
  const float* xr = x + blockIdx.x * dim;  // (dim)
  float* o = out + blockIdx.x * dim;       // (dim)
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i];
  const float mean = block_sum(sum) / static_cast<float>(dim);
  float var = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) var += (xr[i] - mean) * (xr[i] - mean);
  const float inv = rsqrtf(block_sum(var) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) o[i] = (xr[i] - mean) * inv * weight[i] + bias[i];
}

}  // namespace

cudaError_t layernorm_f32(const float* x, const float* weight, const float* bias, float* out, int64_t rows,
                          int64_t dim, float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  layernorm_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, weight, bias, out, dim, eps);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
