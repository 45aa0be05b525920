// Integer dot products of block-quantized weight rows (kernels/quant.h)
// with activations quantized per 32 values to 8 bits: the fast path of
// linear() for GGUF weights on the CPU (kernels/cpu/gemm.h).
//
// An activation row of k values becomes, per group of 32: a scale d_g
// (FP32, max|x| / 127), 32 int8 q (x / d_g to nearest) and their sum. A
// weight block's integer products with a group are summed exactly in int32
// and scaled once per group (Q4_K/Q5_K: minus dmin*m_j * d_g * sum_g).
// For the K-quants (Q4_K, Q5_K, Q6_K) the scale may instead be shared by each
// 256 values, one per weight super-block (llama.cpp's Q8_K): the AVX2
// kernels then sum a whole super-block in integers, sub-scales included,
// and convert it once. linear() takes that way where AVX2 is the widest ISA
// (7B Q4_K_M decode there went from 5.4-5.6 to 6.3-6.5 tok/s; it costs a
// little accuracy: the tiny Q4_K_M models' int8-path error grows from 0.9%
// to 1.2% of the logit range); AVX-512 VNNI keeps a scale per 32 values,
// its decode bound by memory with them.
//
// Each kernel has a plain scalar version (QuantDotPath::kPlain), the same
// integer sums in plain loops; the SIMD versions (AVX2: vpmaddubsw +
// vpmaddwd, with the sign trick for signed weights; AVX-512 VNNI: vpdpbusd
// on two groups at a time, quant_dot_avx512.h) differ from it only in the
// order of the FP32 additions.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

struct QuantizedActivations {
  const int8_t* q = nullptr;       // (k)
  const float* d = nullptr;        // (k / 32) group scales
  const int32_t* sum = nullptr;    // (k / 32) sums of each group's q
  const int16_t* sum16 = nullptr;  // (k / 16) sums of each 16 q; set only
                                   // by quantize_activations_superblock
};

// x (k), k a multiple of 32 -> q (k), d (k / 32), sum (k / 32).
void quantize_activations(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum);

// The same with one scale per 256 values (max|x| / 127 over them, written to
// each of their eight d), and the sums of each 16 q: x (k), k a multiple of
// 256 -> q (k), d (k / 32), sum (k / 32), sum16 (k / 16).
void quantize_activations_superblock(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum,
                                     int16_t* sum16);

// Whether quant_dot() takes superblock activations for `type` (the
// K-quants; any ISA).
bool takes_superblock_activations(DType type);

// Whether linear() quantizes activations per superblock for `type`: the
// K-quants, on builds whose widest integer kernels are AVX2's. Decode and
// prefill's integer GEMMs (kernels/cpu/gemm_vnni.h) both follow it.
bool linear_quantizes_per_superblock(DType type);

// Whether `type` has an integer dot product here (Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K).
bool has_quant_dot(DType type);

// Which kernel quant_dot() runs: the widest this build has, one ISA's
// (asking for one the build lacks falls back to the next narrower), or the
// plain one.
enum class QuantDotPath { kWidest, kAvx512, kAvx2, kPlain };

// Whether this build has `path`'s own kernels (kWidest and kPlain always).
bool has_quant_dot_path(QuantDotPath path);

// A kernel of quant_dot(): one weight row of `blocks` blocks of its type
// times the activations.
using QuantDotFn = float (*)(const void* row, const QuantizedActivations& a, int64_t blocks);

// The kernel quant_dot() runs for `type` on `path`, given whether the
// activations have superblock sums (sum16): chosen once for many rows.
QuantDotFn quant_dot_kernel(DType type, bool superblock, QuantDotPath path = QuantDotPath::kWidest);

// The dot product of one weight row (k values of `type`) with activations.
// The plain and AVX-512 kernels take either kind of activations; the AVX2
// K-quant kernels need superblock ones (where `a` has no sum16, the plain
// kernel runs instead).
float quant_dot(DType type, const void* row, const QuantizedActivations& a, int64_t k,
                QuantDotPath path = QuantDotPath::kWidest);

// dequantize() (kernels/quant.h) with SIMD unpacking, equal to it bit for
// bit (the same FP32 operations, each rounded once): prefill's way of
// turning weight rows into FP32 for SGEMM.
void dequantize_fast(DType type, const void* src, float* dst, int64_t n);

// Which SIMD path quant_dot takes on this build ("avx512-vnni", "avx2" or
// "scalar").
const char* quant_dot_isa();

}  // namespace deskpilot::kernels
