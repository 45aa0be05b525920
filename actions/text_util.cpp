#include "actions/text_util.h"

#include <cstdint>

namespace deskpilot::actions {
namespace {

bool is_python_space_codepoint(uint32_t cp) {
  return (cp >= 0x09 && cp <= 0x0d) || (cp >= 0x1c && cp <= 0x20) || cp == 0x85 ||
         cp == 0xa0 || cp == 0x1680 || (cp >= 0x2000 && cp <= 0x200a) || cp == 0x2028 ||
         cp == 0x2029 || cp == 0x202f || cp == 0x205f || cp == 0x3000;
}

// Decodes one UTF-8 sequence at the start of s. Returns its length, or 0 for
// anything malformed (which is then never white space).
size_t decode_utf8(std::string_view s, uint32_t* cp) {
  if (s.empty()) return 0;
  const auto b0 = static_cast<unsigned char>(s[0]);
  size_t len = 0;
  uint32_t value = 0;
  if (b0 < 0x80) {
    *cp = b0;
    return 1;
  } else if ((b0 & 0xe0) == 0xc0) {
    len = 2;
    value = b0 & 0x1f;
  } else if ((b0 & 0xf0) == 0xe0) {
    len = 3;
    value = b0 & 0x0f;
  } else if ((b0 & 0xf8) == 0xf0) {
    len = 4;
    value = b0 & 0x07;
  } else {
    return 0;
  }
  if (s.size() < len) return 0;
  for (size_t i = 1; i < len; ++i) {
    const auto b = static_cast<unsigned char>(s[i]);
    if ((b & 0xc0) != 0x80) return 0;
    value = (value << 6) | (b & 0x3f);
  }
  *cp = value;
  return len;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

size_t python_space_length(std::string_view s) {
  if (s.empty()) return 0;
  const auto first = static_cast<unsigned char>(s[0]);
  if (first < 0x80) return is_python_space_codepoint(first) ? 1 : 0;
  uint32_t cp = 0;
  size_t len = decode_utf8(s, &cp);
  return (len > 0 && is_python_space_codepoint(cp)) ? len : 0;
}

size_t python_space_length_back(std::string_view s) {
  if (s.empty()) return 0;
  const auto last = static_cast<unsigned char>(s.back());
  if (last < 0x80) return is_python_space_codepoint(last) ? 1 : 0;
  // A UTF-8 character is at most 4 bytes: try each start from the end.
  for (size_t len = 1; len <= 4 && len <= s.size(); ++len) {
    std::string_view tail = s.substr(s.size() - len);
    uint32_t cp = 0;
    if (decode_utf8(tail, &cp) == len) return is_python_space_codepoint(cp) ? len : 0;
  }
  return 0;
}

std::string_view python_lstrip(std::string_view s) {
  while (size_t n = python_space_length(s)) s.remove_prefix(n);
  return s;
}

std::string_view python_rstrip(std::string_view s) {
  while (size_t n = python_space_length_back(s)) s.remove_suffix(n);
  return s;
}

std::string_view python_strip(std::string_view s) { return python_rstrip(python_lstrip(s)); }

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out.push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out.push_back(static_cast<char>(0xc0 | (cp >> 6)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else if (cp < 0x10000) {
    out.push_back(static_cast<char>(0xe0 | (cp >> 12)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  } else {
    out.push_back(static_cast<char>(0xf0 | (cp >> 18)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3f)));
    out.push_back(static_cast<char>(0x80 | (cp & 0x3f)));
  }
}

std::string decode_python_string(std::string_view body, bool raw) {
  if (raw || body.find('\\') == std::string_view::npos) return std::string(body);
  std::string out;
  out.reserve(body.size());
  for (size_t i = 0; i < body.size(); ++i) {
    const char c = body[i];
    if (c != '\\' || i + 1 == body.size()) {
      out.push_back(c);
      continue;
    }
    const char e = body[i + 1];
    switch (e) {
      case '\\': out.push_back('\\'); ++i; continue;
      case '\'': out.push_back('\''); ++i; continue;
      case '"': out.push_back('"'); ++i; continue;
      case 'a': out.push_back('\a'); ++i; continue;
      case 'b': out.push_back('\b'); ++i; continue;
      case 'f': out.push_back('\f'); ++i; continue;
      case 'n': out.push_back('\n'); ++i; continue;
      case 'r': out.push_back('\r'); ++i; continue;
      case 't': out.push_back('\t'); ++i; continue;
      case 'v': out.push_back('\v'); ++i; continue;
      case '\n': ++i; continue;  // line continuation
      default: break;
    }
    if (e >= '0' && e <= '7') {
      uint32_t value = 0;
      size_t j = i + 1;
      for (; j < body.size() && j < i + 4 && body[j] >= '0' && body[j] <= '7'; ++j) {
        value = value * 8 + static_cast<uint32_t>(body[j] - '0');
      }
      append_utf8(out, value);
      i = j - 1;
      continue;
    }
    const size_t digits = e == 'x' ? 2 : e == 'u' ? 4 : e == 'U' ? 8 : 0;
    if (digits > 0 && i + 2 + digits <= body.size()) {
      uint32_t value = 0;
      bool ok = true;
      for (size_t j = 0; j < digits; ++j) {
        int h = hex_value(body[i + 2 + j]);
        if (h < 0) {
          ok = false;
          break;
        }
        value = value * 16 + static_cast<uint32_t>(h);
      }
      if (ok && value <= 0x10ffff) {
        append_utf8(out, value);
        i += 1 + digits;
        continue;
      }
    }
    // Unknown escape: Python keeps the backslash (with a warning).
    out.push_back('\\');
  }
  return out;
}

std::string encode_python_string(std::string_view text) {
  std::string out;
  out.reserve(text.size() + 8);
  for (char c : text) {
    switch (c) {
      case '\\': out += "\\\\"; break;
      case '\'': out += "\\'"; break;
      case '\n': out += "\\n"; break;
      case '\r': out += "\\r"; break;
      case '\t': out += "\\t"; break;
      default: out.push_back(c);
    }
  }
  return out;
}

}  // namespace deskpilot::actions
