// `deskpilot parse` and `deskpilot plan`: model output -> actions.
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

// Registers the subcommands on `app`; they run from the callbacks and set
// *exit_code.
void add_parse_commands(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
