// deskpilot eval: benchmarks of GUI agents.
//   eval grounding --data DIR --format screenspot|screenspot-v2|screenspot-pro
//                  [--images DIR] [--out DIR] [--limit N] [--resume] [policy options]
//   eval steps --data PATH --format androidcontrol|gui-odyssey [--out DIR] [policy options]
//   eval tasks DIR [-j N] [--shard i/N] [--resume] [--out DIR] [policy options]
//   eval merge OUT A B ...  the shards' results folders joined
//   eval compare A B     two grounding results folders side by side
#pragma once

#include <CLI/CLI.hpp>

namespace deskpilot::cli {

void add_eval_command(CLI::App& app, int* exit_code);

}  // namespace deskpilot::cli
