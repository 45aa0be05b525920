// The quantized-model benchmark (scripts/bench.sh quant):
//
//   bench_quant make OUT.gguf SHAPE TYPE TOKENIZER.json
//       a random-weight GGUF text model of SHAPE (7b: UI-TARS-1.5-7B's
//       decoder; 0.5b: Qwen2-0.5B's) with TYPE's recipe (q4_k_m, q8_0,
//       bf16, ...; engine/quantize.h) and the real Qwen2 tokenizer, so that
//       llama.cpp's llama-bench and deskpilot run the same file. The blocks
//       are random bytes with small scales: the values do not matter to speed.
//   bench_quant run MODEL.gguf PROMPT_TOKENS DECODE_TOKENS
//       load time, prefill and decode tok/s, peak RSS, and this machine's
//       read bandwidth (a plain read loop over 2 GB, all threads, right after
//       the decode it bounds) and weight bytes per token, the roofline's terms.
//   bench_quant gemm M K N TYPE
//       prefill's linear() of M rows against random (N, K) weights of TYPE
//       (q4_k, q8_0, bf16, ...): GFLOPS of the fused GEMM and of the
//       OpenBLAS path (blocks converted to FP32, SGEMM) in the same run,
//       the best of 5 each.
//   bench_quant bandwidth
#include <omp.h>
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <random>
#include <string>
#include <vector>

#include "engine/generate.h"
#include "engine/gguf_writer.h"
#include "engine/model.h"
#include "engine/quantize.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/gemm_amx.h"
#include "kernels/cpu/gemm_bf16.h"
#include "kernels/cpu/gemm_vnni.h"
#include "kernels/cpu/quant_dot.h"
#include "kernels/quant.h"

using namespace deskpilot;
using kernels::DType;

namespace {

double now_s() { return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count(); }

double peak_rss_mb() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_maxrss) / 1024.0;
}

// GB/s of reading a 2 GB buffer, the median of 5, every thread on its share: an
// integer sum, which the compiler vectorizes (a float sum would be bound by
// the latency of its additions, not by memory).
double read_bandwidth_gbs() {
  const size_t n = (size_t{2} << 30) / sizeof(uint64_t);
  std::vector<uint64_t> buf(n, 1);
  std::vector<double> runs;
  for (int rep = 0; rep < 5; ++rep) {
    const double t0 = now_s();
    uint64_t total = 0;
#pragma omp parallel for reduction(+ : total) schedule(static)
    for (size_t i = 0; i < n; ++i) total += buf[i];
    const double s = now_s() - t0;
    if (total != n) std::printf("bad sum %lu\n", static_cast<unsigned long>(total));
    runs.push_back(static_cast<double>(n * sizeof(uint64_t)) / s / 1e9);
  }
  std::sort(runs.begin(), runs.end());
  return runs[2];
}

struct Shape {
  int64_t layers, hidden, intermediate, heads, kv_heads, vocab;
  bool tied;
};

// Random blocks: random quants, small finite scales.
void random_blocks(DType t, uint8_t* dst, uint64_t bytes, uint64_t seed) {
  std::mt19937_64 rng(seed);
  for (uint64_t i = 0; i + 8 <= bytes; i += 8) {
    const uint64_t r = rng();
    std::memcpy(dst + i, &r, 8);
  }
  const uint16_t small = kernels::f32_to_f16(0.002f), tiny = kernels::f32_to_f16(0.0005f);
  const int64_t block = kernels::dtype_block_bytes(t);
  for (uint64_t b = 0; b + block <= bytes; b += block) {
    uint8_t* p = dst + b;
    switch (t) {
      case DType::kQ8_0:
      case DType::kQ4_0:
        std::memcpy(p, &small, 2);
        break;
      case DType::kQ4_K:
      case DType::kQ5_K:
        std::memcpy(p, &tiny, 2);
        std::memcpy(p + 2, &tiny, 2);
        break;
      case DType::kQ6_K:
        std::memcpy(p + 208, &tiny, 2);
        break;
      case DType::kBF16:
      case DType::kF16: {
        const uint16_t v = t == DType::kBF16 ? kernels::f32_to_bf16(0.01f) : kernels::f32_to_f16(0.01f);
        for (int64_t k = 0; k < block; k += 2) {
          const uint16_t x = static_cast<uint16_t>(v | ((p[k] & 1) << 15));  // a random sign
          std::memcpy(p + k, &x, 2);
        }
        break;
      }
      default:
        break;
    }
  }
}

int make(const std::string& out, const std::string& shape_name, const std::string& type, const std::string& tokenizer) {
  const Shape s =
      shape_name == "7b" ? Shape{28, 3584, 18944, 28, 4, 152064, false} : Shape{24, 896, 4864, 14, 2, 151936, true};
  std::string error;
  const auto recipe = engine::parse_quant_recipe(type, &error);
  if (!recipe) return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  engine::GgufWriter w;
  w.set_string("general.architecture", "qwen2vl");
  w.set_string("general.name", "random-" + shape_name + "-" + type);
  w.set_u32("qwen2vl.block_count", static_cast<uint32_t>(s.layers));
  w.set_u32("qwen2vl.context_length", 32768);
  w.set_u32("qwen2vl.embedding_length", static_cast<uint32_t>(s.hidden));
  w.set_u32("qwen2vl.feed_forward_length", static_cast<uint32_t>(s.intermediate));
  w.set_u32("qwen2vl.attention.head_count", static_cast<uint32_t>(s.heads));
  w.set_u32("qwen2vl.attention.head_count_kv", static_cast<uint32_t>(s.kv_heads));
  const int64_t half = s.hidden / s.heads / 2;
  w.set_i32s("qwen2vl.rope.dimension_sections", {half / 4, half * 3 / 8, half - half / 4 - half * 3 / 8, 0});
  w.set_f32("qwen2vl.rope.freq_base", 1000000.0f);
  w.set_f32("qwen2vl.attention.layer_norm_rms_epsilon", 1e-6f);
  if (!engine::set_gguf_tokenizer_from_json(tokenizer, s.vocab, &w, &error))
    return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  w.set_u32("tokenizer.ggml.eos_token_id", 151645);
  w.set_u32("general.quantization_version", 2);
  w.set_u32("general.file_type", recipe->ggml_file_type);
  uint64_t seed = 1;
  const auto matrix = [&](const std::string& name, const std::string& role, int64_t layer, int64_t rows, int64_t cols) {
    const DType t = engine::quant_type_for(*recipe, role, layer, s.layers, cols);
    const uint64_t sd = seed++;
    w.add_tensor(name, t, {rows, cols}, [t, sd](uint8_t* dst, uint64_t bytes) { random_blocks(t, dst, bytes, sd); });
  };
  const auto vector = [&](const std::string& name, int64_t n, float value) {
    w.add_tensor(name, DType::kF32, {n}, [value](uint8_t* dst, uint64_t bytes) {
      for (uint64_t i = 0; i < bytes; i += 4) std::memcpy(dst + i, &value, 4);
    });
  };
  const int64_t hd = s.hidden / s.heads, kv = s.kv_heads * hd;
  matrix("token_embd.weight", "token_embd", -1, s.vocab, s.hidden);
  vector("output_norm.weight", s.hidden, 1.0f);
  if (!s.tied) matrix("output.weight", "output", -1, s.vocab, s.hidden);
  for (int64_t l = 0; l < s.layers; ++l) {
    const std::string p = "blk." + std::to_string(l) + ".";
    vector(p + "attn_norm.weight", s.hidden, 1.0f);
    matrix(p + "attn_q.weight", "attn_q", l, s.hidden, s.hidden);
    vector(p + "attn_q.bias", s.hidden, 0.0f);
    matrix(p + "attn_k.weight", "attn_k", l, kv, s.hidden);
    vector(p + "attn_k.bias", kv, 0.0f);
    matrix(p + "attn_v.weight", "attn_v", l, kv, s.hidden);
    vector(p + "attn_v.bias", kv, 0.0f);
    matrix(p + "attn_output.weight", "attn_output", l, s.hidden, s.hidden);
    vector(p + "ffn_norm.weight", s.hidden, 1.0f);
    matrix(p + "ffn_gate.weight", "ffn_gate", l, s.intermediate, s.hidden);
    matrix(p + "ffn_up.weight", "ffn_up", l, s.intermediate, s.hidden);
    matrix(p + "ffn_down.weight", "ffn_down", l, s.hidden, s.intermediate);
  }
  if (!w.write(out, &error)) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  std::printf("wrote %s\n", out.c_str());
  return 0;
}

int run(const std::string& path, int64_t prompt_tokens, int64_t decode_tokens) {
  std::string error;
  // BENCH_PREFILL_GEMM=blas|fused|amx|vnni|avx2|bf16: another prefill path than the default, to compare in one run.
  const char* gemm_env = std::getenv("BENCH_PREFILL_GEMM");
  const std::string gemm_path = gemm_env ? gemm_env : "auto";
  if (gemm_path == "blas") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kBlas);
  } else if (gemm_path == "fused") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kFused);
  } else if (gemm_path == "amx") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kAmx);
  } else if (gemm_path == "vnni") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kVnni);
  } else if (gemm_path == "avx2") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kAvx2);
  } else if (gemm_path == "bf16") {
    kernels::set_prefill_gemm(kernels::PrefillGemm::kBf16);
  } else if (gemm_path != "auto") {
    return std::fprintf(stderr, "BENCH_PREFILL_GEMM=%s: expected auto, blas, fused, amx, vnni, avx2 or bf16\n",
                        gemm_path.c_str()),
           2;
  }
  const double t0 = now_s();
  auto model = engine::Model::load(path, &error);
  if (!model) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  const double load_s = now_s() - t0;
  engine::Prompt prompt;
  std::mt19937 rng(7);
  for (int64_t i = 0; i < prompt_tokens; ++i) prompt.ids.push_back(static_cast<int32_t>(rng() % 150000));
  engine::GenerateOptions options;
  options.max_tokens = decode_tokens;
  options.ignore_eos = true;
  engine::GenerateResult r;
  // A warm-up: the first pass faults the mapped weights in.
  {
    engine::Prompt warm;
    warm.ids = {1, 2, 3, 4};
    engine::GenerateOptions o = options;
    o.max_tokens = 2;
    if (!engine::generate(*model, warm, o, nullptr, &r, &error)) return std::fprintf(stderr, "%s\n", error.c_str()), 1;
  }
  // Three runs; the median of each speed (this machine's neighbours make single runs noisy).
  std::vector<double> prefills, decodes;
  for (int rep = 0; rep < 3; ++rep) {
    if (!engine::generate(*model, prompt, options, nullptr, &r, &error))
      return std::fprintf(stderr, "%s\n", error.c_str()), 1;
    prefills.push_back(static_cast<double>(prompt_tokens) / (r.prefill_ms / 1000));
    decodes.push_back(static_cast<double>(r.generated_ids.size() - 1) / (r.decode_ms / 1000));
  }
  std::sort(prefills.begin(), prefills.end());
  std::sort(decodes.begin(), decodes.end());
  const double prefill_tps = prefills[1], decode_tps = decodes[1];
  const double weight_gb = static_cast<double>(model->decoder().weight_bytes()) / 1e9;
  const double rss_mb = peak_rss_mb();  // before the bandwidth loop's own 2 GB
  // The roofline's bandwidth right after the decode it bounds: on a shared
  // machine it moves by a third from minute to minute.
  const double bandwidth = read_bandwidth_gbs();
  std::printf(
      "deskpilot model=%s prompt_tokens=%ld prefill_tps=%.2f decode_tps=%.3f weight_gb_per_token=%.3f "
      "read_bandwidth_gbs=%.2f load_s=%.3f peak_rss_mb=%.0f threads=%d isa=%s prefill_gemm=%s\n",
      path.c_str(), static_cast<long>(prompt_tokens), prefill_tps, decode_tps, weight_gb, bandwidth, load_s, rss_mb,
      omp_get_max_threads(), kernels::quant_dot_isa(), gemm_path.c_str());
  return 0;
}

int gemm(int64_t m, int64_t k, int64_t n, const std::string& type_name) {
  std::string error;
  const auto recipe = engine::parse_quant_recipe(type_name, &error);
  if (!recipe) return std::fprintf(stderr, "%s\n", error.c_str()), 2;
  const DType t = engine::quant_type_for(*recipe, "ffn_up", 0, 1, k);
  std::vector<uint8_t> w(static_cast<size_t>(kernels::dtype_bytes(t, n * k)));
  random_blocks(t, w.data(), w.size(), 5);
  std::vector<float> x(static_cast<size_t>(m * k)), y(static_cast<size_t>(m * n));
  std::mt19937 rng(3);
  std::normal_distribution<float> dist;
  for (float& v : x) v = dist(rng);
  const auto best_gflops = [&](kernels::PrefillGemm g) {
    kernels::set_prefill_gemm(g);
    double best = 0;
    for (int rep = 0; rep < 5; ++rep) {
      const double t0 = now_s();
      kernels::linear(x.data(), m, k, w.data(), t, n, nullptr, y.data());
      best = std::max(best, 2.0 * static_cast<double>(m * k * n) / (now_s() - t0) / 1e9);
    }
    return best;
  };
  // Each path against the convert-plus-OpenBLAS one, measured in the same run.
  const double blas = best_gflops(kernels::PrefillGemm::kBlas);
  const auto report = [&](const char* path, kernels::PrefillGemm g) {
    const double gflops = best_gflops(g);
    std::printf("gemm m=%ld k=%ld n=%ld type=%s %s_gflops=%.1f blas_gflops=%.1f ratio=%.2f threads=%d\n",
                static_cast<long>(m), static_cast<long>(k), static_cast<long>(n),
                std::string(kernels::dtype_name(t)).c_str(), path, gflops, blas, gflops / blas, omp_get_max_threads());
  };
  report("fused", kernels::PrefillGemm::kFused);
  if (kernels::is_quantized(t) && kernels::has_amx_gemm()) report("amx_bf16", kernels::PrefillGemm::kAmx);
  if (kernels::is_quantized(t) && kernels::has_vnni_gemm()) report("vnni_int8", kernels::PrefillGemm::kVnni);
  if (kernels::is_quantized(t) && t != DType::kQ8_0 && kernels::has_avx2_int_gemm())
    report("avx2_int8", kernels::PrefillGemm::kAvx2);
  if (t == DType::kBF16 && kernels::has_bf16_gemm()) report("dpbf16", kernels::PrefillGemm::kBf16);
  kernels::set_prefill_gemm(kernels::PrefillGemm::kAuto);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string cmd = argc > 1 ? argv[1] : "";
  if (cmd == "make" && argc == 6) return make(argv[2], argv[3], argv[4], argv[5]);
  if (cmd == "run" && argc == 5) return run(argv[2], std::stoll(argv[3]), std::stoll(argv[4]));
  if (cmd == "gemm" && argc == 6) return gemm(std::stoll(argv[2]), std::stoll(argv[3]), std::stoll(argv[4]), argv[5]);
  if (cmd == "bandwidth") {
    std::printf("read_bandwidth_gbs=%.2f threads=%d\n", read_bandwidth_gbs(), omp_get_max_threads());
    return 0;
  }
  std::fprintf(stderr,
               "usage: bench_quant make OUT.gguf 7b|0.5b TYPE TOKENIZER.json | run MODEL.gguf PROMPT DECODE | "
               "gemm M K N TYPE | bandwidth\n");
  return 2;
}
