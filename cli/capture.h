// `deskpilot capture`: one screenshot of a display, a monitor or a region.
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_capture_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
