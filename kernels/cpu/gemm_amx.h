// Prefill's GEMM on CPUs with AMX (Intel Sapphire Rapids and later):
// y = x · Wᵀ + b in BF16 tiles, for block-quantized weights whose decode
// already runs on 8-bit activations (kernels/cpu/gemm.h decides when).
// Internal to kernels/cpu.
//
// The arithmetic: x and the dequantized weights are each rounded to BF16
// (nearest even), their products summed in FP32 (TDPBF16PS). A BF16 operand
// keeps 8 significant bits, where decode's 8-bit activations keep 8 bits of
// the largest of 32 values: prefill is never less exact than decode.
//
// The blocking: x is packed once per call into the tiles' pair-interleaved
// layout, panels of 16 rows: (m/16, k/2, 16, 2) BF16, one 1 KB B tile per 32
// columns. A task is a block of kAmxBlockRows weight rows, dequantized once
// into BF16 A tiles, (k/32, 32, 32), each 16-row tile 1 KB in one piece (L2:
// 229 KB at k = 3584, 1.2 MB at 18944). The task runs 256 columns at a time
// across all of x's panels, so that slice's weight tiles (16 KB) stay in
// L1: for each pair of panels, two weight tiles and two x tiles per 32
// columns feed four 16 x 16 FP32 accumulator tiles, loaded from and stored
// to the block's sums (m, 32), transposed, which go to y with the bias
// after the last slice.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

constexpr int64_t kAmxBlockRows = 32;  // weight rows a task takes: two 16-row tiles

// Whether this build has the AMX kernel and the kernel lets this process use
// the tile registers (asked once, arch_prctl ARCH_REQ_XCOMP_PERM).
bool has_amx_gemm();

// y (m, n), row stride ldy = x (m, k) · wᵀ + bias (n, or nullptr), w (n, k)
// of wtype, in the BF16 arithmetic above, with every OpenMP thread; k a
// multiple of 32 and of wtype's block. False, with nothing written, where
// has_amx_gemm() is false or k is not such a multiple.
bool amx_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
              float* y, int64_t ldy);

// The same arithmetic in plain loops (operands rounded to BF16 as the
// kernel rounds them, products summed in double): what the tests hold
// amx_gemm to, on any machine. y (m, n), dense.
void bf16_gemm_reference(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n,
                         const float* bias, float* y);

}  // namespace deskpilot::kernels
