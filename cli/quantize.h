// deskpilot quantize: a model's text weights into a GGUF file in one of
// llama.cpp's types (engine/quantize.h), which llama.cpp and deskpilot read.
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_quantize_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
