// Files: reading a whole file, scratch folders for applications.
#pragma once

#include <string>

namespace deskpilot::base {

// The file's bytes into *out; false and *error ("PATH: cannot open") when not.
bool read_file(const std::string& path, std::string* out, std::string* error);

// A new empty folder PREFIX-XXXXXX in the temporary directory ($TMPDIR, else
// /tmp), for applications' temporary files: short, since a Unix socket's
// path (Chromium's singleton socket) must stay under 108 bytes. The caller
// removes it. "" and *error when it cannot be made.
std::string make_scratch_dir(const std::string& prefix, std::string* error);

}  // namespace deskpilot::base
