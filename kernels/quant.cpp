// The block formats' reference conversions. Compiled without FMA
// contraction (kernels/CMakeLists.txt): gguf-py computes d * sc, then
// (d * sc) * q - dmin * m in separately rounded FP32 steps, and so does this.
#include "kernels/quant.h"

#include <algorithm>
#include <cmath>
#include <cstring>

namespace deskpilot::kernels {

uint16_t f32_to_f16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  const uint32_t sign = (u >> 16) & 0x8000;
  const uint32_t abs = u & 0x7fffffff;
  if (abs > 0x7f800000) return static_cast<uint16_t>(sign | 0x7e00 | ((abs >> 13) & 0x3ff));  // NaN stays NaN
  if (abs >= 0x477ff000) return static_cast<uint16_t>(sign | 0x7c00);  // rounds past 65504: infinity
  if (abs < 0x38800000) {
    // A half subnormal (or zero): the value in units of 2^-24, rounded to
    // nearest even.
    if (abs < 0x33000000) return static_cast<uint16_t>(sign);  // under half of the smallest subnormal
    const uint32_t mantissa = (abs & 0x7fffff) | 0x800000;
    const int shift = 126 - static_cast<int>(abs >> 23);  // 14..24
    const uint32_t q = mantissa >> shift;
    const uint32_t rest = mantissa & ((1u << shift) - 1), half = 1u << (shift - 1);
    const uint32_t r = q + ((rest > half || (rest == half && (q & 1))) ? 1 : 0);
    return static_cast<uint16_t>(sign | r);
  }
  // Normal: rebias the exponent, round the 13 dropped mantissa bits to nearest
  // even.
  const uint32_t rebased = abs - (112u << 23);
  const uint32_t r = (rebased + 0x0fff + ((rebased >> 13) & 1)) >> 13;
  return static_cast<uint16_t>(sign | r);
}

namespace {

inline float h(uint16_t bits) { return f16_to_f32(bits); }

void dequantize_q8_0(const BlockQ8_0* b, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, y += kQK8_0) {
    const float d = h(b[i].d);
    for (int l = 0; l < 32; ++l) y[l] = static_cast<float>(b[i].qs[l]) * d;
  }
}

void dequantize_q4_0(const BlockQ4_0* b, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, y += kQK8_0) {
    const float d = h(b[i].d);
    for (int l = 0; l < 16; ++l) {
      y[l] = d * static_cast<float>((b[i].qs[l] & 0xF) - 8);
      y[l + 16] = d * static_cast<float>((b[i].qs[l] >> 4) - 8);
    }
  }
}

void dequantize_q4_k(const BlockQ4_K* b, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = h(b[i].d), dmin = h(b[i].dmin);
    const uint8_t* q = b[i].qs;
    for (int c = 0; c < 4; ++c, q += 32) {  // 64 weights: sub-blocks 2c (low nibbles) and 2c + 1 (high)
      uint8_t sc, m;
      k4_scale_min(b[i].scales, 2 * c, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k4_scale_min(b[i].scales, 2 * c + 1, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0xF) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
    }
  }
}

void dequantize_q5_k(const BlockQ5_K* b, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = h(b[i].d), dmin = h(b[i].dmin);
    const uint8_t* ql = b[i].qs;
    const uint8_t* qh = b[i].qh;
    for (int c = 0; c < 4; ++c, ql += 32) {
      uint8_t sc, m;
      k4_scale_min(b[i].scales, 2 * c, &sc, &m);
      const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
      k4_scale_min(b[i].scales, 2 * c + 1, &sc, &m);
      const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
      const int u1 = 1 << (2 * c), u2 = 2 << (2 * c);
      for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>((ql[l] & 0xF) + ((qh[l] & u1) ? 16 : 0)) - m1;
      for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>((ql[l] >> 4) + ((qh[l] & u2) ? 16 : 0)) - m2;
    }
  }
}

void dequantize_q6_k(const BlockQ6_K* b, float* y, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i) {
    const float d = h(b[i].d);
    const uint8_t* ql = b[i].ql;
    const uint8_t* qh = b[i].qh;
    const int8_t* sc = b[i].scales;
    for (int n = 0; n < 2; ++n, y += 128, ql += 64, qh += 32, sc += 8) {
      for (int l = 0; l < 32; ++l) {
        const int is = l / 16;
        const int q1 = ((ql[l] & 0xF) | (((qh[l] >> 0) & 3) << 4)) - 32;
        const int q2 = ((ql[l + 32] & 0xF) | (((qh[l] >> 2) & 3) << 4)) - 32;
        const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
        const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
        y[l] = (d * static_cast<float>(sc[is + 0])) * static_cast<float>(q1);
        y[l + 32] = (d * static_cast<float>(sc[is + 2])) * static_cast<float>(q2);
        y[l + 64] = (d * static_cast<float>(sc[is + 4])) * static_cast<float>(q3);
        y[l + 96] = (d * static_cast<float>(sc[is + 6])) * static_cast<float>(q4);
      }
    }
  }
}

// ---- quantization ----

inline int nearest(float x) { return static_cast<int>(std::lround(x)); }

// As gguf-py's Q8_0.quantize_blocks (and ggml's quantize_row_q8_0_ref).
void quantize_q8_0(const float* x, BlockQ8_0* b, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQK8_0) {
    float amax = 0.0f;
    for (int l = 0; l < 32; ++l) amax = std::max(amax, std::fabs(x[l]));
    const float d = amax / 127.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int l = 0; l < 32; ++l) b[i].qs[l] = static_cast<int8_t>(std::roundf(x[l] * id));
  }
}

// As gguf-py's Q4_0.quantize_blocks: the value of largest magnitude maps to -8.
void quantize_q4_0(const float* x, BlockQ4_0* b, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQK8_0) {
    float amax = 0.0f, max = 0.0f;
    for (int l = 0; l < 32; ++l) {
      if (std::fabs(x[l]) > amax) {
        amax = std::fabs(x[l]);
        max = x[l];
      }
    }
    const float d = max / -8.0f;
    const float id = d != 0.0f ? 1.0f / d : 0.0f;
    b[i].d = f32_to_f16(d);
    for (int l = 0; l < 16; ++l) {
      const int q0 = std::min(15, static_cast<int>(x[l] * id + 8.5f));
      const int q1 = std::min(15, static_cast<int>(x[l + 16] * id + 8.5f));
      b[i].qs[l] = static_cast<uint8_t>(q0 | (q1 << 4));
    }
  }
}

// Scale and offset of 32 weights on `levels` + 1 steps: the range from
// min(0, lowest) to the highest, then a few candidate scales around it
// scored by their squared error (a small version of ggml's make_qkx2_quants).
void fit_sub_block(const float* x, int levels, float* scale, float* offset) {
  float lo = 0.0f, hi = x[0];
  for (int l = 0; l < 32; ++l) {
    lo = std::min(lo, x[l]);
    hi = std::max(hi, x[l]);
  }
  if (hi <= lo) {
    *scale = 0.0f;
    *offset = -lo;
    return;
  }
  float best_scale = (hi - lo) / static_cast<float>(levels), best_err = INFINITY;
  for (int step = -4; step <= 4; ++step) {
    const float s = (hi - lo) / (static_cast<float>(levels) + 0.25f * static_cast<float>(step));
    float err = 0.0f;
    for (int l = 0; l < 32; ++l) {
      const int q = std::clamp(nearest((x[l] - lo) / s), 0, levels);
      const float e = lo + s * static_cast<float>(q) - x[l];
      err += e * e;
    }
    if (err < best_err) {
      best_err = err;
      best_scale = s;
    }
  }
  *scale = best_scale;
  *offset = -lo;
}

// Q4_K (levels 15) and Q5_K (levels 31): sub-block scales and offsets
// quantized to 6 bits against the super-block's d and dmin, then the weights
// against those quantized scales.
void quantize_k4_scales(const float* x, int levels, uint16_t* d_out, uint16_t* dmin_out, uint8_t scales[12],
                        uint8_t q[256]) {
  float sub_scale[8], sub_offset[8];
  float max_scale = 0.0f, max_offset = 0.0f;
  for (int j = 0; j < 8; ++j) {
    fit_sub_block(x + 32 * j, levels, &sub_scale[j], &sub_offset[j]);
    max_scale = std::max(max_scale, sub_scale[j]);
    max_offset = std::max(max_offset, sub_offset[j]);
  }
  const float inv_scale = max_scale > 0.0f ? 63.0f / max_scale : 0.0f;
  const float inv_offset = max_offset > 0.0f ? 63.0f / max_offset : 0.0f;
  uint8_t ls[8], lm[8];
  for (int j = 0; j < 8; ++j) {
    ls[j] = static_cast<uint8_t>(std::clamp(nearest(inv_scale * sub_scale[j]), 0, 63));
    lm[j] = static_cast<uint8_t>(std::clamp(nearest(inv_offset * sub_offset[j]), 0, 63));
  }
  *d_out = f32_to_f16(max_scale / 63.0f);
  *dmin_out = f32_to_f16(max_offset / 63.0f);
  std::memset(scales, 0, 12);
  for (int j = 0; j < 8; ++j) {
    if (j < 4) {
      scales[j] = ls[j];
      scales[j + 4] = lm[j];
    } else {
      scales[j + 4] = static_cast<uint8_t>((ls[j] & 0xF) | ((lm[j] & 0xF) << 4));
      scales[j - 4] |= static_cast<uint8_t>((ls[j] >> 4) << 6);
      scales[j] |= static_cast<uint8_t>((lm[j] >> 4) << 6);
    }
  }
  const float d = f16_to_f32(*d_out), dmin = f16_to_f32(*dmin_out);
  for (int j = 0; j < 8; ++j) {
    uint8_t sc, m;
    k4_scale_min(scales, j, &sc, &m);
    const float dj = d * static_cast<float>(sc), mj = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      const int v = dj > 0.0f ? nearest((x[32 * j + l] + mj) / dj) : 0;
      q[32 * j + l] = static_cast<uint8_t>(std::clamp(v, 0, levels));
    }
  }
}

void quantize_q4_k(const float* x, BlockQ4_K* b, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQKK) {
    uint8_t q[256];
    quantize_k4_scales(x, 15, &b[i].d, &b[i].dmin, b[i].scales, q);
    for (int c = 0; c < 4; ++c)
      for (int l = 0; l < 32; ++l)
        b[i].qs[32 * c + l] = static_cast<uint8_t>(q[64 * c + l] | (q[64 * c + 32 + l] << 4));
  }
}

void quantize_q5_k(const float* x, BlockQ5_K* b, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQKK) {
    uint8_t q[256];
    quantize_k4_scales(x, 31, &b[i].d, &b[i].dmin, b[i].scales, q);
    std::memset(b[i].qh, 0, sizeof b[i].qh);
    for (int c = 0; c < 4; ++c) {
      for (int l = 0; l < 32; ++l) {
        const int lo = q[64 * c + l], hi = q[64 * c + 32 + l];
        b[i].qs[32 * c + l] = static_cast<uint8_t>((lo & 0xF) | ((hi & 0xF) << 4));
        b[i].qh[l] |= static_cast<uint8_t>(((lo >> 4) << (2 * c)) | ((hi >> 4) << (2 * c + 1)));
      }
    }
  }
}

// Q6_K: per 16 weights a signed scale putting the largest magnitude at -32,
// the sixteen scales in int8 against d.
void quantize_q6_k(const float* x, BlockQ6_K* b, int64_t blocks) {
  for (int64_t i = 0; i < blocks; ++i, x += kQKK) {
    float sub[16], max_scale = 0.0f, max_abs_scale = 0.0f;
    for (int j = 0; j < 16; ++j) {
      float amax = 0.0f, max = 0.0f;
      for (int l = 0; l < 16; ++l) {
        if (std::fabs(x[16 * j + l]) > amax) {
          amax = std::fabs(x[16 * j + l]);
          max = x[16 * j + l];
        }
      }
      sub[j] = max / -32.0f;
      if (std::fabs(sub[j]) > max_abs_scale) {
        max_abs_scale = std::fabs(sub[j]);
        max_scale = sub[j];
      }
    }
    const float iscale = max_scale != 0.0f ? -128.0f / max_scale : 0.0f;
    b[i].d = f32_to_f16(max_scale != 0.0f ? 1.0f / iscale : 0.0f);
    const float d = f16_to_f32(b[i].d);
    uint8_t q[256];
    for (int j = 0; j < 16; ++j) {
      b[i].scales[j] = static_cast<int8_t>(std::min(127, nearest(iscale * sub[j])));
      const float dj = d * static_cast<float>(b[i].scales[j]);
      for (int l = 0; l < 16; ++l) {
        const int v = dj != 0.0f ? nearest(x[16 * j + l] / dj) : 0;
        q[16 * j + l] = static_cast<uint8_t>(std::clamp(v, -32, 31) + 32);
      }
    }
    for (int n = 0; n < 2; ++n) {
      const uint8_t* qn = q + 128 * n;
      uint8_t* ql = b[i].ql + 64 * n;
      uint8_t* qh = b[i].qh + 32 * n;
      for (int l = 0; l < 32; ++l) {
        const int q1 = qn[l], q2 = qn[l + 32], q3 = qn[l + 64], q4 = qn[l + 96];
        ql[l] = static_cast<uint8_t>((q1 & 0xF) | ((q3 & 0xF) << 4));
        ql[l + 32] = static_cast<uint8_t>((q2 & 0xF) | ((q4 & 0xF) << 4));
        qh[l] = static_cast<uint8_t>((q1 >> 4) | ((q2 >> 4) << 2) | ((q3 >> 4) << 4) | ((q4 >> 4) << 6));
      }
    }
  }
}

}  // namespace

void dequantize(DType type, const void* src, float* dst, int64_t n) {
  const int64_t blocks = n / dtype_block(type);
  switch (type) {
    case DType::kQ8_0:
      return dequantize_q8_0(static_cast<const BlockQ8_0*>(src), dst, blocks);
    case DType::kQ4_0:
      return dequantize_q4_0(static_cast<const BlockQ4_0*>(src), dst, blocks);
    case DType::kQ4_K:
      return dequantize_q4_k(static_cast<const BlockQ4_K*>(src), dst, blocks);
    case DType::kQ5_K:
      return dequantize_q5_k(static_cast<const BlockQ5_K*>(src), dst, blocks);
    case DType::kQ6_K:
      return dequantize_q6_k(static_cast<const BlockQ6_K*>(src), dst, blocks);
    default:
      return convert_to_f32(type, src, dst, static_cast<size_t>(n));
  }
}

void quantize(DType type, const float* src, void* dst, int64_t n) {
  const int64_t blocks = n / dtype_block(type);
  switch (type) {
    case DType::kQ8_0:
      return quantize_q8_0(src, static_cast<BlockQ8_0*>(dst), blocks);
    case DType::kQ4_0:
      return quantize_q4_0(src, static_cast<BlockQ4_0*>(dst), blocks);
    case DType::kQ4_K:
      return quantize_q4_k(src, static_cast<BlockQ4_K*>(dst), blocks);
    case DType::kQ5_K:
      return quantize_q5_k(src, static_cast<BlockQ5_K*>(dst), blocks);
    case DType::kQ6_K:
      return quantize_q6_k(src, static_cast<BlockQ6_K*>(dst), blocks);
    case DType::kF32:
      std::memcpy(dst, src, static_cast<size_t>(n) * sizeof(float));
      return;
    case DType::kF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_f16(src[i]);
      return;
    case DType::kBF16:
      for (int64_t i = 0; i < n; ++i) static_cast<uint16_t*>(dst)[i] = f32_to_bf16(src[i]);
      return;
  }
}

}  // namespace deskpilot::kernels
