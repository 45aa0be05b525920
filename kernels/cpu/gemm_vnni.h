// Prefill's GEMM in integers, on CPUs with AVX-512 VNNI (Ice Lake, Zen 4;
// where there is AMX too, kernels/cpu/gemm.h picks the AMX tiles), and
// with AVX2 alone for the types whose bytes allow it (below):
// y = x · Wᵀ + b for block-quantized weights, with x quantized as decode
// quantizes it (kernels/cpu/quant_dot.h: 8-bit q with a scale per 32
// values, or per 256 for the K-quants on AVX2-only builds) and the weights'
// own integers. Internal to kernels/cpu.
//
// The arithmetic: each weight is a * u + c, u an unsigned byte and a, c
// FP32 factors of its group of G weights (exact: a and c are products of an
// f16 and a small integer):
//   Q8_0  G = 32  u = q + 128  a = d        c = -128 d
//   Q4_0  G = 32  u = q        a = d        c = -8 d
//   Q4_K  G = 32  u = q        a = d sc_j   c = -dmin m_j
//   Q5_K  G = 32  u = q        a = d sc_j   c = -dmin m_j
//   Q6_K  G = 16  u = q        a = d sc_j   c = -32 d sc_j
// so that a row's product with x is, over groups, d_x (a Σ u q_x + c Σ q_x):
// the same integer sums as decode's quant_dot, summed exactly in int32
// (vpdpbusd: u unsigned, q_x signed), scaled once per group. What the tests
// hold it to is quant_dot's plain kernels, row by row.
//
// The blocking: a task is kVnniBlockRows = 32 weight rows, rewritten once
// per call as u in (k / 4, 32, 4) bytes (two vectors of 16 rows x 4
// consecutive u per 4 columns) and a, c in (k / G, 32); x is quantized once
// per call, rows padded to a multiple of the micro-kernel's (4; 2 on
// AVX2, below). The VNNI micro-kernel keeps 4 rows of
// x x 32 weight rows: 8 int32 group sums and 8 FP32 sums in registers,
// each column step one load per 16 weight rows and one 4-byte broadcast per
// x row.
#pragma once

#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

constexpr int64_t kVnniBlockRows = 32;  // weight rows a task takes

// Whether this build has the VNNI kernel (AVX-512 F/BW/VNNI).
bool has_vnni_gemm();

// y (m, n), row stride ldy = x (m, k) · wᵀ + bias (n, or nullptr), w (n, k)
// of a block type (Q8_0, Q4_0, Q4_K, Q5_K, Q6_K), in the integer arithmetic
// above, with every OpenMP thread. False, with nothing written, where
// has_vnni_gemm() is false, wtype is not such a type or k is not a multiple
// of its block.
bool vnni_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
               float* y, int64_t ldy);

// The same products on AVX2 CPUs: vpmaddubsw and vpmaddwd for vpdpbusd,
// the same int32 sums and the same FP32 steps (the same y, bit for bit),
// for Q4_0, Q4_K, Q5_K and Q6_K (Q8_0's u reaches 255, where vpmaddubsw's
// 16-bit pair sums would saturate: false). The micro-kernel keeps 2 rows
// of x x 32 weight rows (AVX2 has 16 registers), two column steps' 16-bit
// sums added before they widen.
bool has_avx2_int_gemm();
bool avx2_int_gemm(const float* x, int64_t m, int64_t k, const void* w, DType wtype, int64_t n, const float* bias,
                   float* y, int64_t ldy);

}  // namespace deskpilot::kernels
