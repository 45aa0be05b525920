// The decoder on the GPU with random BF16 weights of UI-TARS-1.5-7B's shape
// (Qwen2.5-VL-7B: hidden 3584, 28 layers, 28 query / 4 KV heads, SwiGLU
// 18944, vocabulary 152064), made on the device: no checkpoint needed.
// Prints one table:
//   - copy bandwidth (device to device, 1 GiB): the reference of this run;
//   - decode tokens/s at batch 1, replayed from the CUDA graph and launch by
//     launch, and its fraction of the roofline (weight bytes per token over
//     the measured copy bandwidth);
//   - the vision tower (Qwen2.5-VL-7B's: 32 blocks of width 1280, windows of
//     112 px, 4 full-attention blocks) on one 1920x1080 screenshot (10,764
//     patches), the prefill of its 2691 tokens with the prompt's text, and
//     the two together: the time to first token of an agent's first step;
//   - one agent step's model time: 2741 new tokens after 11,000 cached
//     (five screenshots of history reused), then 30 tokens of answer.
//   bench_gpu [--small]   (--small: a 2-layer model of width 512, a smoke test)
#include <cuda_runtime.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/cuda_lm.h"
#include "engine/cuda_vision.h"
#include "engine/generate.h"
#include "kernels/cuda/runtime.h"

using namespace deskpilot;
using clock_type = std::chrono::steady_clock;

namespace {

double ms_since(clock_type::time_point t) {
  return std::chrono::duration<double, std::milli>(clock_type::now() - t).count();
}

void row(const std::string& what, const std::string& value, const std::string& note) {
  std::printf("%-64s %-14s %s\n", what.c_str(), value.c_str(), note.c_str());
}

std::string fmt(const char* f, double v) {
  char b[256];
  std::snprintf(b, sizeof b, f, v);
  return b;
}

double copy_bandwidth_gbs() {
  const size_t bytes = size_t{1} << 30;
  void *a = nullptr, *b = nullptr;
  if (cudaMalloc(&a, bytes) != cudaSuccess || cudaMalloc(&b, bytes) != cudaSuccess) return 0;
  cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
  cudaDeviceSynchronize();
  const int reps = 10;
  const auto t = clock_type::now();
  for (int i = 0; i < reps; ++i) cudaMemcpy(b, a, bytes, cudaMemcpyDeviceToDevice);
  cudaDeviceSynchronize();
  const double s = ms_since(t) / 1000;
  cudaFree(a);
  cudaFree(b);
  return 2.0 * bytes * reps / s / 1e9;  // read + write
}

std::vector<float> random_embeddings(int64_t n, int64_t hidden) {
  std::vector<float> x(static_cast<size_t>(n * hidden));
  std::mt19937 rng(7);
  std::uniform_real_distribution<float> d(-0.05f, 0.05f);
  for (float& v : x) v = d(rng);
  return x;
}

}  // namespace

int main(int argc, char** argv) {
  const bool small = argc > 1 && std::strcmp(argv[1], "--small") == 0;
  if (kernels::cuda::device_count() == 0) {
    std::fprintf(stderr, "bench_gpu: no CUDA device\n");
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
  row("device", kernels::cuda::device_description(0), small ? "small shape (smoke test)" : "UI-TARS-1.5-7B shape");
  const double bw = copy_bandwidth_gbs();
  row("copy bandwidth (reference)", fmt("%.0f GB/s", bw), "device to device, 1 GiB x 10");

  std::string error;
  auto t = clock_type::now();
  auto lm = engine::CudaLanguageModel::create_random(c, 1, &error);
  if (!lm) {
    std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
    return 1;
  }
  row("random weights", fmt("%.2f GB", lm->weight_bytes() / 1e9), fmt("made in %.0f ms", ms_since(t)));
  std::vector<float> logits(static_cast<size_t>(c.vocab_size));

  // Decode at batch 1 after a short prompt: from the graph, then launch by launch.
  for (const bool graphs : {true, false}) {
    lm->set_graphs(graphs);
    auto cache = lm->new_cache(512, &error);
    const auto x = random_embeddings(32, c.hidden_size);
    if (!cache || !lm->forward(x.data(), 32, engine::text_positions(0, 32).data(), cache.get(), logits.data(), false,
                               &error)) {
      std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
      return 1;
    }
    std::vector<double> steps;
    for (int i = 0; i < 64; ++i) {
      t = clock_type::now();
      if (!lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                       false, &error)) {
        std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
        return 1;
      }
      steps.push_back(ms_since(t));
    }
    std::sort(steps.begin(), steps.end());
    const double ms = steps[steps.size() / 2];
    if (!graphs) {
      row("decode, batch 1, launch by launch", fmt("%.1f tok/s", 1000 / ms), fmt("%.2f ms/token", ms));
      continue;
    }
    const double roofline = lm->weight_bytes() / (ms / 1000) / 1e9 / bw;
    row("decode, batch 1, CUDA graph", fmt("%.1f tok/s", 1000 / ms),
        fmt("median of 64 steps, %.2f ms/token", ms) +
            (lm->graph_error().empty() ? fmt(", %.0f graph replays", static_cast<double>(lm->graph_replays()))
                                       : ", graphs off: " + lm->graph_error()));
    row("decode / roofline", fmt("%.0f %%", 100 * roofline),
        fmt("weights read per token over copy bandwidth (target >= 75%%; %.0f tok/s at 100%%)",
            bw * 1e9 / lm->weight_bytes()));
  }
  lm->set_graphs(true);
  // The vision tower on one 1920x1080 screenshot (smart-resized to 1932x1092: 78 x 138 patches).
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
    auto tower = engine::CudaVisionTower::create_random(v, true, 99, &error);
    if (!tower) {
      std::fprintf(stderr, "bench_gpu: vision: %s\n", error.c_str());
      return 1;
    }
    row("random vision weights", fmt("%.2f GB", tower->weight_bytes() / 1e9), fmt("made in %.0f ms", ms_since(t)));
    engine::ImagePatches image;
    image.grid_t = 1;
    image.grid_h = 78;
    image.grid_w = 138;
    image.pixel_values = random_embeddings(image.patches(), 3 * 2 * 14 * 14);
    std::vector<float> features;
    double best = 1e18;
    for (int rep = 0; rep < 3; ++rep) {
      t = clock_type::now();
      if (!tower->encode(image, &features, &error)) {
        std::fprintf(stderr, "bench_gpu: vision: %s\n", error.c_str());
        return 1;
      }
      best = std::min(best, ms_since(t));
    }
    vision_ms = best;
    row("vision tower, one 1920x1080 screenshot", fmt("%.1f ms", best),
        fmt("10764 patches -> %.0f tokens, best of 3", static_cast<double>(features.size() / c.hidden_size)));
  }
  // Prefill of one screenshot's tokens.
  {
    const int64_t n = 2691 + 60;  // the screenshot's tokens and the prompt's text
    auto cache = lm->new_cache(n, &error);
    const auto x = random_embeddings(n, c.hidden_size);
    double best = 1e18;
    for (int rep = 0; rep < 3 && cache; ++rep) {
      cache->truncate(0);
      t = clock_type::now();
      if (!lm->forward(x.data(), n, engine::text_positions(0, n).data(), cache.get(), logits.data(), false, &error)) {
        std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
        return 1;
      }
      best = std::min(best, ms_since(t));
    }
    row("prefill, 2751 tokens (one 1920x1080 shot + text)", fmt("%.1f ms", best), "best of 3");
    row("time to first token (vision + prefill)", fmt("%.1f ms", vision_ms + best), "target <= 120 ms on an H200");
  }
  // One agent step: the history's KV cache reused, the new screenshot and a
  // little text prefilled, then the answer.
  {
    const int64_t cached = 11000, fresh = 2741, answer = 30;
    auto cache = lm->new_cache(cached + fresh + answer, &error);
    if (!cache) {
      std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
      return 1;
    }
    for (int64_t at = 0; at < cached; at += 2750) {  // the history, in chunks
      const int64_t n = std::min<int64_t>(2750, cached - at);
      const auto x = random_embeddings(n, c.hidden_size);
      lm->forward(x.data(), n, engine::text_positions(at, n).data(), cache.get(), logits.data(), false, &error);
    }
    const auto x = random_embeddings(fresh, c.hidden_size);
    t = clock_type::now();
    bool ok = lm->forward(x.data(), fresh, engine::text_positions(cached, fresh).data(), cache.get(), logits.data(),
                          false, &error);
    const double prefill = ms_since(t);
    t = clock_type::now();
    for (int64_t i = 0; ok && i < answer; ++i)
      ok = lm->forward(x.data(), 1, engine::text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                       false, &error);
    if (!ok) {
      std::fprintf(stderr, "bench_gpu: %s\n", error.c_str());
      return 1;
    }
    const double decode = ms_since(t);
    row("agent step (model time)", fmt("%.0f ms", prefill + decode),
        fmt("%.0f ms prefill of 2741 after 11000 cached + 30 tokens in ", prefill) + fmt("%.0f ms", decode));
  }
  return 0;
}
