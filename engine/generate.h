// Text generation with the decoder: prefill the prompt, then one token at a
// time until an end-of-sequence id, a stop string or the token limit.
// Text streams out through a callback as it becomes complete UTF-8, held
// back while it could still be the start of a stop string.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <vector>

#include "engine/model.h"
#include "engine/sampling.h"

namespace deskpilot::engine {

struct GenerateOptions {
  int64_t max_tokens = 256;
  SamplingParams sampling;
  std::vector<std::string> stop;  // stop strings (not part of the returned text)
  bool ignore_eos = false;        // generate max_tokens whatever comes
  bool skip_special = true;       // leave special tokens out of the text
};

struct GenerateResult {
  std::vector<int32_t> prompt_ids;
  std::vector<int32_t> generated_ids;
  std::string text;
  std::string finish_reason;  // "stop" (eos or stop string) or "length"
  double prefill_ms = 0, decode_ms = 0;
};

// Positions of text tokens: all three M-RoPE streams equal start + i.
std::vector<int64_t> text_positions(int64_t start, int64_t n);  // (3, n)

// nullopt-like failure: returns false and *error (bad token ids).
bool generate(const Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
              const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error);

}  // namespace deskpilot::engine
