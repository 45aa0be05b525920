#include "engine/generate.h"

#include "base/clock.h"
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

using base::ms_since;

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

// What each prompt position holds (a token id, or patch k of an image), and
// for image positions which image and patch. false when the image runs do
// not match the images (rope_index says why).
bool prompt_keys(const Model& model, const Prompt& prompt, std::vector<uint64_t>* keys, std::vector<int64_t>* image_of,
                 std::vector<int64_t>* patch_of) {
  const ModelConfig& config = model.files().model;
  const int64_t merge = config.vision.spatial_merge_size;
  const auto n = static_cast<int64_t>(prompt.ids.size());
  keys->assign(static_cast<size_t>(n), 0);
  image_of->assign(static_cast<size_t>(n), -1);
  patch_of->assign(static_cast<size_t>(n), 0);
  size_t image = 0;
  for (int64_t i = 0; i < n;) {
    if (prompt.ids[i] != config.image_token_id) {
      (*keys)[i] = text_key(prompt.ids[i]);
      ++i;
      continue;
    }
    if (image >= prompt.images.size()) return false;
    const uint64_t hash = image_hash(prompt.images[image]);
    const int64_t count = prompt.images[image].tokens(merge);
    for (int64_t k = 0; k < count && i < n; ++k, ++i) {
      (*keys)[i] = image_key(hash, k);
      (*image_of)[i] = static_cast<int64_t>(image);
      (*patch_of)[i] = k;
    }
    ++image;
  }
  return true;
}

}  // namespace

int64_t Session::shared_prefix(const Model& model, const Prompt& prompt) const {
  std::vector<uint64_t> keys;
  std::vector<int64_t> image_of, patch_of;
  if (!prompt_keys(model, prompt, &keys, &image_of, &patch_of)) return 0;
  const auto cached = std::min(keys_.size(), static_cast<size_t>(cache_->length()));
  size_t common = 0;
  while (common < std::min(cached, keys.size()) && keys_[common] == keys[common]) ++common;
  return static_cast<int64_t>(common);
}

bool Generation::start(const Model& model, const Prompt& prompt, const GenerateOptions& options, Session* session,
                       std::vector<float>* logits, std::string* error) {
  model_ = &model;
  session_ = session;
  options_ = options;
  const Qwen2LanguageModel& lm = model.lm();
  const ModelConfig& config = model.files().model;
  const int64_t vocab = lm.config().vocab_size, hidden = lm.config().hidden_size;
  result_ = GenerateResult();
  result_.prompt_ids = prompt.ids;
  const auto n = static_cast<int64_t>(prompt.ids.size());
  if (n == 0) {
    if (error) *error = "empty prompt";
    return false;
  }
  if (!prompt.images.empty() && !model.vision()) {
    if (error) *error = model.dir() + ": the checkpoint has no vision tower, so it cannot take images";
    return false;
  }
  Session& s = *session;
  const auto dump = [&](const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    if (options.sink) options.sink(name, shape, data);
  };

  // Positions first: they validate the image runs.
  auto index = rope_index(prompt.ids, prompt.images, config, error);
  if (!index) return false;
  result_.rope_delta = index->delta;
  {
    std::vector<float> pos(index->positions.begin(), index->positions.end());
    dump("position_ids", {3, n}, pos.data());
  }

  // What each prompt position holds, to find the prefix the session already has.
  std::vector<uint64_t> keys;
  std::vector<int64_t> image_of, patch_of;
  prompt_keys(model, prompt, &keys, &image_of, &patch_of);
  int64_t common = 0;
  const auto cached = static_cast<int64_t>(std::min(s.keys_.size(), static_cast<size_t>(s.cache_->length())));
  while (common < std::min(cached, n) && s.keys_[common] == keys[common]) ++common;
  if (common == n) --common;  // the last prompt token must run again for its logits
  s.cache_->truncate(common);
  s.keys_.resize(static_cast<size_t>(common));
  result_.reused_tokens = common;

  // Vision: encode the images whose tokens are in the part to prefill (or
  // take them from the session). Where the encoder and the decoder share a
  // GPU the features stay there (no trip through the host); not when
  // intermediates are dumped (the host needs them then).
  auto t0 = std::chrono::steady_clock::now();
  ImageEncoder* encoder = model.image_encoder();
  const bool resident = encoder && !options.sink && encoder->keeps_features_resident() &&
                        model.decoder().takes_resident_features();
  std::vector<const Session::Features*> features(prompt.images.size(), nullptr);
  for (int64_t i = common; i < n; ++i) {
    const int64_t im = image_of[i];
    if (im < 0 || features[im]) continue;
    const uint64_t h = image_hash(prompt.images[im]);
    auto it = s.features_.find(h);
    if (it != s.features_.end() && !resident && it->second.host.empty()) {  // on the device, wanted on the host
      if (!it->second.resident->download(&it->second.host, error)) return false;
    }
    if (it == s.features_.end()) {
      Session::Features f;
      if (resident) {
        f.resident = encoder->encode_resident(prompt.images[im], error);
        if (!f.resident) return false;
      } else if (!encoder->encode(prompt.images[im], options.sink, &f.host, error)) {
        return false;
      }
      ++result_.images_encoded;
      it = s.features_.emplace(h, std::move(f)).first;
    }
    s.lru_.remove(h);
    s.lru_.push_front(h);
    features[im] = &it->second;
  }
  result_.vision_ms = ms_since(t0);

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
  // Image rows: copied from host features, or runs of rows the decoder takes from the device.
  std::vector<ResidentRows> device_rows;
  for (int64_t i = common; i < n; ++i) {
    if (image_of[i] < 0) continue;
    const Session::Features& f = *features[image_of[i]];
    if (!f.host.empty()) {
      std::memcpy(x.data() + (i - common) * hidden, f.host.data() + patch_of[i] * hidden, sizeof(float) * hidden);
      continue;
    }
    ResidentRows* run = device_rows.empty() ? nullptr : &device_rows.back();
    if (run && run->features == f.resident.get() && run->at + run->count == i - common &&
        run->first + run->count == patch_of[i]) {
      ++run->count;
    } else {
      device_rows.push_back({i - common, patch_of[i], 1, f.resident.get()});
    }
  }
  dump("inputs_embeds", {m, hidden}, x.data());
  std::vector<int64_t> positions(static_cast<size_t>(3 * m));  // (3, m)
  for (int64_t st = 0; st < 3; ++st)
    std::copy_n(index->positions.begin() + st * n + common, m, positions.begin() + st * m);

  stop_.clear();
  for (const std::string& str : options.stop)
    if (!str.empty()) stop_.push_back(str);
  eos_ = model.files().generation.eos_token_ids;
  if (!s.cache_->reserve(n + options.max_tokens, error)) return false;
  sampler_ = std::make_unique<Sampler>(options.sampling);
  sampler_->set_prompt(prompt.ids);
  decoder_ = std::make_unique<StreamDecoder>(model.tokenizer(), options.skip_special);
  logits->assign(static_cast<size_t>(vocab), 0.0f);  // (vocab) of the last position
  text_.clear();
  emitted_ = 0;
  done_ = false;

  t0 = std::chrono::steady_clock::now();
  const bool ok = device_rows.empty()
                      ? model.decoder().forward(x.data(), m, positions.data(), s.cache_.get(), logits->data(), false,
                                                &options.sink, error)
                      : model.decoder().forward_resident(x.data(), m, positions.data(), s.cache_.get(),
                                                         logits->data(), false, device_rows, error);
  if (!ok) {
    s.forget_tokens();
    return false;
  }
  s.keys_.insert(s.keys_.end(), keys.begin() + common, keys.end());
  dump("logits.prefill_last", {vocab}, logits->data());
  result_.prefill_ms = ms_since(t0);
  decode_start_ = std::chrono::steady_clock::now();
  result_.finish_reason = "length";
  return true;
}

int64_t Generation::next_position() const { return session_->cache_->length() + result_.rope_delta; }

void Generation::advanced() { session_->keys_.push_back(text_key(next_token())); }

bool Generation::accept(float* logits, const std::function<void(std::string_view)>& on_text) {
  if (done_) return true;
  const int64_t vocab = model_->lm().config().vocab_size;
  if (!result_.generated_ids.empty() && options_.sink) options_.sink("logits.step", {vocab}, logits);
  return take(sampler_->sample(logits, vocab), on_text);
}

bool Generation::accept_chosen(int32_t id, const std::function<void(std::string_view)>& on_text) {
  if (done_) return true;
  sampler_->record(id);
  return take(id, on_text);
}

bool Generation::take(int32_t id, const std::function<void(std::string_view)>& on_text) {
  result_.generated_ids.push_back(id);
  if (!options_.ignore_eos && std::find(eos_.begin(), eos_.end(), id) != eos_.end()) {
    result_.finish_reason = "stop";
    return done_ = true;
  }
  text_ += decoder_->push(id);
  bool stopped = false;
  size_t end = text_.size() - held_suffix(text_, stop_);
  for (const std::string& str : stop_) {
    const size_t at = text_.find(str, emitted_ > str.size() ? emitted_ - str.size() : 0);
    if (at != std::string::npos) {
      text_.resize(at);
      end = std::min(end, at);
      stopped = true;
    }
  }
  if (stopped) end = text_.size();
  if (end > emitted_) {
    if (on_text) on_text(std::string_view(text_).substr(emitted_, end - emitted_));
    emitted_ = end;
  }
  if (stopped) {
    result_.finish_reason = "stop";
    return done_ = true;
  }
  if (static_cast<int64_t>(result_.generated_ids.size()) >= options_.max_tokens) return done_ = true;
  return false;
}

void Generation::finish(const std::function<void(std::string_view)>& on_text) {
  if (result_.finish_reason == "length") {
    text_ += decoder_->finish();
    if (on_text && text_.size() > emitted_) on_text(std::string_view(text_).substr(emitted_));
  } else if (emitted_ < text_.size() && on_text) {
    on_text(std::string_view(text_).substr(emitted_));
  }
  emitted_ = text_.size();
  result_.decode_ms = ms_since(decode_start_);
  result_.text = text_;
  while (session_->lru_.size() > Session::kMaxImages) {  // forget the oldest images
    session_->features_.erase(session_->lru_.back());
    session_->lru_.pop_back();
  }
}

bool generate(const Model& model, const Prompt& prompt, const GenerateOptions& options,
              const std::function<void(std::string_view)>& on_text, GenerateResult* result, std::string* error,
              Session* session) {
  Session local(model);
  Session& s = session ? *session : local;
  const Qwen2LanguageModel& lm = model.lm();
  Generation g;
  std::vector<float> logits;  // (vocab)
  *result = GenerateResult();
  if (!g.start(model, prompt, options, &s, &logits, error)) {
    *result = g.result();
    return false;
  }
  std::vector<float> x(static_cast<size_t>(lm.config().hidden_size));  // (1, hidden)
  Decoder& decoder = model.decoder();
  bool done = options.max_tokens <= 0;
  // Where the backend chooses tokens itself (CUDA), a step sends back one id
  // instead of the logits; not when intermediates are dumped (they include
  // the logits), nor when its state cannot be made (then the host chooses).
  std::unique_ptr<TokenChooser> chooser;
  if (!done && !options.sink) {
    std::string why;
    chooser = decoder.new_token_chooser(prompt.ids, &why);
  }
  if (!done) done = g.accept(logits.data(), on_text);  // the first token, from the prefill's logits
  if (!done && chooser && !decoder.note_token(chooser.get(), g.next_token(), error)) {
    *result = std::move(g.result());
    return false;
  }
  while (!done) {
    const int32_t last = g.next_token();
    lm.embed(&last, 1, x.data(), nullptr);
    const auto positions = text_positions(g.next_position(), 1);
    int32_t id = 0;
    const bool ok = chooser ? decoder.forward_choose(x.data(), positions.data(), g.cache(), chooser.get(),
                                                     g.sampling(), g.next_uniform(), &id, error)
                            : decoder.forward(x.data(), 1, positions.data(), g.cache(), logits.data(), false, nullptr,
                                              error);
    if (!ok) {
      s.forget_tokens();
      *result = std::move(g.result());
      return false;
    }
    g.advanced();
    done = chooser ? g.accept_chosen(id, on_text) : g.accept(logits.data(), on_text);
  }
  g.finish(on_text);
  *result = std::move(g.result());
  return true;
}

}  // namespace deskpilot::engine
