// Integer dot products of block-quantized weight rows (kernels/quant.h)
// with activations quantized per 32 values to 8 bits: the fast path of
// linear() for GGUF weights on the CPU (kernels/cpu/gemm.h).
//
// An activation row of k values becomes, per group of 32: a scale d_g
// (FP32, max|x| / 127), 32 int8 q (x / d_g to nearest) and their sum. A
// weight block's integer products with a group are summed exactly in int32
// and scaled once per group (Q4_K/Q5_K: minus dmin*m_j * d_g * sum_g).
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
  const int8_t* q = nullptr;     // (k)
  const float* d = nullptr;      // (k / 32) group scales
  const int32_t* sum = nullptr;  // (k / 32) sums of each group's q
};

// x (k), k a multiple of 32 -> q (k), d (k / 32), sum (k / 32).
void quantize_activations(const float* x, int64_t k, int8_t* q, float* d, int32_t* sum);

// Whether `type` has an integer dot product here (Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K).
bool has_quant_dot(DType type);

// Which kernel quant_dot() runs: the widest this build has, one ISA's
// (asking for one the build lacks falls back to the next narrower), or the
// plain one.
enum class QuantDotPath { kWidest, kAvx512, kAvx2, kPlain };

// Whether this build has `path`'s own kernels (kWidest and kPlain always).
bool has_quant_dot_path(QuantDotPath path);

// The dot product of one weight row (k values of `type`) with activations.
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
