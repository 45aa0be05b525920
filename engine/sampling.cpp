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
    // Candidates best first (logit, then lower id). Only as much of the order
    // as the draw needs is sorted: with 150k tokens a full sort per token
    // would cost more than the decode step of a small model.
    const auto better = [&](int32_t x, int32_t y) { return logits[x] > logits[y] || (logits[x] == logits[y] && x < y); };
    std::vector<int32_t> order(static_cast<size_t>(vocab));  // candidate ids; [0, sorted) in order
    std::iota(order.begin(), order.end(), 0);
    int64_t keep = vocab;
    if (p.top_k > 0 && p.top_k < vocab) {
      keep = p.top_k;
      std::nth_element(order.begin(), order.begin() + (keep - 1), order.end(), better);
    }
    int64_t sorted = 0;
    // Puts the best n candidates in [sorted, n) in order: a selection over
    // the rest, then a sort of just those.
    const auto sort_to = [&](int64_t n) {
      n = std::min(n, keep);
      if (n <= sorted) return;
      if (n < keep) std::nth_element(order.begin() + sorted, order.begin() + n, order.begin() + keep, better);
      std::sort(order.begin() + sorted, order.begin() + n, better);
      sorted = n;
    };
    const double inv_t = 1.0 / p.temperature;
    double top = -INFINITY;
    for (int64_t i = 0; i < keep; ++i) top = std::max(top, static_cast<double>(logits[order[i]]) * inv_t);
    std::vector<double> weight(static_cast<size_t>(vocab));  // exp((logit - max) / t) by id
    double total = 0;  // mass of the candidates
    for (int64_t i = 0; i < keep; ++i) {
      const int32_t id = order[i];
      total += weight[id] = std::exp(static_cast<double>(logits[id]) * inv_t - top);
    }
    if (p.top_p < 1.0) {
      // The smallest prefix whose share of the mass reaches top_p (at least one token).
      double mass = 0;
      int64_t cut = 0;
      for (int64_t chunk = 64; cut < keep && (cut == 0 || mass < p.top_p * total); chunk *= 2) {
        sort_to(cut + chunk);
        while (cut < sorted && (cut == 0 || mass < p.top_p * total)) mass += weight[order[cut++]];
      }
      keep = cut;  // the sorted prefix may reach beyond: the draw stops at keep
      total = mass;
    }
    const double u = next_uniform();
    const double target = u * total;
    double acc = 0;
    chosen = -1;
    if (keep == vocab && sorted == 0) {
      // Neither top-k nor top-p: the distribution needs no order; ids in turn.
      for (int32_t id = 0; id < vocab && chosen < 0; ++id)
        if (target < (acc += weight[id])) chosen = id;
    } else {
      // Best first, as far as the draw reaches.
      for (int64_t i = 0, chunk = 64; i < keep && chosen < 0; chunk *= 2) {
        sort_to(i + chunk);
        for (const int64_t end = std::min(sorted, keep); i < end; ++i) {
          acc += weight[order[i]];
          if (target < acc) {
            chosen = order[i];
            break;
          }
        }
      }
    }
    if (chosen < 0) {  // rounding left the target at the very end
      sort_to(keep);
      chosen = order[keep - 1];
    }
  }
  record(chosen);
  return chosen;
}

double Sampler::next_uniform() {
  if (params_.temperature <= 0.0) return 0.0;
  // A uniform draw in [0, 1) from the top 53 bits: the same bytes on every platform.
  return static_cast<double>(rng_() >> 11) * 0x1.0p-53;
}

void Sampler::record(int32_t id) {
  context_.push_back(id);
  ++output_counts_[id];
}

}  // namespace deskpilot::engine
