// Escaping text for the places it goes: XML and HTML (reports), the POSIX
// shell (commands deskpilot composes), percent-encoding, and bytes from
// outside (UTF-8 checks, printable echoes in error messages).
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

// The offset of the first byte that does not start or continue a valid UTF-8
// sequence (overlong forms, surrogates and code points past U+10FFFF
// included), or std::string_view::npos when all of `text` is valid.
size_t invalid_utf8_at(std::string_view text);

// `text` safe to quote in a message: printable ASCII as it is, any other
// byte as \xNN, cut to max_bytes of input with "..." after.
std::string printable(std::string_view text, size_t max_bytes = 200);

}  // namespace deskpilot::base
