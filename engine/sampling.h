// Choosing the next token from logits, in the order transformers applies
// its logits processors: repetition penalty (over prompt and output),
// frequency and presence penalties (OpenAI's, over the output), then
// temperature, top-k, top-p and a draw from a seeded generator. Temperature
// 0 is greedy (argmax after the penalties; the lowest id wins ties).
#pragma once

#include <cstdint>
#include <random>
#include <unordered_map>
#include <vector>

namespace deskpilot::engine {

struct SamplingParams {
  double temperature = 0.0;         // 0: greedy
  int64_t top_k = 0;                // 0: off
  double top_p = 1.0;               // 1: off
  double repetition_penalty = 1.0;  // 1: off; > 1 discourages tokens already in the context
  double frequency_penalty = 0.0;   // subtracted once per earlier occurrence in the output
  double presence_penalty = 0.0;    // subtracted once if the token occurred in the output
  uint64_t seed = 0;
};

class Sampler {
 public:
  explicit Sampler(const SamplingParams& params) : params_(params), rng_(params.seed) {}

  // The prompt counts for the repetition penalty only.
  void set_prompt(const std::vector<int32_t>& prompt);
  // logits (vocab) are modified in place. The chosen token is remembered.
  int32_t sample(float* logits, int64_t vocab);

  // For a backend that chooses on the device (Decoder::forward_choose):
  // the step's uniform draw, what sample() would draw (0 when greedy: no
  // draw), and the token it chose, remembered as sample() does.
  double next_uniform();
  void record(int32_t id);
  const SamplingParams& params() const { return params_; }

 private:
  SamplingParams params_;
  std::mt19937_64 rng_;
  std::vector<int32_t> context_;                   // prompt + output, for the repetition penalty
  std::unordered_map<int32_t, int64_t> output_counts_;  // token -> occurrences in the output
};

}  // namespace deskpilot::engine
