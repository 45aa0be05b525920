// Escaping text for the places it goes: XML and HTML (reports), the POSIX
// shell (commands deskpilot composes), and percent-encoding.
#pragma once

#include <string>
#include <string_view>

namespace deskpilot::base {

// &, <, >, " and ' as entities; control characters XML 1.0 forbids as '?'.
// Good for HTML text and attribute values too.
std::string xml_escape(std::string_view text);

// One word for /bin/sh: 'text', with ' written as '\''.
std::string shell_quote(std::string_view text);

// %XX sequences (encodeURIComponent's output) back to bytes; a malformed
// sequence stays as written.
std::string url_decode(std::string_view text);

}  // namespace deskpilot::base
