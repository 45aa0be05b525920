// Linear layers on the CPU: y = x · Wᵀ + b with W stored as the checkpoint
// stores it (F32, BF16 or F16, row-major [n, k], usually straight from the
// memory-mapped safetensors file; or a GGUF block type, kernels/quant.h)
// and FP32 arithmetic.
//
// Few rows of x (decode): each weight row is converted once into an L1
// buffer and dotted with every row of x, so the weights are read once per
// call in their stored width: decode is bound by these bytes.
// Many rows (prefill): block-quantized weights on CPUs with AMX go through
// BF16 tiles (kernels/cpu/gemm_amx.h), else in 8-bit integers with AVX-512
// VNNI or, but for Q8_0, AVX2 (kernels/cpu/gemm_vnni.h); otherwise, on AVX2 builds, weights
// that are not FP32 go through deskpilot's own GEMM, which converts them a
// slice at a time into the buffer its micro-kernel reads
// (kernels/cpu/gemm_fused.h); otherwise
// blocks of weight rows are converted to FP32 and multiplied with OpenBLAS's
// SGEMM (or the plain kernel when OpenBLAS is not built in), each block by
// one thread (plan_sgemm).
// Block-quantized weights, few rows: x is quantized per 32 values to 8 bits
// and each weight row is dotted in integers (kernels/cpu/quant_dot.h), unless
// set_quant_arithmetic says otherwise; many rows: FP32 products as above.
// BF16 weights on CPUs with AVX-512 BF16, any number of rows: vdpbf16ps
// (kernels/cpu/gemm_bf16.h); few rows with x split into two BF16 parts,
// FP32's accuracy at no cost (the weights' bytes bound decode); many rows
// with x rounded to BF16, as transformers, vLLM and llama.cpp multiply a
// BF16 model (twice the speed where arithmetic bounds the time), unless
// set_quant_arithmetic says otherwise.
#pragma once

#include <cstdint>
#include <string>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

// How linear() multiplies block-quantized weights.
enum class QuantArithmetic {
  kInt8,           // the default: few rows of x in 8 bits, SIMD integer dot products; many rows in
                   // BF16 tiles where the CPU has AMX (kernels/cpu/gemm_amx.h), else in the same 8-bit
                   // integers with AVX-512 VNNI (kernels/cpu/gemm_vnni.h), else as kFp32; BF16 weights
                   // in vdpbf16ps, many rows of x rounded to BF16
  kInt8Reference,  // few rows: the same integer sums in plain loops; many rows: as kFp32; BF16 weights in
                   // vdpbf16ps with x split at any m (FP32's accuracy)
  kFp32,           // the weights dequantized to FP32, FP32 products: the reference; BF16 weights,
                   // too, widened to FP32 rather than multiplied in vdpbf16ps (kernels/cpu/gemm_bf16.h)
};
void set_quant_arithmetic(QuantArithmetic a);  // process-wide
QuantArithmetic quant_arithmetic();

// How linear() multiplies many rows (m > 8) of x with weights that are not
// FP32: block types under QuantArithmetic::kInt8 in AMX BF16 tiles
// (kernels/cpu/gemm_amx.h) or in integers with AVX-512 VNNI
// (kernels/cpu/gemm_vnni.h); otherwise converted a slice at a time inside
// deskpilot's own FP32 GEMM (kernels/cpu/gemm_fused.h), or converted by
// blocks into FP32 for OpenBLAS.
enum class PrefillGemm {
  kAuto,   // block types: AMX, else VNNI, where the CPU has them, else AVX2 integers (not Q8_0); else fused on
           // AVX2 builds, OpenBLAS on AVX-512 ones
  kAmx,    // AMX where it may be used, else as kAuto
  kVnni,   // block types in VNNI integers where the build has them (even with AMX), else as kAuto
  kAvx2,   // Q4_0 and K-quants in AVX2 integers (even with VNNI or AMX), else as kAuto
  kBf16,   // BF16 weights in vdpbf16ps where the build has it (the default there too), else as kAuto
  kFused,  // fused where the build has it
  kBlas,   // OpenBLAS (or plain loops without it)
};
void set_prefill_gemm(PrefillGemm g);  // process-wide, for benchmarks

// Rows of x up to which linear() streams the weights once, row by row
// (decode, a few sequences batched); more rows are prefill's GEMMs.
constexpr int64_t kStreamRows = 8;

// x: (m, k); w: (n, k) of `wtype`; bias: (n) or nullptr; y: (m, n), row stride ldy >= n.
void linear(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias, float* y,
            int64_t ldy);
inline void linear(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                   float* y) {
  linear(x, m, k, w, wtype, n, bias, y, n);
}

// How linear() splits a product of many rows (m > 8) among `threads`
// threads: weight blocks of block_rows rows (n / block_rows rounded up, each
// converted to FP32 once per thread that takes it), and x's rows in
// x_chunks chunks (more than one only where n is too narrow for a block per
// thread). OpenBLAS 0.3.21's SGEMM runs at a third of its speed when the
// weight block has 320 rows or fewer (measured on an AVX2 EPYC: 11 against
// 32 GFLOPS a core at 256 x 3584 x 128 and x 512), hence the floor.
struct SgemmPlan {
  int64_t block_rows = 0;
  int64_t x_chunks = 1;
};
constexpr int64_t kSgemmBlockRows = 512;     // the size aimed at
constexpr int64_t kSgemmMinBlockRows = 384;  // never smaller, but for n itself
constexpr int64_t kSgemmMinChunk = 64;       // rows of x a thread takes at least
SgemmPlan plan_sgemm(int64_t m, int64_t n, int threads);

// What linear() runs on this machine, for --version and benchmarks:
// "quantized dot products: avx512-vnni; prefill SGEMM: OpenBLAS, Cooperlake kernels".
std::string cpu_gemm_summary();

// The reference: the same product with double accumulation, one element at a time.
void linear_reference(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                      float* y);

}  // namespace deskpilot::kernels
