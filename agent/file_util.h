// Reading a whole file, for everything in agent/ that does.
#pragma once

#include <string>

namespace deskpilot::agent {

// The file's bytes into *out; false and *error ("PATH: cannot open") when not.
bool read_file(const std::string& path, std::string* out, std::string* error);

}  // namespace deskpilot::agent
