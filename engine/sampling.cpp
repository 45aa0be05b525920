#include "engine/sampling.h"

#include <algorithm>
#include <cmath>
#include <numeric>
#include <unordered_set>

namespace deskpilot::engine {

void Sampler::set_prompt(const std::vector<int32_t>& prompt) { context_ = prompt; }

int32_t Sampler::sample(float* logits, int64_t vocab) {
  const SamplingParams& p = params_;
  if (p.repetition_penalty != 1.0) {
    std::unordered_set<int32_t> seen(context_.begin(), context_.end());
    const float r = static_cast<float>(p.repetition_penalty);
    for (int32_t id : seen) {
      if (id < 0 || id >= vocab) continue;
      logits[id] = logits[id] < 0 ? logits[id] * r : logits[id] / r;
    }
  }
  for (const auto& [id, count] : output_counts_) {
    if (id < 0 || id >= vocab) continue;
    logits[id] -= static_cast<float>(p.frequency_penalty * static_cast<double>(count) + p.presence_penalty);
  }

  int32_t chosen = 0;
  if (p.temperature <= 0.0) {
    chosen = static_cast<int32_t>(std::max_element(logits, logits + vocab) - logits);
  } else {
    std::vector<int32_t> order(static_cast<size_t>(vocab));  // candidate ids, best first
    std::iota(order.begin(), order.end(), 0);
    int64_t keep = vocab;
    if (p.top_k > 0 && p.top_k < vocab) {
      keep = p.top_k;
      std::partial_sort(order.begin(), order.begin() + keep, order.end(),
                        [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    } else {
      std::sort(order.begin(), order.end(),
                [&](int32_t a, int32_t b) { return logits[a] > logits[b] || (logits[a] == logits[b] && a < b); });
    }
    const double inv_t = 1.0 / p.temperature;
    const double top = logits[order[0]] * inv_t;
    std::vector<double> probs(static_cast<size_t>(keep));  // (keep) softmax over the candidates
    double sum = 0;
    for (int64_t i = 0; i < keep; ++i) sum += probs[i] = std::exp(logits[order[i]] * inv_t - top);
    for (double& q : probs) q /= sum;
    if (p.top_p < 1.0) {
      // The smallest prefix whose mass reaches top_p (at least one token).
      double mass = 0;
      int64_t cut = 0;
      while (cut < keep && (cut == 0 || mass < p.top_p)) mass += probs[cut++];
      keep = cut;
      for (int64_t i = 0; i < keep; ++i) probs[i] /= mass;
    }
    // A uniform draw in [0, 1) from the top 53 bits: the same bytes on every platform.
    const double u = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
    double acc = 0;
    chosen = order[keep - 1];
    for (int64_t i = 0; i < keep; ++i) {
      acc += probs[i];
      if (u < acc) {
        chosen = order[i];
        break;
      }
    }
  }
  context_.push_back(chosen);
  ++output_counts_[chosen];
  return chosen;
}

}  // namespace deskpilot::engine
