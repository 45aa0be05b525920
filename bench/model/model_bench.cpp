// The model on random BF16 weights of a real shape, through the engine's
// backends (engine/backend.h), on the CPU or the GPU. Default shape:
// UI-TARS-1.5-7B (Qwen2.5-VL-7B: decoder hidden 3584, 28 layers, 28 query /
// 4 KV heads, SwiGLU 18944, vocabulary 152064; vision tower 32 blocks of
// width 1280, windows of 112 px, 4 full-attention blocks); --small: a
// 2-layer decoder of width 512 and a 2-block tower of width 256 (what the
// CPU runs in seconds). Prints one table:
//   - copy bandwidth of the device: the reference of this run;
//   - decode tokens/s at batch 1 and its fraction of the roofline (weight
//     bytes per token over the copy bandwidth);
//   - the vision tower on one 1920x1080 screenshot (smart-resized to
//     1932x1092: 10,764 patches, 2691 tokens), the prefill of its tokens
//     with 60 of text, and the two together: the time to first token of an
//     agent's first step;
//   - one agent step's model time: 2741 new tokens after 11,000 cached
//     (five screenshots of history reused), then 30 tokens of answer;
//   - the Qwen2-VL tower (UI-TARS-2B/7B/72B: full attention in all 32
//     blocks, MLP 5120) on the same screenshot;
//   - decode after 32,768 cached tokens (long context);
//   - the steady state of a long agent task: 8 steps of UI-TARS's
//     conversation (system prompt, then per step a screenshot and the
//     model's 30-token answer; only the last 5 screenshots kept, as
//     UITarsPolicy's default history), each step prefilling what differs
//     from the cached conversation (the prefix breaks where the oldest
//     screenshot was dropped), per-step tokens and time.
// Each phase also prints its roofline model: the bytes it must read (weights,
// KV cache) and the FLOPs it must do (2 per multiply-add: projections, then
// attention), and what the measured time achieves of them. On a GPU, rows
// with a target (decode >= 75% of the bandwidth roofline, time to first
// token <= 120 ms on an H200) end in MET or MISSED.
//
//   bench_model [--device cpu|cuda|auto] [--small] [--only decode]
// The full shape needs a GPU (15.5 GB of weights); on the CPU use --small.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/backend.h"
#include "base/clock.h"
#include "engine/device.h"
#include "engine/generate.h"

using namespace deskpilot;
using clock_type = deskpilot::base::Clock;

namespace {

using deskpilot::base::ms_since;

void row(const std::string& what, const std::string& value, const std::string& note) {
  std::printf("%-52s %-14s %s\n", what.c_str(), value.c_str(), note.c_str());
  std::fflush(stdout);
}

std::string fmt(const char* f, double v) {
  char b[256];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

// "target ...: MET" or "...: MISSED".
std::string target(const std::string& what, bool met) { return "target " + what + ": " + (met ? "MET" : "MISSED"); }

// FLOPs of n new tokens after `past` through the decoder: projections (2 per
// weight per token, the LM head for the last token only) and causal
// attention (QK^T and PV: 4 head_dim per query-key pair per head).
double decoder_flops(const engine::TextConfig& c, int64_t n, int64_t past) {
  const double d = c.hidden_size, qd = c.num_heads * c.head_dim, kvd = c.num_kv_heads * c.head_dim;
  const double per_layer = d * (qd + 2 * kvd) + qd * d + 3 * d * c.intermediate_size;
  const double pairs = static_cast<double>(n) * past + static_cast<double>(n) * (n + 1) / 2;
  return c.num_layers * (2 * per_layer * n + 4 * qd * pairs) + 2 * d * c.vocab_size;
}

// FLOPs of the vision tower over n patches, attention within segments of
// `segment` patches in all but `full` blocks (full: all n).
double vision_flops(const engine::VisionConfig& v, int64_t n, int64_t segment, int64_t full_blocks, bool gated) {
  const double w = v.width, mlp = (gated ? 3 : 2) * w * v.intermediate_size;
  const double per_block = 2 * (4 * w * w + mlp) * n;
  const double local = 4 * w * static_cast<double>(n) * segment, whole = 4 * w * static_cast<double>(n) * n;
  return v.depth * per_block + (v.depth - full_blocks) * local + full_blocks * whole;
}

std::string achieved(double flops, double ms) {
  return fmt("%.2f TFLOP", flops / 1e12) + fmt(", %.1f TFLOPS", flops / ms / 1e9);
}

std::vector<float> random_floats(int64_t n, float scale) {
  std::vector<float> x(static_cast<size_t>(n));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-scale, scale);
  for (float& v : x) v = d(rng);
  return x;
}

int fail(const std::string& error) {
  std::fprintf(stderr, "bench_model: %s\n", error.c_str());
  return 1;
}

// n tokens of embeddings at text positions after what `cache` holds.
bool prefill(engine::Decoder& lm, engine::DecoderCache* cache, const std::vector<float>& x, int64_t n,
             std::vector<float>* logits, std::string* error) {
  return cache->reserve(cache->length() + n, error) &&
         lm.forward(x.data(), n, engine::text_positions(cache->length(), n).data(), cache, logits->data(), false,
                    nullptr, error);
}

}  // namespace

int main(int argc, char** argv) {
  bool small = false, decode_only = false;
  std::string device_word = "auto";
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (a == "--small") {
      small = true;
    } else if (a == "--device" && i + 1 < argc) {
      device_word = argv[++i];
    } else if (a == "--only" && i + 1 < argc && std::strcmp(argv[i + 1], "decode") == 0) {
      decode_only = true;
      ++i;
    } else {
      std::fprintf(stderr, "usage: bench_model [--device cpu|cuda|auto] [--small] [--only decode]\n");
      return 2;
    }
  }
  std::string error;
  engine::Device device;
  if (!engine::resolve_device(device_word, &device, &error)) return fail(error);
  if (device == engine::Device::kCpu && !small) {
    std::fprintf(stderr, "bench_model: the UI-TARS-1.5-7B shape is for a GPU; on the CPU use --small\n");
    return 2;
  }
  engine::TextConfig c;
  c.vocab_size = 152064;
  c.hidden_size = small ? 512 : 3584;
  c.intermediate_size = small ? 1536 : 18944;
  c.num_layers = small ? 2 : 28;
  c.num_heads = small ? 8 : 28;
  c.num_kv_heads = small ? 2 : 4;
  c.head_dim = 128;
  c.rope_theta = 1e6;
  c.mrope_section = {16, 24, 24};
  c.rms_norm_eps = 1e-6;
  row("device", engine::device_description(device), small ? "small shape" : "UI-TARS-1.5-7B shape");
  const double bw = engine::copy_bandwidth_gbs(device);
  row("copy bandwidth (reference)", fmt("%.0f GB/s", bw), "read + write of a large copy");

  auto t = clock_type::now();
  auto lm = engine::make_random_decoder(c, device, 1, &error);
  if (!lm) return fail(error);
  row("random decoder weights", fmt("%.2f GB", lm->weight_bytes() / 1e9), fmt("made in %.0f ms", ms_since(t)));
  std::vector<float> logits(static_cast<size_t>(c.vocab_size));

  // Decode at batch 1 after a short prompt.
  {
    auto cache = lm->new_cache();
    const auto x = random_floats(32 * c.hidden_size, 0.05f);
    if (!prefill(*lm, cache.get(), x, 32, &logits, &error) || !cache->reserve(32 + 64, &error)) return fail(error);
    std::vector<double> steps;
    for (int i = 0; i < 64; ++i) {
      t = clock_type::now();
      if (!lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                       false, nullptr, &error))
        return fail(error);
      steps.push_back(ms_since(t));
    }
    std::sort(steps.begin(), steps.end());
    const double ms = steps[steps.size() / 2];
    const double roofline = static_cast<double>(lm->weight_bytes()) / (ms / 1000) / 1e9 / bw;
    row("decode, batch 1", fmt("%.1f tok/s", 1000 / ms), fmt("median of 64 steps, %.2f ms/token", ms));
    row("decode / roofline", fmt("%.0f %%", 100 * roofline),
        fmt("weights read per token over copy bandwidth (%.0f tok/s at 100%%)", bw * 1e9 / lm->weight_bytes()) +
            (device == engine::Device::kCuda ? "; " + target(">= 75%", roofline >= 0.75) : ""));
  }
  if (decode_only) return 0;

  // The vision tower on one 1920x1080 screenshot, then the prefill of its tokens: time to first token.
  double vision_ms = 0;
  {
    engine::VisionConfig v;
    v.depth = small ? 2 : 32;
    v.width = small ? 256 : 1280;
    v.num_heads = small ? 4 : 16;
    v.intermediate_size = small ? 512 : 3420;
    v.out_hidden_size = c.hidden_size;
    v.window_size = 112;
    v.fullatt_block_indexes = small ? std::vector<int64_t>{1} : std::vector<int64_t>{7, 15, 23, 31};
    t = clock_type::now();
    auto tower = engine::make_random_image_encoder(v, engine::Architecture::kQwen25VL, device, 99, &error);
    if (!tower) return fail("vision: " + error);
    row("random vision weights", "", fmt("made in %.0f ms", ms_since(t)));
    engine::ImagePatches image;
    image.grid_t = 1;
    image.grid_h = 78;
    image.grid_w = 138;
    image.pixel_values = random_floats(image.patches() * 3 * 2 * 14 * 14, 2.f);
    std::vector<float> features;
    double best = 1e18;
    for (int rep = 0; rep < (small ? 1 : 3); ++rep) {
      t = clock_type::now();
      if (!tower->encode(image, nullptr, &features, &error)) return fail("vision: " + error);
      best = std::min(best, ms_since(t));
    }
    vision_ms = best;
    row("vision tower, one 1920x1080 screenshot", fmt("%.1f ms", best),
        fmt("10764 patches -> %.0f tokens; ", static_cast<double>(features.size() / c.hidden_size)) +
            achieved(vision_flops(v, image.patches(), 64, static_cast<int64_t>(v.fullatt_block_indexes.size()), true),
                     best));
    // Qwen2-VL's tower (UI-TARS-2B/7B/72B): full attention in every block.
    engine::VisionConfig v2 = v;
    v2.intermediate_size = small ? 1024 : 5120;
    v2.hidden_act = "quick_gelu";
    v2.window_size = 0;
    v2.fullatt_block_indexes.clear();
    auto tower2 = engine::make_random_image_encoder(v2, engine::Architecture::kQwen2VL, device, 98, &error);
    if (!tower2) return fail("vision (Qwen2-VL): " + error);
    best = 1e18;
    for (int rep = 0; rep < (small ? 1 : 2); ++rep) {
      t = clock_type::now();
      if (!tower2->encode(image, nullptr, &features, &error)) return fail("vision (Qwen2-VL): " + error);
      best = std::min(best, ms_since(t));
    }
    row("vision tower, Qwen2-VL (full attention)", fmt("%.1f ms", best),
        achieved(vision_flops(v2, image.patches(), image.patches(), v2.depth, false), best));
  }
  {
    const int64_t n = 2691 + 60;  // the screenshot's tokens and the prompt's text
    const auto x = random_floats(n * c.hidden_size, 0.05f);
    double best = 1e18;
    for (int rep = 0; rep < (small ? 1 : 3); ++rep) {
      auto cache = lm->new_cache();
      t = clock_type::now();
      if (!prefill(*lm, cache.get(), x, n, &logits, &error)) return fail(error);
      best = std::min(best, ms_since(t));
    }
    row("prefill, 2751 tokens (one screenshot + text)", fmt("%.1f ms", best),
        fmt("%.0f tok/s; ", n * 1000 / best) + achieved(decoder_flops(c, n, 0), best));
    const double ttft = vision_ms + best;
    row("time to first token (vision + prefill)", fmt("%.1f ms", ttft),
        device == engine::Device::kCuda ? target("<= 120 ms on an H200", ttft <= 120) : "");
  }
  // One agent step: the history's KV cache reused, the new screenshot and a
  // little text prefilled, then the answer.
  {
    const int64_t cached = 11000, fresh = 2741, answer = 30;
    auto cache = lm->new_cache();
    if (!cache->reserve(cached + fresh + answer, &error)) return fail(error);
    const auto x = random_floats(2750 * c.hidden_size, 0.05f);
    for (int64_t at = 0; at < cached; at += 2750)  // the history, in chunks
      if (!prefill(*lm, cache.get(), x, std::min<int64_t>(2750, cached - at), &logits, &error)) return fail(error);
    t = clock_type::now();
    if (!prefill(*lm, cache.get(), x, fresh, &logits, &error)) return fail(error);
    const double prefill_ms = ms_since(t);
    t = clock_type::now();
    for (int64_t i = 0; i < answer; ++i)
      if (!lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                       false, nullptr, &error))
        return fail(error);
    const double decode_ms = ms_since(t);
    row("agent step (model time)", fmt("%.0f ms", prefill_ms + decode_ms),
        fmt("prefill of 2741 after 11000 cached %.0f ms", prefill_ms) + fmt(" + 30 tokens %.0f ms; prefill ", decode_ms) +
            achieved(decoder_flops(c, fresh, cached), prefill_ms));
  }
  // The steady state of a long task: what each step prefills once the
  // history starts dropping screenshots.
  if (!small) {
    struct Item {
      int64_t key, tokens;  // what the item is (same key: same cached tokens), how many tokens
    };
    const int64_t system = 600, screenshot = 2691 + 20, answer = 30, history = 5, steps = 8;
    auto cache = lm->new_cache();
    std::vector<Item> cached;  // what the cache holds, in order
    const auto x = random_floats(screenshot * c.hidden_size, 0.05f);
    std::string per_step;
    for (int64_t step = 0; step < steps; ++step) {
      std::vector<Item> conversation = {{-1, system}};
      for (int64_t i = 0; i <= step; ++i) {
        if (i > step - history) conversation.push_back({2 * i, screenshot});  // the last 5 screenshots
        if (i < step) conversation.push_back({2 * i + 1, answer});             // every earlier answer
      }
      size_t same = 0;
      int64_t kept = 0;
      while (same < cached.size() && same < conversation.size() && cached[same].key == conversation[same].key)
        kept += cached[same++].tokens;
      cache->truncate(kept);
      int64_t fresh = 0;
      for (size_t i = same; i < conversation.size(); ++i) fresh += conversation[i].tokens;
      if (!cache->reserve(kept + fresh + answer, &error)) return fail("agent steps: " + error);
      t = clock_type::now();
      for (size_t i = same; i < conversation.size(); ++i)
        if (!prefill(*lm, cache.get(), x, conversation[i].tokens, &logits, &error)) return fail("agent steps: " + error);
      const double prefill_ms = ms_since(t);
      t = clock_type::now();
      for (int64_t i = 0; i < answer; ++i)
        if (!lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                         false, nullptr, &error))
          return fail("agent steps: " + error);
      const double decode_ms = ms_since(t);
      conversation.push_back({2 * step + 1, answer});
      cached = conversation;
      per_step += fmt(" %.0f", static_cast<double>(fresh)) + fmt("/%.0f", prefill_ms + decode_ms);
      if (step == steps - 1)
        row("agent step, steady state (step 8 of 8)", fmt("%.0f ms", prefill_ms + decode_ms),
            fmt("prefill %.0f tokens", static_cast<double>(fresh)) + fmt(" after %.0f cached", static_cast<double>(kept)) +
                fmt(" %.0f ms", prefill_ms) + fmt(" + 30 tokens %.0f ms", decode_ms));
    }
    row("agent steps 1-8: tokens prefilled / ms", "", per_step);
  }
  // Long context: decode after 32,768 cached tokens (the KV cache is read every step).
  if (!small) {
    const int64_t cached = 32768, chunk = 4096;
    auto cache = lm->new_cache();
    if (!cache->reserve(cached + 16, &error)) return fail("long context: " + error);
    const auto x = random_floats(chunk * c.hidden_size, 0.05f);
    for (int64_t at = 0; at < cached; at += chunk)
      if (!prefill(*lm, cache.get(), x, chunk, &logits, &error)) return fail("long context: " + error);
    std::vector<double> steps;
    for (int i = 0; i < 16; ++i) {
      t = clock_type::now();
      if (!lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                       false, nullptr, &error))
        return fail("long context: " + error);
      steps.push_back(ms_since(t));
    }
    std::sort(steps.begin(), steps.end());
    const double ms = steps[steps.size() / 2];
    const double kv_bytes = 2.0 * c.num_layers * cached * c.num_kv_heads * c.head_dim * lm->kv_bytes_per_value();
    const double bytes = static_cast<double>(lm->weight_bytes()) + kv_bytes;
    row("decode after 32768 cached tokens", fmt("%.1f tok/s", 1000 / ms),
        fmt("%.2f ms/token; ", ms) + fmt("weights + %.2f GB of KV per token: ", kv_bytes / 1e9) +
            fmt("%.0f %% of the bandwidth roofline", 100 * bytes / (ms / 1000) / 1e9 / bw));
  }
  return 0;
}
