// deskpilot run: one instruction carried out by the agent loop on a display.
#pragma once

#include <CLI/CLI.hpp>

#include "agent/policy_factory.h"

namespace deskpilot::cli {

void add_run_command(CLI::App& app, int* exit_code);
// --policy, --model, --endpoint, --model-name, --api-key, --prompt-style, ...
void add_policy_options(CLI::App* cmd, agent::PolicySpec* spec);

}  // namespace deskpilot::cli
