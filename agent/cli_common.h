// Shared pieces of the deskpilot command line: option parsing helpers and
// reading model output from a file or standard input.
#pragma once

#include <optional>
#include <string>

#include "vision/smart_resize.h"

namespace deskpilot::agent {

// "1920x1080" -> {1920, 1080}; nullopt for anything else.
std::optional<vision::Size> parse_size(const std::string& text);

// Whole file (or standard input for "-"); error names the file.
bool read_input(const std::string& path, std::string* out, std::string* error);

}  // namespace deskpilot::agent
