// Files: reading a whole file, scratch folders for applications.
#pragma once

#include <string>

namespace deskpilot::base {

// The file's bytes into *out; false and *error ("PATH: cannot open: no such
// file", "...: it is a directory, not a file", "...: Permission denied")
// when it is not a regular file that can be read.
bool read_file(const std::string& path, std::string* out, std::string* error);

// "" when `path` names a regular file this process can read, else why not,
// as read_file says it (for checking command-line inputs up front).
std::string unreadable_file_reason(const std::string& path);

// A new empty folder PREFIX-PID-XXXXXX in the temporary directory ($TMPDIR,
// else /tmp), for applications' temporary files: short, since a Unix
// socket's path (Chromium's singleton socket) must stay under 108 bytes.
// The caller removes it; folders PREFIX-PID-* of a PID that no longer runs
// (a deskpilot that was killed) are removed here first. "" and *error when
// it cannot be made.
std::string make_scratch_dir(const std::string& prefix, std::string* error);

}  // namespace deskpilot::base
