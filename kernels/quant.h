// Block-quantized weight formats, as GGUF files (ggml) store them, and their
// plain reference conversions: dequantize to FP32 (equal, bit for bit, to
// gguf-py's gguf.quants.dequantize, tests/kernels/test_quant.cpp) and
// quantize from FP32 (Q8_0 and Q4_0 bit for bit as gguf-py; the K-quants by
// a simpler search than llama.cpp's, into the same layout, which llama.cpp
// reads).
//
// A row of k weights is k / block_elements blocks, one after the other:
//   Q8_0  32 weights, 34 bytes: d (f16), q[32] int8                 w = d * q
//   Q4_0  32 weights, 18 bytes: d (f16), 16 bytes of 4-bit q        w = d * (q
//   - 8) Q4_K  256 weights, 144 bytes: d, dmin (f16), 12 bytes of eight
//         6-bit scale/min pairs, 128 bytes of 4-bit q               w = d*sc_j
//         * q - dmin*m_j
//   Q5_K  256 weights, 176 bytes: as Q4_K plus 32 bytes of fifth bits
//   Q6_K  256 weights, 210 bytes: 128 bytes low 4 bits, 64 bytes high 2 bits,
//         sixteen int8 scales (one per 16 weights), d (f16)       w = d*sc_j *
//         (q - 32)
#pragma once

#include <cstddef>
#include <cstdint>

#include "kernels/dtype.h"

namespace deskpilot::kernels {

constexpr int64_t kQK8_0 = 32;  // weights per Q8_0 / Q4_0 block
constexpr int64_t kQKK = 256;   // weights per K-quant super-block

struct BlockQ8_0 {
  uint16_t d;  // f16 scale
  int8_t qs[32];
};
struct BlockQ4_0 {
  uint16_t d;
  uint8_t qs[16];  // weight l in the low nibble of qs[l], weight l + 16 in the
                   // high nibble
};
struct BlockQ4_K {
  uint16_t d, dmin;
  uint8_t scales[12];  // eight 6-bit scales and mins (get_scale_min_k4)
  uint8_t qs[128];     // per 64 weights: 32 bytes, low nibbles the first 32, high
                       // the next 32
};
struct BlockQ5_K {
  uint16_t d, dmin;
  uint8_t scales[12];
  uint8_t qh[32];  // bit j of qh[l]: the fifth bit of weight 32 j + l
  uint8_t qs[128];
};
struct BlockQ6_K {
  uint8_t ql[128];
  uint8_t qh[64];
  int8_t scales[16];
  uint16_t d;
};
static_assert(sizeof(BlockQ8_0) == 34 && sizeof(BlockQ4_0) == 18 && sizeof(BlockQ4_K) == 144 &&
              sizeof(BlockQ5_K) == 176 && sizeof(BlockQ6_K) == 210);

// Sub-block j's (0..7) 6-bit scale and min in a Q4_K / Q5_K block.
inline void k4_scale_min(const uint8_t *scales, int j, uint8_t *sc, uint8_t *m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

uint16_t f32_to_f16(float v);  // round to nearest even, as numpy's astype(float16)

// n weights (a multiple of the type's block) from blocks at `src` to FP32.
void dequantize(DType type, const void *src, float *dst, int64_t n);
// n FP32 values into blocks of `type` at dst (dtype_bytes(type, n) bytes).
void quantize(DType type, const float *src, void *dst, int64_t n);

}  // namespace deskpilot::kernels
