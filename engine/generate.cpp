#include "engine/generate.h"

#include <algorithm>
#include <chrono>

namespace deskpilot::engine {

std::vector<int64_t> text_positions(int64_t start, int64_t n) {
  std::vector<int64_t> pos(static_cast<size_t>(3 * n));
  for (int64_t s = 0; s < 3; ++s)
    for (int64_t i = 0; i < n; ++i) pos[s * n + i] = start + i;
  return pos;
}

namespace {

double ms_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

// Bytes at the end of `text` that could begin one of the stop strings.
size_t held_suffix(const std::string& text, const std::vector<std::string>& stop) {
  size_t held = 0;
  for (const std::string& s : stop) {
    for (size_t len = std::min(s.size() - 1, text.size()); len > held; --len) {
      if (text.compare(text.size() - len, len, s, 0, len) == 0) {
        held = len;
        break;
      }
    }
  }
  return held;
}

}  // namespace

bool generate(const Model& model, const std::vector<int32_t>& prompt, const GenerateOptions& options,
              const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error) {
  const Qwen2LanguageModel& lm = model.lm();
  const int64_t vocab = lm.config().vocab_size, hidden = lm.config().hidden_size;
  *result = GenerateResult();
  result->prompt_ids = prompt;
  if (prompt.empty()) {
    if (error) *error = "empty prompt";
    return false;
  }
  std::vector<std::string> stop;
  for (const std::string& s : options.stop)
    if (!s.empty()) stop.push_back(s);
  const std::vector<int64_t>& eos = model.files().generation.eos_token_ids;

  KvCache cache = lm.new_cache();
  cache.reserve(static_cast<int64_t>(prompt.size()) + options.max_tokens);
  Sampler sampler(options.sampling);
  sampler.set_prompt(prompt);
  StreamDecoder decoder(model.tokenizer(), options.skip_special);
  std::vector<float> logits(static_cast<size_t>(vocab));  // (vocab) of the last position
  std::string text;      // everything decoded so far
  size_t emitted = 0;    // bytes of `text` passed to on_text

  const auto n = static_cast<int64_t>(prompt.size());
  std::vector<float> x(static_cast<size_t>(n * hidden));  // (n, hidden) prompt embeddings
  if (!lm.embed(prompt.data(), n, x.data(), error)) return false;
  auto t0 = std::chrono::steady_clock::now();
  lm.forward(x.data(), n, text_positions(0, n).data(), &cache, logits.data(), false);
  result->prefill_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();

  result->finish_reason = "length";
  for (int64_t step = 0; step < options.max_tokens; ++step) {
    if (step > 0) {
      const int32_t last = result->generated_ids.back();
      lm.embed(&last, 1, x.data(), nullptr);
      lm.forward(x.data(), 1, text_positions(cache.length(), 1).data(), &cache, logits.data(), false);
    }
    const int32_t id = sampler.sample(logits.data(), vocab);
    result->generated_ids.push_back(id);
    if (!options.ignore_eos && std::find(eos.begin(), eos.end(), id) != eos.end()) {
      result->finish_reason = "stop";
      break;
    }
    text += decoder.push(id);
    bool stopped = false;
    size_t end = text.size() - held_suffix(text, stop);
    for (const std::string& s : stop) {
      const size_t at = text.find(s, emitted > s.size() ? emitted - s.size() : 0);
      if (at != std::string::npos) {
        text.resize(at);
        end = std::min(end, at);
        stopped = true;
      }
    }
    if (stopped) end = text.size();
    if (end > emitted) {
      if (on_text) on_text(std::string_view(text).substr(emitted, end - emitted));
      emitted = end;
    }
    if (stopped) {
      result->finish_reason = "stop";
      break;
    }
  }
  if (result->finish_reason == "length") {
    text += decoder.finish();
    if (on_text && text.size() > emitted) on_text(std::string_view(text).substr(emitted));
  } else if (emitted < text.size() && on_text) {
    on_text(std::string_view(text).substr(emitted));
  }
  result->decode_ms = ms_since(t0);
  result->text = text;
  return true;
}

}  // namespace deskpilot::engine
