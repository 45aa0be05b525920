// `deskpilot scenario run FILE... [-j N] [--junit out.xml] [--out DIR]`.
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_scenario_command(CLI::App& app, int* exit_code);
// `deskpilot report TRAJECTORY_DIR [--out report.html]`.
void add_report_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
