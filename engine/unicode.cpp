#include "engine/unicode.h"

#include <utf8proc.h>

#include <vector>

namespace deskpilot::engine {

size_t utf8_sequence(std::string_view s, size_t i, char32_t* cp) {
  const size_t n = s.size();
  const auto b = [&](size_t k) { return static_cast<uint8_t>(s[k]); };
  const uint8_t c0 = b(i);
  if (c0 < 0x80) {
    *cp = c0;
    return 1;
  }
  size_t len = 0;
  char32_t v = 0;
  uint8_t lo = 0x80, hi = 0xBF;  // allowed range of the second byte
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    len = 2, v = c0 & 0x1F;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    len = 3, v = c0 & 0x0F;
    if (c0 == 0xE0) lo = 0xA0;        // overlong
    if (c0 == 0xED) hi = 0x9F;        // surrogates
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    len = 4, v = c0 & 0x07;
    if (c0 == 0xF0) lo = 0x90;        // overlong
    if (c0 == 0xF4) hi = 0x8F;        // > U+10FFFF
  } else {
    return 0;
  }
  if (i + len > n) return 0;
  for (size_t k = 1; k < len; ++k) {
    const uint8_t c = b(i + k);
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (c < l || c > h) return 0;
    v = (v << 6) | (c & 0x3F);
  }
  *cp = v;
  return len;
}

namespace {

// Length of the maximal subpart at s[i]: the longest prefix of a valid
// sequence (at least 1 byte), which is what one U+FFFD replaces.
size_t maximal_subpart(std::string_view s, size_t i) {
  const uint8_t c0 = static_cast<uint8_t>(s[i]);
  size_t len = 0;
  uint8_t lo = 0x80, hi = 0xBF;
  if (c0 >= 0xC2 && c0 <= 0xDF) {
    len = 2;
  } else if (c0 >= 0xE0 && c0 <= 0xEF) {
    len = 3;
    if (c0 == 0xE0) lo = 0xA0;
    if (c0 == 0xED) hi = 0x9F;
  } else if (c0 >= 0xF0 && c0 <= 0xF4) {
    len = 4;
    if (c0 == 0xF0) lo = 0x90;
    if (c0 == 0xF4) hi = 0x8F;
  } else {
    return 1;
  }
  size_t k = 1;
  for (; k < len && i + k < s.size(); ++k) {
    const uint8_t c = static_cast<uint8_t>(s[i + k]);
    const uint8_t l = k == 1 ? lo : 0x80, h = k == 1 ? hi : 0xBF;
    if (c < l || c > h) break;
  }
  return k;
}

}  // namespace

std::string utf8_lossy(std::string_view bytes) {
  std::string out;
  out.reserve(bytes.size());
  size_t i = 0;
  while (i < bytes.size()) {
    char32_t cp = 0;
    const size_t len = utf8_sequence(bytes, i, &cp);
    if (len > 0) {
      out.append(bytes.substr(i, len));
      i += len;
    } else {
      out.append("\xEF\xBF\xBD");
      i += maximal_subpart(bytes, i);
    }
  }
  return out;
}

size_t utf8_emittable_prefix(std::string_view bytes) {
  // Only the last three bytes can belong to an unfinished character.
  const size_t n = bytes.size();
  const size_t from = n > 3 ? n - 3 : 0;
  for (size_t i = from; i < n; ++i) {
    const uint8_t c = static_cast<uint8_t>(bytes[i]);
    if (c < 0xC2 || c > 0xF4) continue;  // not a lead byte
    const size_t subpart = maximal_subpart(bytes, i);
    const size_t full = c <= 0xDF ? 2 : c <= 0xEF ? 3 : 4;
    if (i + subpart == n && subpart < full) return i;  // valid so far, cut by the end
  }
  return n;
}

std::string nfc(std::string_view utf8) {
  bool ascii = true;
  for (char c : utf8) {
    if (static_cast<uint8_t>(c) >= 0x80) {
      ascii = false;
      break;
    }
  }
  if (ascii) return std::string(utf8);  // ASCII is always NFC
  // Decompose into a code-point buffer (grown when utf8proc asks for more),
  // then compose and re-encode in place: utf8proc_map's steps, without its
  // size-query pass over a null buffer.
  const auto options = static_cast<utf8proc_option_t>(UTF8PROC_STABLE | UTF8PROC_COMPOSE);
  const auto* src = reinterpret_cast<const utf8proc_uint8_t*>(utf8.data());
  const auto len = static_cast<utf8proc_ssize_t>(utf8.size());
  std::vector<utf8proc_int32_t> buffer(utf8.size() + 16);  // (code points) decomposition, then UTF-8 bytes
  utf8proc_ssize_t n = utf8proc_decompose(src, len, buffer.data(), static_cast<utf8proc_ssize_t>(buffer.size()), options);
  if (n > static_cast<utf8proc_ssize_t>(buffer.size())) {
    buffer.resize(static_cast<size_t>(n) + 16);
    n = utf8proc_decompose(src, len, buffer.data(), static_cast<utf8proc_ssize_t>(buffer.size()), options);
  }
  if (n < 0) return std::string(utf8);  // invalid input: callers pass utf8_lossy output
  const utf8proc_ssize_t bytes = utf8proc_reencode(buffer.data(), n, options);
  if (bytes < 0) return std::string(utf8);
  return std::string(reinterpret_cast<const char*>(buffer.data()), static_cast<size_t>(bytes));
}

CharClass char_class(char32_t cp) {
  if (cp < 0x80) {
    if ((cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z')) return CharClass::kLetter;
    if (cp >= '0' && cp <= '9') return CharClass::kNumber;
    if (cp == ' ' || (cp >= 0x09 && cp <= 0x0D)) return CharClass::kSpace;
    return CharClass::kOther;
  }
  if (cp == 0x85) return CharClass::kSpace;
  switch (utf8proc_category(static_cast<utf8proc_int32_t>(cp))) {
    case UTF8PROC_CATEGORY_LU:
    case UTF8PROC_CATEGORY_LL:
    case UTF8PROC_CATEGORY_LT:
    case UTF8PROC_CATEGORY_LM:
    case UTF8PROC_CATEGORY_LO:
      return CharClass::kLetter;
    case UTF8PROC_CATEGORY_ND:
    case UTF8PROC_CATEGORY_NL:
    case UTF8PROC_CATEGORY_NO:
      return CharClass::kNumber;
    case UTF8PROC_CATEGORY_ZS:
    case UTF8PROC_CATEGORY_ZL:
    case UTF8PROC_CATEGORY_ZP:
      return CharClass::kSpace;
    default:
      return CharClass::kOther;
  }
}

}  // namespace deskpilot::engine
