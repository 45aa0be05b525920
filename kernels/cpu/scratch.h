// Per-thread scratch for the GEMMs (gemm_amx.cpp, gemm_vnni.cpp, gemm_bf16.cpp).
// Internal to kernels/cpu.
#pragma once

#include <cstddef>
#include <cstdint>
#include <vector>

namespace deskpilot::kernels {

// `count` values of scratch in `buffer`, from a 64-byte boundary: a 64-byte
// row (a tile row, a vector) then lies in one cache line. The buffer only
// grows, so a thread's own buffers are allocated once, not per call.
template <typename T>
T* aligned_scratch(std::vector<T>& buffer, int64_t count) {
  constexpr size_t kSlack = 64 / sizeof(T);
  if (buffer.size() < static_cast<size_t>(count) + kSlack) buffer.resize(static_cast<size_t>(count) + kSlack);
  const auto address = reinterpret_cast<uintptr_t>(buffer.data());
  return buffer.data() + (-address & 63) / sizeof(T);
}

}  // namespace deskpilot::kernels
