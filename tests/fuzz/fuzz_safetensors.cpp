// libFuzzer target: any bytes as a safetensors file image. It must refuse or
// accept without crashing, and every accepted tensor must lie inside the buffer.
#include <cstdint>
#include <cstdlib>

#include "engine/safetensors.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto parsed = deskpilot::engine::parse_safetensors_buffer(data, size, "fuzz", &error);
  if (!parsed) return 0;
  for (const auto& t : parsed->tensors) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    if (p < data || p + t.bytes > data + size) std::abort();
  }
  return 0;
}
