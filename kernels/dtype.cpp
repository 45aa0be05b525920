#include "kernels/dtype.h"

#include "kernels/quant.h"

#include <cmath>
#include <cstring>

namespace deskpilot::kernels {

std::string_view dtype_name(DType t) {
  switch (t) {
    case DType::kF32: return "F32";
    case DType::kF16: return "F16";
    case DType::kBF16: return "BF16";
    case DType::kQ8_0: return "Q8_0";
    case DType::kQ4_0: return "Q4_0";
    case DType::kQ4_K: return "Q4_K";
    case DType::kQ5_K: return "Q5_K";
    case DType::kQ6_K: return "Q6_K";
  }
  return "?";
}

std::optional<DType> dtype_from_name(std::string_view name) {
  if (name == "F32") return DType::kF32;
  if (name == "F16") return DType::kF16;
  if (name == "BF16") return DType::kBF16;
  for (DType t : {DType::kQ8_0, DType::kQ4_0, DType::kQ4_K, DType::kQ5_K, DType::kQ6_K})
    if (name == dtype_name(t)) return t;
  return std::nullopt;
}

bool is_quantized(DType t) { return t != DType::kF32 && t != DType::kF16 && t != DType::kBF16; }

size_t dtype_size(DType t) {
  if (is_quantized(t)) return 0;
  return t == DType::kF32 ? 4 : 2;
}

int64_t dtype_block(DType t) {
  switch (t) {
    case DType::kQ8_0:
    case DType::kQ4_0: return kQK8_0;
    case DType::kQ4_K:
    case DType::kQ5_K:
    case DType::kQ6_K: return kQKK;
    default: return 1;
  }
}

int64_t dtype_block_bytes(DType t) {
  switch (t) {
    case DType::kQ8_0: return sizeof(BlockQ8_0);
    case DType::kQ4_0: return sizeof(BlockQ4_0);
    case DType::kQ4_K: return sizeof(BlockQ4_K);
    case DType::kQ5_K: return sizeof(BlockQ5_K);
    case DType::kQ6_K: return sizeof(BlockQ6_K);
    default: return static_cast<int64_t>(dtype_size(t));
  }
}

float bf16_to_f32(uint16_t bits) {
  const uint32_t u = static_cast<uint32_t>(bits) << 16;
  float f;
  std::memcpy(&f, &u, sizeof f);
  return f;
}

uint16_t f32_to_bf16(float v) {
  uint32_t u;
  std::memcpy(&u, &v, sizeof u);
  if (std::isnan(v)) return static_cast<uint16_t>((u >> 16) | 0x0040);  // quiet NaN
  const uint32_t rounding = 0x7fff + ((u >> 16) & 1);                    // to nearest even
  return static_cast<uint16_t>((u + rounding) >> 16);
}

// One exact conversion for host and device code (kernels/quant.h).
float f16_to_f32(uint16_t h) { return half_bits_to_float(h); }

void convert_to_f32(DType type, const void* src, float* dst, size_t n) {
  if (n == 0) return;  // empty tensors: their pointers may be null
  switch (type) {
    case DType::kF32:
      std::memcpy(dst, src, n * sizeof(float));
      return;
    case DType::kF16: {
      const auto* s = static_cast<const uint16_t*>(src);  // (n)
      for (size_t i = 0; i < n; ++i) dst[i] = f16_to_f32(s[i]);
      return;
    }
    case DType::kBF16: {
      const auto* s = static_cast<const uint16_t*>(src);  // (n)
      for (size_t i = 0; i < n; ++i) dst[i] = bf16_to_f32(s[i]);
      return;
    }
    default:
      dequantize(type, src, dst, static_cast<int64_t>(n));
      return;
  }
}

}  // namespace deskpilot::kernels
