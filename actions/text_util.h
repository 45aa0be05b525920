// Small text helpers with Python's semantics, for matching the reference
// parser (ui_tars.action_parser) byte for byte: str.strip() white space and
// string-literal escape decoding.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

namespace deskpilot::actions {

// Length in bytes of the Python-whitespace character (str.isspace()) that
// starts s, or 0 if s does not start with one. Covers ASCII white space,
// \x1c-\x1f, U+0085, U+00A0, U+1680, U+2000-U+200A, U+2028, U+2029, U+202F,
// U+205F and U+3000.
size_t python_space_length(std::string_view s);
// Length of the Python-whitespace character that ends s, or 0.
size_t python_space_length_back(std::string_view s);

std::string_view python_lstrip(std::string_view s);
std::string_view python_rstrip(std::string_view s);
std::string_view python_strip(std::string_view s);

// Decodes the body of a Python string literal (the part between the quotes):
// \\ \' \" \a \b \f \n \r \t \v, octal \ooo, \xhh, \uXXXX and \UXXXXXXXX (as
// UTF-8); any other backslash stays as it is, as Python keeps it. With raw
// set, nothing is decoded (r'...').
std::string decode_python_string(std::string_view body, bool raw = false);

// The inverse used by the formatter: a body that decodes back to text inside
// single quotes (backslash, quote, newline, tab and carriage return escaped).
std::string encode_python_string(std::string_view text);

void append_utf8(std::string& out, uint32_t codepoint);

}  // namespace deskpilot::actions
