#include "kernels/cuda/common.cuh"
#include "kernels/cuda/quant.h"
#include "kernels/quant.h"

namespace deskpilot::kernels::cuda {
namespace {

constexpr int kWarpsPerBlock = 4;

struct MulRn {
  __device__ float operator()(float a, float b) const { return __fmul_rn(a, b); }
};
struct SubRn {
  __device__ float operator()(float a, float b) const { return __fsub_rn(a, b); }
};

__device__ __forceinline__ float bf16_value(uint16_t bits) {
  return __uint_as_float(static_cast<uint32_t>(bits) << 16);
}

// One warp per output row: lane l takes groups l, l + 32, ...; each group's
// 32 weights against every activation row, FMAs in weight order; then the
// lanes' sums by warp_sum.
template <int kRows>
__global__ void gemv_kernel(DType type, const uint8_t* __restrict__ w, int64_t row_bytes, int64_t rows, int64_t k,
                            const uint16_t* __restrict__ x, float* __restrict__ y, bool accumulate) {
  const int64_t row = static_cast<int64_t>(blockIdx.x) * kWarpsPerBlock + threadIdx.x / kWarp;
  const int lane = threadIdx.x % kWarp;
  if (row >= rows) return;
  const uint8_t* wr = w + row * row_bytes;
  float acc[kRows];
  for (int i = 0; i < kRows; ++i) acc[i] = 0.f;
  float wg[32];
  for (int64_t g = lane; g < k / 32; g += kWarp) {
    decode_group(type, wr, g, wg, MulRn{}, SubRn{});
    for (int i = 0; i < kRows; ++i) {
      const uint16_t* xg = x + i * k + 32 * g;
      for (int l = 0; l < 32; ++l) acc[i] = fmaf(wg[l], bf16_value(xg[l]), acc[i]);
    }
  }
  for (int i = 0; i < kRows; ++i) {
    const float v = warp_sum(acc[i]);
    if (lane == 0) y[i * rows + row] = accumulate ? y[i * rows + row] + v : v;
  }
}

template <int kRows>
cudaError_t launch_gemv(DType type, const void* w, int64_t rows, int64_t k, const uint16_t* x, float* y,
                        bool accumulate, cudaStream_t stream) {
  const int64_t blocks = (rows + kWarpsPerBlock - 1) / kWarpsPerBlock;
  if (blocks > 0x7fffffff) return cudaErrorInvalidConfiguration;
  gemv_kernel<kRows><<<static_cast<unsigned>(blocks), kWarpsPerBlock * kWarp, 0, stream>>>(
      type, static_cast<const uint8_t*>(w), dtype_bytes(type, k), rows, k, x, y, accumulate);
  return cudaGetLastError();
}

// One thread per 32-weight group.
__global__ void dequantize_kernel(DType type, const uint8_t* __restrict__ w, int64_t row_bytes, int64_t rows, int64_t k,
                                  uint16_t* __restrict__ out) {
  const int64_t groups = rows * (k / 32);
  for (int64_t i = blockIdx.x * static_cast<int64_t>(blockDim.x) + threadIdx.x; i < groups;
       i += static_cast<int64_t>(gridDim.x) * blockDim.x) {
    const int64_t row = i / (k / 32), g = i % (k / 32);
    float wg[32];
    decode_group(type, w + row * row_bytes, g, wg, MulRn{}, SubRn{});
    uint16_t* o = out + row * k + 32 * g;
    for (int l = 0; l < 32; ++l) o[l] = bf16_bits(wg[l]);
  }
}

}  // namespace

cudaError_t quant_gemv(DType type, const void* w, int64_t rows, int64_t k, const uint16_t* x, int64_t n, float* y,
                       bool accumulate, cudaStream_t stream) {
  if (!is_quantized(type) || rows <= 0 || k <= 0 || k % 32 != 0 || n <= 0 || n > kQuantGemvRows)
    return cudaErrorInvalidValue;
  switch (n) {
    case 1:
      return launch_gemv<1>(type, w, rows, k, x, y, accumulate, stream);
    case 2:
      return launch_gemv<2>(type, w, rows, k, x, y, accumulate, stream);
    case 3:
    case 4: {
      // Rows 0..n-1 of a 4-row launch would read past x: split instead.
      cudaError_t e = launch_gemv<2>(type, w, rows, k, x, y, accumulate, stream);
      if (e == cudaSuccess) {
        e = n == 4 ? launch_gemv<2>(type, w, rows, k, x + 2 * k, y + 2 * rows, accumulate, stream)
                   : launch_gemv<1>(type, w, rows, k, x + 2 * k, y + 2 * rows, accumulate, stream);
      }
      return e;
    }
    default: {
      cudaError_t e = launch_gemv<4>(type, w, rows, k, x, y, accumulate, stream);
      for (int64_t i = 4; i < n && e == cudaSuccess; ++i)
        e = launch_gemv<1>(type, w, rows, k, x + i * k, y + i * rows, accumulate, stream);
      return e;
    }
  }
}

cudaError_t dequantize_to_bf16(DType type, const void* w, int64_t rows, int64_t k, uint16_t* out, cudaStream_t stream) {
  if (!is_quantized(type) || rows <= 0 || k <= 0 || k % 32 != 0) return cudaErrorInvalidValue;
  const int threads = 256;
  dequantize_kernel<<<grid_for(rows * (k / 32), threads), threads, 0, stream>>>(type, static_cast<const uint8_t*>(w),
                                                                                dtype_bytes(type, k), rows, k, out);
  return cudaGetLastError();
}

}  // namespace deskpilot::kernels::cuda
