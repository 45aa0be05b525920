// deskpilot serve: the OpenAI-compatible server (server/) for one model.
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_serve_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
