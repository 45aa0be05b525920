#include "engine/generate.h"

#include <algorithm>
#include <chrono>
#include <cstring>

#include "engine/rope_index.h"

namespace deskpilot::engine {

std::vector<int64_t> text_positions(int64_t start, int64_t n) {
  std::vector<int64_t> pos(static_cast<size_t>(3 * n));
  for (int64_t s = 0; s < 3; ++s)
    for (int64_t i = 0; i < n; ++i) pos[s * n + i] = start + i;
  return pos;
}

uint64_t image_hash(const ImagePatches& image) {
  uint64_t h = 1469598103934665603ull;
  const auto mix = [&](const void* data, size_t bytes) {
    const auto* p = static_cast<const uint8_t*>(data);
    for (size_t i = 0; i < bytes; ++i) h = (h ^ p[i]) * 1099511628211ull;
  };
  const int64_t grid[3] = {image.grid_t, image.grid_h, image.grid_w};
  mix(grid, sizeof grid);
  mix(image.pixel_values.data(), image.pixel_values.size() * sizeof(float));
  return h;
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

// What a prompt position holds: a token id, or patch k of an image.
uint64_t text_key(int32_t id) { return static_cast<uint32_t>(id); }
uint64_t image_key(uint64_t hash, int64_t k) {
  return (1ull << 63) | ((hash ^ (static_cast<uint64_t>(k) * 0x9E3779B97F4A7C15ull)) >> 1);
}

}  // namespace

bool generate(const Model& model, const Prompt& prompt, const GenerateOptions& options,
              const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error,
              Session* session) {
  const Qwen2LanguageModel& lm = model.lm();
  const ModelConfig& config = model.files().model;
  const int64_t vocab = lm.config().vocab_size, hidden = lm.config().hidden_size;
  const int64_t merge = config.vision.spatial_merge_size;
  *result = GenerateResult();
  result->prompt_ids = prompt.ids;
  const auto n = static_cast<int64_t>(prompt.ids.size());
  if (n == 0) {
    if (error) *error = "empty prompt";
    return false;
  }
  if (!prompt.images.empty() && !model.vision()) {
    if (error) *error = model.dir() + ": the checkpoint has no vision tower, so it cannot take images";
    return false;
  }
  Session local(model);
  Session& s = session ? *session : local;
  const auto dump = [&](const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    if (options.sink) options.sink(name, shape, data);
  };

  // Positions first: they validate the image runs.
  auto index = rope_index(prompt.ids, prompt.images, config, error);
  if (!index) return false;
  result->rope_delta = index->delta;
  {
    std::vector<float> pos(index->positions.begin(), index->positions.end());
    dump("position_ids", {3, n}, pos.data());
  }

  // What each prompt position holds, to find the prefix the session already has.
  std::vector<uint64_t> hashes;
  for (const ImagePatches& img : prompt.images) hashes.push_back(image_hash(img));
  std::vector<uint64_t> keys(static_cast<size_t>(n));
  std::vector<int64_t> image_of(static_cast<size_t>(n), -1), patch_of(static_cast<size_t>(n), 0);
  {
    size_t image = 0;
    for (int64_t i = 0; i < n;) {
      if (prompt.ids[i] != config.image_token_id) {
        keys[i] = text_key(prompt.ids[i]);
        ++i;
        continue;
      }
      const int64_t count = prompt.images[image].tokens(merge);
      for (int64_t k = 0; k < count; ++k, ++i) {
        keys[i] = image_key(hashes[image], k);
        image_of[i] = static_cast<int64_t>(image);
        patch_of[i] = k;
      }
      ++image;
    }
  }
  int64_t common = 0;
  const auto cached = static_cast<int64_t>(std::min(s.keys_.size(), static_cast<size_t>(s.cache_.length())));
  while (common < std::min(cached, n) && s.keys_[common] == keys[common]) ++common;
  if (common == n) --common;  // the last prompt token must run again for its logits
  s.cache_.truncate(common);
  s.keys_.resize(static_cast<size_t>(common));
  result->reused_tokens = common;

  // Vision: encode the images whose tokens are in the part to prefill (or take them from the session).
  auto t0 = std::chrono::steady_clock::now();
  std::vector<const std::vector<float>*> features(prompt.images.size(), nullptr);
  for (int64_t i = common; i < n; ++i) {
    const int64_t im = image_of[i];
    if (im < 0 || features[im]) continue;
    const uint64_t h = hashes[im];
    auto it = s.features_.find(h);
    if (it == s.features_.end()) {
      std::vector<float> f = model.vision()->encode(prompt.images[im], options.sink);
      ++result->images_encoded;
      it = s.features_.emplace(h, std::move(f)).first;
    }
    s.lru_.remove(h);
    s.lru_.push_front(h);
    features[im] = &it->second;
  }
  result->vision_ms = ms_since(t0);

  // Embeddings of the part to prefill: tokens, then image features over the <|image_pad|> rows.
  const int64_t m = n - common;
  std::vector<int32_t> ids(prompt.ids.begin() + common, prompt.ids.end());
  for (int32_t& id : ids)
    if (id == config.image_token_id) id = 0;  // overwritten below
  std::vector<float> x(static_cast<size_t>(m * hidden));  // (m, hidden)
  if (!lm.embed(ids.data(), m, x.data(), error)) {
    if (error) *error = "prompt: " + *error;
    return false;
  }
  for (int64_t i = common; i < n; ++i) {
    if (image_of[i] < 0) continue;
    std::memcpy(x.data() + (i - common) * hidden, features[image_of[i]]->data() + patch_of[i] * hidden,
                sizeof(float) * hidden);
  }
  dump("inputs_embeds", {m, hidden}, x.data());
  std::vector<int64_t> positions(static_cast<size_t>(3 * m));  // (3, m)
  for (int64_t st = 0; st < 3; ++st)
    std::copy_n(index->positions.begin() + st * n + common, m, positions.begin() + st * m);

  std::vector<std::string> stop;
  for (const std::string& str : options.stop)
    if (!str.empty()) stop.push_back(str);
  const std::vector<int64_t>& eos = model.files().generation.eos_token_ids;
  s.cache_.reserve(n + options.max_tokens);
  Sampler sampler(options.sampling);
  sampler.set_prompt(prompt.ids);
  StreamDecoder decoder(model.tokenizer(), options.skip_special);
  std::vector<float> logits(static_cast<size_t>(vocab));  // (vocab) of the last position
  std::string text;
  size_t emitted = 0;

  t0 = std::chrono::steady_clock::now();
  lm.forward(x.data(), m, positions.data(), &s.cache_, logits.data(), false, &options.sink);
  s.keys_.insert(s.keys_.end(), keys.begin() + common, keys.end());
  dump("logits.prefill_last", {vocab}, logits.data());
  result->prefill_ms = ms_since(t0);
  t0 = std::chrono::steady_clock::now();

  result->finish_reason = "length";
  for (int64_t step = 0; step < options.max_tokens; ++step) {
    if (step > 0) {
      const int32_t last = result->generated_ids.back();
      lm.embed(&last, 1, x.data(), nullptr);
      const int64_t p = s.cache_.length() + index->delta;
      lm.forward(x.data(), 1, text_positions(p, 1).data(), &s.cache_, logits.data(), false);
      s.keys_.push_back(text_key(last));
      dump("logits.step", {vocab}, logits.data());
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
    for (const std::string& str : stop) {
      const size_t at = text.find(str, emitted > str.size() ? emitted - str.size() : 0);
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

  while (s.lru_.size() > Session::kMaxImages) {  // forget the oldest images
    s.features_.erase(s.lru_.back());
    s.lru_.pop_back();
  }
  return true;
}

}  // namespace deskpilot::engine
