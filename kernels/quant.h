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

#ifdef __CUDACC__
#define DESKPILOT_HD __host__ __device__ inline
#else
#define DESKPILOT_HD inline
#endif

// Sub-block j's (0..7) 6-bit scale and min in a Q4_K / Q5_K block.
DESKPILOT_HD void k4_scale_min(const uint8_t* scales, int j, uint8_t* sc, uint8_t* m) {
  if (j < 4) {
    *sc = scales[j] & 63;
    *m = scales[j + 4] & 63;
  } else {
    *sc = static_cast<uint8_t>((scales[j + 4] & 0xF) | ((scales[j - 4] >> 6) << 4));
    *m = static_cast<uint8_t>((scales[j + 4] >> 4) | ((scales[j] >> 6) << 4));
  }
}

uint16_t f32_to_f16(float v);  // round to nearest even, as numpy's astype(float16)

// An f16's value, exactly (host and device).
DESKPILOT_HD float half_bits_to_float(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000) << 16;
  const uint32_t exponent = (h >> 10) & 0x1f, mantissa = h & 0x3ff;
  float magnitude;
  if (exponent == 0) {
    magnitude = static_cast<float>(mantissa) * (1.0f / 16777216.0f);  // subnormal: mantissa * 2^-24, exact
  } else {
    const uint32_t u = exponent == 0x1f ? 0x7f800000u | (mantissa << 13) : ((exponent + 112) << 23) | (mantissa << 13);
    __builtin_memcpy(&magnitude, &u, 4);
  }
  uint32_t bits;
  __builtin_memcpy(&bits, &magnitude, 4);
  bits |= sign;
  float out;
  __builtin_memcpy(&out, &bits, 4);
  return out;
}

// The 32 weights of group g (weights 32 g .. 32 g + 31) of a row of
// block-quantized weights, as dequantize() computes them; `mul` and `sub`
// are the caller's separately rounded FP32 operations (the device passes
// __fmul_rn / __fsub_rn so that nothing contracts into an FMA).
template <typename Mul, typename Sub>
DESKPILOT_HD void decode_group(DType type, const uint8_t* row, int64_t g, float* w, Mul mul, Sub sub) {
  switch (type) {
    case DType::kQ8_0: {
      const auto* b = reinterpret_cast<const BlockQ8_0*>(row) + g;
      const float d = half_bits_to_float(b->d);
      for (int l = 0; l < 32; ++l) w[l] = mul(static_cast<float>(b->qs[l]), d);
      return;
    }
    case DType::kQ4_0: {
      const auto* b = reinterpret_cast<const BlockQ4_0*>(row) + g;
      const float d = half_bits_to_float(b->d);
      for (int l = 0; l < 16; ++l) {
        w[l] = mul(d, static_cast<float>((b->qs[l] & 0xF) - 8));
        w[l + 16] = mul(d, static_cast<float>((b->qs[l] >> 4) - 8));
      }
      return;
    }
    case DType::kQ4_K:
    case DType::kQ5_K: {
      const int j = static_cast<int>(g % 8);
      const uint8_t *scales, *qs, *qh = nullptr;
      uint16_t dh, dminh;
      if (type == DType::kQ4_K) {
        const auto* b = reinterpret_cast<const BlockQ4_K*>(row) + g / 8;
        dh = b->d, dminh = b->dmin, scales = b->scales, qs = b->qs;
      } else {
        const auto* b = reinterpret_cast<const BlockQ5_K*>(row) + g / 8;
        dh = b->d, dminh = b->dmin, scales = b->scales, qs = b->qs, qh = b->qh;
      }
      uint8_t sc, m;
      k4_scale_min(scales, j, &sc, &m);
      const float d = mul(half_bits_to_float(dh), static_cast<float>(sc));
      const float mn = mul(half_bits_to_float(dminh), static_cast<float>(m));
      const uint8_t* q = qs + 32 * (j / 2);
      for (int l = 0; l < 32; ++l) {
        int v = (j % 2 == 0) ? (q[l] & 0xF) : (q[l] >> 4);
        if (qh) v += ((qh[l] >> j) & 1) << 4;
        w[l] = sub(mul(d, static_cast<float>(v)), mn);
      }
      return;
    }
    case DType::kQ6_K: {
      const auto* b = reinterpret_cast<const BlockQ6_K*>(row) + g / 8;
      const int n = static_cast<int>(g % 8) / 4, t = static_cast<int>(g % 4);
      const float d = half_bits_to_float(b->d);
      const uint8_t* lo = b->ql + 64 * n + 32 * (t % 2);
      const uint8_t* qh = b->qh + 32 * n;
      for (int l = 0; l < 32; ++l) {
        const int q = (((t < 2) ? (lo[l] & 0xF) : (lo[l] >> 4)) | (((qh[l] >> (2 * t)) & 3) << 4)) - 32;
        w[l] = mul(mul(d, static_cast<float>(b->scales[8 * n + 2 * t + l / 16])), static_cast<float>(q));
      }
      return;
    }
    default:
      for (int l = 0; l < 32; ++l) w[l] = 0.0f;
      return;
  }
}

// n weights (a multiple of the type's block) from blocks at `src` to FP32.
void dequantize(DType type, const void* src, float* dst, int64_t n);
// n FP32 values into blocks of `type` at dst (dtype_bytes(type, n) bytes).
void quantize(DType type, const float* src, void* dst, int64_t n);

}  // namespace deskpilot::kernels
