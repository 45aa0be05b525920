// The Qwen2 pre-tokenizer: splits normalized text into the pieces BPE runs
// on, exactly as the tokenizers package does with the Split regex of every
// Qwen2 tokenizer.json (behavior Isolated):
//
//   (?i:'s|'t|'re|'ve|'m|'ll|'d) | [^\r\n\p{L}\p{N}]?\p{L}+ | \p{N}
//   | ?[^\s\p{L}\p{N}]+[\r\n]* | \s*[\r\n]+ | \s+(?!\S) | \s+
//
// Hand-written rather than a regex engine: the alternatives are tried in
// order at each position, with the backtracking the regex would do spelled
// out in pretokenize.cpp. Character classes come from utf8proc.
#pragma once

#include <string_view>
#include <utility>
#include <vector>

namespace deskpilot::engine {

// The regex this implements, as tokenizer.json spells it.
extern const std::string_view kQwen2SplitPattern;

// Byte ranges [begin, end) of `text` (valid UTF-8) that cover it in order.
std::vector<std::pair<size_t, size_t>> qwen2_pretokenize(std::string_view text);

}  // namespace deskpilot::engine
