// The tensor-dump format of `deskpilot generate --dump-tensors DIR`: every
// named intermediate (engine/tensor_sink.h) as DIR/NAME.bin, or NAME.N.bin
// for its Nth repeat (FP32, little-endian, row-major), and DIR/index.json
// listing {name, shape, file, dtype} in order, rewritten after each tensor so
// it is complete even if generation stops. scripts/golden/ reads it back.
#pragma once

#include <string>

#include "engine/tensor_sink.h"

namespace deskpilot::engine {

// A sink writing into DIR (created); an empty function and *error when the
// folder cannot be made.
TensorSink tensor_dump_sink(const std::string& dir, std::string* error);

}  // namespace deskpilot::engine
