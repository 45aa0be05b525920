// Shared pieces of the deskpilot command line: option parsing helpers and
// reading model output from a file or standard input.
#pragma once

#include <optional>
#include <string>

#include "agent/policy_factory.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::cli {

// "1920x1080" -> {1920, 1080}; nullopt for anything else.
std::optional<multimodal::Size> parse_size(const std::string& text);

// Whole file (or standard input for "-"); error names the file.
bool read_input(const std::string& path, std::string* out, std::string* error);

// The factory (it owns the model) and one policy from it, for a command.
// nullptr and *error on failure, with the exit code for it: 2 when the
// options do not fit together or the checkpoint does not load, 1 when the
// policy could not be made.
std::unique_ptr<policies::Policy> policy_for_command(const agent::PolicySpec& spec,
                                                     std::unique_ptr<agent::PolicyFactory>* factory, int* exit_code,
                                                     std::string* error);

}  // namespace deskpilot::cli
