// `deskpilot generate` (text generation with the in-process engine) and
// `deskpilot tokenize` (the model's tokenizer, like llama.cpp's tokenize).
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_generate_command(CLI::App& app, int* exit_code);
void add_tokenize_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
