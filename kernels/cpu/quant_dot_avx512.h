// The AVX-512 VNNI versions of the integer dot products in quant_dot.h:
// 64 bytes (two groups of 32) per instruction, vpdpbusd for unsigned
// weights, vpmaddubsw + vpmaddwd where the 16-value sub-scales (Q6_K) go
// into the integer sum. Built only where the compiler targets AVX-512 F, BW,
// DQ, VL and VNNI; quant_dot() takes them there and the AVX2 versions
// otherwise. Internal to kernels/cpu.
#pragma once

#include <cstdint>

#include "kernels/cpu/quant_dot.h"
#include "kernels/quant.h"

#if defined(__AVX512F__) && defined(__AVX512BW__) && defined(__AVX512DQ__) && defined(__AVX512VL__) && \
    defined(__AVX512VNNI__)
#define DESKPILOT_QUANT_AVX512 1
#endif

namespace deskpilot::kernels {

// One ISA's integer dot products, one per block type: a weight row of
// `blocks` blocks (BlockQ8_0 ... BlockQ6_K) times the activations. quant_dot() picks a table (plain,
// AVX2, AVX-512) and dispatches on the type in one place.
struct QuantDotKernels {
  QuantDotFn q8_0, q4_0, q4_k, q5_k, q6_k;
};

#ifdef DESKPILOT_QUANT_AVX512
// The AVX-512 VNNI kernels: the same integer sums as the plain ones, FP32
// additions in another order.
extern const QuantDotKernels kQuantDotAvx512;
#endif

}  // namespace deskpilot::kernels
