// UTF-8 and the Unicode properties the tokenizer needs, from utf8proc
// (third_party/utf8proc, Unicode 15): decoding, lossy repair the way Rust's
// String::from_utf8_lossy does it (one U+FFFD per maximal invalid subpart),
// NFC, and the general-category classes behind the Qwen2 split regex.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

namespace deskpilot::engine {

// Length of the valid UTF-8 sequence starting at s[i] (1..4), or 0 when the
// bytes there are not one (invalid lead, bad continuation, overlong,
// surrogate, > U+10FFFF, or cut off by the end). *cp gets the code point.
size_t utf8_sequence(std::string_view s, size_t i, char32_t* cp);

// `bytes` with every maximal invalid subpart replaced by U+FFFD.
std::string utf8_lossy(std::string_view bytes);

// How many leading bytes of `bytes` can be emitted now by a streaming
// decoder: everything except a trailing sequence that is a valid but
// incomplete prefix of a character (which more bytes may complete).
size_t utf8_emittable_prefix(std::string_view bytes);

// Canonical composition (NFC) of valid UTF-8.
std::string nfc(std::string_view utf8);

// Classes of the Qwen2 pre-tokenizer regex: \p{L} (Lu Ll Lt Lm Lo), \p{N}
// (Nd Nl No), \s (White_Space: Zs Zl Zp, U+0009..U+000D, U+0085) and the rest.
enum class CharClass : uint8_t { kLetter, kNumber, kSpace, kOther };
CharClass char_class(char32_t cp);

}  // namespace deskpilot::engine
