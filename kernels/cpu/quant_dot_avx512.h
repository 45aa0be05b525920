// The AVX-512 VNNI versions of the integer dot products in quant_dot.h:
// 64 bytes (two groups of 32) per instruction, vpdpbusd for unsigned
// weights, vpmaddubsw + vpmaddwd where the 16-value sub-scales (Q6_K) go
// into the integer sum. Built only where the compiler targets AVX-512 F, BW,
// DQ, VL and VNNI; quant_dot() takes them there and the AVX2 versions
// otherwise. Internal to kernels/cpu.
#pragma once

#include <cstdint>

#include "kernels/cpu/quant_dot.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__)
#define DESKPILOT_QUANT_AVX512 1
#endif

namespace deskpilot::kernels {

#ifdef DESKPILOT_QUANT_AVX512
// One weight row of `blocks` blocks of `type` (Q8_0, Q4_0, Q4_K, Q5_K,
// Q6_K) times the activations: the same integer sums as the plain version,
// FP32 additions in another order.
float quant_dot_avx512(DType type, const void* row, const QuantizedActivations& a, int64_t blocks);
#endif

}  // namespace deskpilot::kernels
