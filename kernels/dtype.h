// Element types of model weights (safetensors BF16/F16/F32; GGUF adds the
// block-quantized types of kernels/quant.h) and their exact conversions to
// FP32, the arithmetic type of the CPU backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace deskpilot::kernels {

enum class DType { kF32, kF16, kBF16, kQ8_0, kQ4_0, kQ4_K, kQ5_K, kQ6_K };

std::string_view dtype_name(DType t);                        // "F32", "F16", "BF16", "Q8_0", "Q4_K", ... as ggml spells them
std::optional<DType> dtype_from_name(std::string_view name);  // any of those
bool is_quantized(DType t);                                   // a block type (kernels/quant.h)
size_t dtype_size(DType t);                                   // bytes per element of F32, F16, BF16; 0 for block types
int64_t dtype_block(DType t);                                 // elements per block: 1, 32 or 256
int64_t dtype_block_bytes(DType t);                           // bytes per block
// Bytes of n elements (n a multiple of dtype_block(t)).
inline int64_t dtype_bytes(DType t, int64_t n) { return n / dtype_block(t) * dtype_block_bytes(t); }

float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float v);  // round to nearest even; NaN stays NaN
float f16_to_f32(uint16_t bits);

// n elements of `src` in `type` to FP32 `dst` (n a multiple of the block).
void convert_to_f32(DType type, const void* src, float* dst, size_t n);

}  // namespace deskpilot::kernels
