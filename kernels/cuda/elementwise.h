// Element-wise CUDA kernels mirroring kernels/cpu/elementwise.h, plus the
// dtype conversions the GPU path needs. Device pointers in; each launcher
// returns the launch status (cudaGetLastError) and runs on `stream`.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

#include "kernels/dtype.h"

namespace deskpilot::kernels::cuda {

// out = silu(gate) * up; all (n). out may alias gate.
cudaError_t silu_mul(const float* gate, const float* up, float* out, int64_t n, cudaStream_t stream);
// x = 0.5 x (1 + erf(x / sqrt 2)), in place (n).
cudaError_t gelu_erf(float* x, int64_t n, cudaStream_t stream);
// x = x * sigmoid(1.702 x), in place (n).
cudaError_t quick_gelu(float* x, int64_t n, cudaStream_t stream);
// The fused gate/up projection: gu (rows, 2 * inter) holds gate then up in
// each row; out (rows, inter) = silu(gate) * up.
cudaError_t silu_mul_fused(const float* gu, float* out, int64_t rows, int64_t inter, cudaStream_t stream);
// The same written as BF16 bits (the next projection's input), bit for bit
// silu_mul_fused then f32_to_bf16.
cudaError_t silu_mul_fused_bf16(const float* gu, uint16_t* out, int64_t rows, int64_t inter, cudaStream_t stream);
// x += y (n).
cudaError_t add_inplace(float* x, const float* y, int64_t n, cudaStream_t stream);
// out (count, dim) = table[ids] as FP32; table (rows, dim) in `type`; an id
// outside [0, rows) gives a row of zeros (callers check ids first).
cudaError_t embedding_gather(const void* table, DType type, int64_t rows, int64_t dim, const int32_t* ids,
                             int64_t count, float* out, cudaStream_t stream);
// Appends rows to a cache whose length lives in device memory (so that a
// captured graph appends where the current step is): dst rows
// [*offset, *offset + n) = src (n, row).
cudaError_t copy_rows_at(const float* src, float* dst, int64_t n, int64_t row, const int64_t* offset,
                         cudaStream_t stream);
// n FP32 values to BF16 bits, round to nearest even (NaN stays NaN).
cudaError_t f32_to_bf16(const float* x, uint16_t* out, int64_t n, cudaStream_t stream);
// n values of `type` to FP32.
cudaError_t to_f32(const void* x, DType type, float* out, int64_t n, cudaStream_t stream);

// n BF16 values uniform in [-scale, scale) from a counter-based hash of
// (seed, index): random weights of any size without a file (benchmarks).
cudaError_t fill_random_bf16(uint16_t* out, int64_t n, uint64_t seed, float scale, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
