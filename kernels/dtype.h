// Element types of model weights (safetensors BF16/F16/F32) and their exact
// conversions to FP32, the arithmetic type of the CPU backend.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace deskpilot::kernels {

enum class DType { kF32, kF16, kBF16 };

std::string_view dtype_name(DType t);                        // "F32", "F16", "BF16" as safetensors spells them
std::optional<DType> dtype_from_name(std::string_view name);
size_t dtype_size(DType t);                                  // bytes per element

float bf16_to_f32(uint16_t bits);
uint16_t f32_to_bf16(float v);  // round to nearest even; NaN stays NaN
float f16_to_f32(uint16_t bits);

// n elements of `src` in `type` to FP32 `dst`.
void convert_to_f32(DType type, const void* src, float* dst, size_t n);

}  // namespace deskpilot::kernels
