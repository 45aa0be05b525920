#include "kernels/cuda/rmsnorm.h"

#include "kernels/cuda/common.cuh"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kThreads = 256;

__global__ void rmsnorm_f32_kernel(const float* __restrict__ x, const float* __restrict__ weight,
                                   float* __restrict__ out, int64_t dim, float eps) {
  const float* xr = x + blockIdx.x * dim;  // (dim)
  float* outr = out + blockIdx.x * dim;    // (dim)
  float sum = 0.f;
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) sum += xr[i] * xr[i];
  const float inv_rms = rsqrtf(block_sum(sum) / static_cast<float>(dim) + eps);
  for (int64_t i = threadIdx.x; i < dim; i += blockDim.x) outr[i] = xr[i] * inv_rms * weight[i];
}

}  // namespace

cudaError_t rmsnorm_f32(const float* x, const float* weight, float* out, int64_t rows, int64_t dim,
                        float eps, cudaStream_t stream) {
  if (rows <= 0 || dim <= 0) return cudaErrorInvalidValue;
  if (rows > 0x7fffffff) return cudaErrorInvalidConfiguration;
  rmsnorm_f32_kernel<<<static_cast<unsigned>(rows), kThreads, 0, stream>>>(x, weight, out, dim, eps);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
