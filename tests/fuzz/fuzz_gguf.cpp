// libFuzzer target: any bytes as a GGUF file image. It must refuse or accept
// without crashing; every accepted tensor lies inside the buffer, and the
// first row of each tensor of a type deskpilot runs dequantizes (any bits).
#include <cstdint>
#include <cstdlib>
#include <vector>

#include "engine/gguf.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string error;
  auto parsed = deskpilot::engine::parse_gguf(data, size, "fuzz", &error);
  if (!parsed) return 0;
  for (const auto& t : parsed->tensors) {
    const auto* p = static_cast<const uint8_t*>(t.data);
    if (p < data || p + t.bytes > data + size) std::abort();
    if (!t.dtype || t.dims[0] > 4096) continue;
    std::vector<float> row(static_cast<size_t>(t.dims[0]));
    deskpilot::kernels::convert_to_f32(*t.dtype, t.data, row.data(), row.size());
  }
  return 0;
}
