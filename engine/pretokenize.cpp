#include "engine/pretokenize.h"

#include <cstdint>

#include "engine/unicode.h"

namespace deskpilot::engine {

const std::string_view kQwen2SplitPattern =
    "(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\\r\\n\\p{L}\\p{N}]?\\p{L}+|\\p{N}| ?[^\\s\\p{L}\\p{N}]+[\\r\\n]*|\\s*[\\r\\n]+|"
    "\\s+(?!\\S)|\\s+";

namespace {

struct Char {
  char32_t cp;
  uint32_t offset;  // byte offset in the text
  CharClass cls;
};

bool is_newline(char32_t cp) { return cp == '\r' || cp == '\n'; }

// Case-insensitive ASCII letter match as the regex's (?i) does it: Unicode
// simple case folding adds U+017F LATIN SMALL LETTER LONG S to 's'.
bool fold_eq(char32_t cp, char lower) {
  if (cp == static_cast<char32_t>(lower) || cp == static_cast<char32_t>(lower - 'a' + 'A')) return true;
  return lower == 's' && cp == 0x017F;
}

// (?i:'s|'t|'re|'ve|'m|'ll|'d) at i: the match length in chars, or 0.
size_t match_contraction(const std::vector<Char>& c, size_t i) {
  const size_t n = c.size();
  if (c[i].cp != '\'' || i + 1 >= n) return 0;
  const char32_t a = c[i + 1].cp;
  if (fold_eq(a, 's') || fold_eq(a, 't') || fold_eq(a, 'm') || fold_eq(a, 'd')) return 2;
  if (i + 2 < n) {
    const char32_t b = c[i + 2].cp;
    if ((fold_eq(a, 'r') && fold_eq(b, 'e')) || (fold_eq(a, 'v') && fold_eq(b, 'e')) ||
        (fold_eq(a, 'l') && fold_eq(b, 'l')))
      return 3;
  }
  return 0;
}

size_t run_end(const std::vector<Char>& c, size_t i, CharClass cls) {
  while (i < c.size() && c[i].cls == cls) ++i;
  return i;
}

// The end (exclusive, in chars) of the match at i; i < n. Every character
// is covered by one of the alternatives, so a match always exists.
size_t match_at(const std::vector<Char>& c, size_t i) {
  const size_t n = c.size();
  if (size_t len = match_contraction(c, i)) return i + len;

  const CharClass cls = c[i].cls;
  // [^\r\n\p{L}\p{N}]?\p{L}+
  if (cls == CharClass::kLetter) return run_end(c, i, CharClass::kLetter);
  if (cls != CharClass::kNumber && !is_newline(c[i].cp) && i + 1 < n && c[i + 1].cls == CharClass::kLetter)
    return run_end(c, i + 1, CharClass::kLetter);
  // \p{N}
  if (cls == CharClass::kNumber) return i + 1;
  // ' ?[^\s\p{L}\p{N}]+[\r\n]*'
  size_t j = i;
  if (c[j].cp == ' ' && j + 1 < n && c[j + 1].cls == CharClass::kOther) ++j;
  if (c[j].cls == CharClass::kOther) {
    j = run_end(c, j, CharClass::kOther);
    while (j < n && is_newline(c[j].cp)) ++j;
    return j;
  }
  // Whitespace from here on: c[i] is \s.
  const size_t ws_end = run_end(c, i, CharClass::kSpace);
  // \s*[\r\n]+ : \s* backs off from the end of the run to its last newline.
  for (size_t k = ws_end; k > i; --k) {
    if (is_newline(c[k - 1].cp)) return k;
  }
  // \s+(?!\S) : the whole run at the end of the text, else one char less.
  if (ws_end == n) return ws_end;
  if (ws_end - i >= 2) return ws_end - 1;
  // \s+
  return ws_end;
}

}  // namespace

std::vector<std::pair<size_t, size_t>> qwen2_pretokenize(std::string_view text) {
  std::vector<Char> chars;  // (n_chars)
  chars.reserve(text.size());
  for (size_t i = 0; i < text.size();) {
    char32_t cp = 0;
    size_t len = utf8_sequence(text, i, &cp);
    if (len == 0) cp = 0xFFFD, len = 1;  // callers pass valid UTF-8; never loop forever
    chars.push_back({cp, static_cast<uint32_t>(i), char_class(cp)});
    i += len;
  }
  std::vector<std::pair<size_t, size_t>> pieces;
  const auto byte_at = [&](size_t char_index) {
    return char_index < chars.size() ? chars[char_index].offset : text.size();
  };
  for (size_t i = 0; i < chars.size();) {
    const size_t end = match_at(chars, i);
    pieces.emplace_back(byte_at(i), byte_at(end));
    i = end;
  }
  return pieces;
}

}  // namespace deskpilot::engine
