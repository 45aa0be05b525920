// Token choice on the GPU, so that a decode step needs no logits copy:
// argmax per row (greedy; the lowest id wins ties, as on the CPU), nucleus
// (top-p) sampling with temperature, and a numerically safe row softmax.
#pragma once

#include <cstdint>

#include <cuda_runtime.h>

namespace deskpilot::kernels::cuda {

// logits: (rows, vocab); ids: (rows) device.
cudaError_t argmax_rows(const float* logits, int64_t rows, int64_t vocab, int32_t* ids, cudaStream_t stream);
// One token per row from softmax(logits / temperature) cut to the nucleus:
// the tokens of probability >= t for the largest t whose tokens hold at least
// top_p of the mass (the CPU's sorted prefix, ties at the cut kept), drawn
// with uniform[row] in [0, 1) (from the host's seeded generator, so runs
// repeat). logits (rows, vocab) are overwritten with the unnormalised
// probabilities; ids (rows). temperature > 0, top_p in (0, 1].
cudaError_t sample_top_p(float* logits, int64_t rows, int64_t vocab, float temperature, float top_p,
                         const float* uniform, int32_t* ids, cudaStream_t stream);
// How one row's next token is chosen, in device memory (so that a captured
// decode graph serves any parameters), in the order engine/sampling.h
// applies them: repetition penalty over the tokens marked in `seen` (the
// prompt and the output), frequency and presence penalties over `counts`
// (the output), then greedy (temperature <= 0; the lowest id wins ties) or
// temperature, top-k (0: off; ties at the k-th value kept), top-p (1: off)
// and a draw with `uniform`. The chosen token is then counted in `counts`
// and marked in `seen` (either may be null: no penalty of that kind).
struct TokenChoice {
  float temperature = 0.f;
  int32_t top_k = 0;
  float top_p = 1.f;
  float repetition_penalty = 1.f;
  double frequency_penalty = 0.0, presence_penalty = 0.0;  // as the CPU computes them
  float uniform = 0.f;          // this step's draw in [0, 1)
  int32_t* counts = nullptr;    // (vocab) occurrences in the output
  uint8_t* seen = nullptr;      // (vocab) 1: in the prompt or the output
};
// logits: (rows, vocab), changed (penalties, then unnormalised
// probabilities); choices: (rows) device; ids: (rows).
cudaError_t choose_tokens(float* logits, int64_t rows, int64_t vocab, const TokenChoice* choices, int32_t* ids,
                          cudaStream_t stream);
// A token chosen elsewhere (the host, from the prefill's logits) counted and
// marked as choose_tokens would have.
cudaError_t record_token(int32_t* counts, uint8_t* seen, int32_t id, cudaStream_t stream);

// x: (rows, n) replaced by softmax(x * scale) per row (max subtracted first).
cudaError_t softmax_rows(float* x, int64_t rows, int64_t n, float scale, cudaStream_t stream);

}  // namespace deskpilot::kernels::cuda
