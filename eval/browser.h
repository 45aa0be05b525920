// The Chromium command line that evaluation runs start pages with, in one
// place for eval tasks ("open" of an .html file) and eval miniwob: no
// sandbox (root in containers), no first-run, sync, extensions or GPU, a
// window at the top left of the given size, and its own profile folder.
#pragma once

#include <string>

namespace deskpilot::eval {

// `browser` (a program name or path) and its flags; `profile` is already a
// shell word (quoted, or "$TMPDIR/profile" in double quotes). Callers append
// their own flags and the page.
std::string chromium_command(const std::string& browser, int width, int height, const std::string& profile);

}  // namespace deskpilot::eval
