// Prefill's GEMM on AVX2 machines: y = x · Wᵀ + b for W that is not FP32
// in memory (BF16, F16 or a GGUF block type), with the weights converted to
// FP32 a slice at a time straight into the cache-resident buffer the
// micro-kernel reads, instead of whole rows into memory for OpenBLAS to copy
// again (kernels/cpu/gemm.h). Internal to kernels/cpu.
//
// The blocking: x is packed once per call into panels of 16 rows, k-major:
// (m/16, k, 16). A task is a chunk of kFusedChunkRows rows of x and a block
// of kFusedBlockRows weight rows, taken chunk by chunk (the threads share a
// chunk, 3.6 MB at k = 3584, in L3). For each slice of kFusedDepth columns
// the block's rows are converted into (kFusedBlockRows, kFusedDepth) FP32
// (48 KB, L2), and for each of the chunk's panels the 16 x 6 micro-kernel
// runs over the block's row tiles (the panel's slice, 16 KB, stays in L1):
// 12 accumulators, two loads of x and six broadcasts of weights per 12
// FMAs. The sums stay transposed, (kFusedBlockRows, kFusedChunkRows), until
// the last slice, then go to y with the bias.
// FP32 arithmetic throughout; the sums differ from the reference only in
// the order of additions.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

constexpr int64_t kFusedBlockRows = 48;  // weight rows a thread takes at a time (8 tiles of 6)
constexpr int64_t kFusedDepth = 256;     // columns converted at a time (one K-quant super-block)
constexpr int64_t kFusedChunkRows = 256;  // rows of x a task takes (a multiple of the 16-row panel)

// Columns [k0, k0 + len) of weight row `row` of w (rows of k values of t)
// as FP32, exactly (the block types by dequantize_fast; k0 and len then
// multiples of the block): how both prefill paths and decode's plain
// streaming loop read weights that are not FP32.
void convert_weight_slice(const void* w, DType t, int64_t row, int64_t k, int64_t k0, int64_t len, float* out);

// Whether this build has the fused kernel (AVX2 and FMA).
bool has_fused_gemm();

// y (m, n), row stride ldy = x (m, k) · wᵀ + bias (n, or nullptr), w (n, k)
// of wtype, with every OpenMP thread. A block type's k is a multiple of its
// block. False, with nothing written, where the build has no fused kernel.
bool fused_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                float* y, int64_t ldy);

}  // namespace deskpilot::kernels
