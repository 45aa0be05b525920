#include "engine/cuda_lm.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>

#include "kernels/cpu/rope.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/rope.h"

namespace deskpilot::engine {
namespace {

namespace kc = kernels::cuda;

// The first CUDA failure of a sequence of calls, with what was being done.
struct Check {
  std::string* error;
  bool ok = true;
  bool operator()(cudaError_t e, const char* what) {
    if (ok && e != cudaSuccess) {
      ok = false;
      *error = std::string(what) + ": " + cudaGetErrorString(e);
    }
    return ok;
  }
};

template <typename T>
T* device_alloc(size_t n, Check& check, const char* what) {
  void* p = nullptr;
  if (!check(cudaMalloc(&p, std::max<size_t>(n, 1) * sizeof(T)), what)) return nullptr;
  return static_cast<T*>(p);
}

// A weight matrix on the device, BF16 (n, k).
struct DeviceMatrix {
  uint16_t* data = nullptr;
  int64_t rows = 0, cols = 0;
};

DeviceMatrix upload_matrix(const Matrix& m, Check& check, int64_t* bytes) {
  DeviceMatrix d{nullptr, m.rows, m.cols};
  const size_t n = static_cast<size_t>(m.rows * m.cols);
  d.data = device_alloc<uint16_t>(n, check, "weights");
  if (!d.data) return d;
  if (m.dtype == kernels::DType::kBF16) {
    check(cudaMemcpy(d.data, m.data, n * 2, cudaMemcpyHostToDevice), "weights upload");
  } else {
    // Round once to BF16 on the host, a row block at a time.
    const size_t block = 1 << 20;
    std::vector<float> f(block);
    std::vector<uint16_t> b(block);
    for (size_t at = 0; at < n && check.ok; at += block) {
      const size_t len = std::min(block, n - at);
      const auto* src = static_cast<const uint8_t*>(m.data) + at * kernels::dtype_size(m.dtype);
      kernels::convert_to_f32(m.dtype, src, f.data(), len);
      for (size_t i = 0; i < len; ++i) b[i] = kernels::f32_to_bf16(f[i]);
      check(cudaMemcpy(d.data + at, b.data(), len * 2, cudaMemcpyHostToDevice), "weights upload");
    }
  }
  *bytes += static_cast<int64_t>(n * 2);
  return d;
}

float* upload_vector(const std::vector<float>& v, Check& check) {
  float* d = device_alloc<float>(v.size(), check, "weights");
  if (d && !v.empty()) check(cudaMemcpy(d, v.data(), v.size() * 4, cudaMemcpyHostToDevice), "weights upload");
  return d;
}

struct DeviceLayer {
  float *input_norm, *post_norm, *q_bias, *k_bias, *v_bias;  // (hidden) x2, biases
  DeviceMatrix q, k, v, o, gate, up, down;
};

}  // namespace

struct CudaLanguageModel::Impl {
  cudaStream_t stream = nullptr;
  std::unique_ptr<kc::Gemm> gemm;
  std::vector<DeviceLayer> layers;
  std::vector<void*> allocations;  // everything to free
  DeviceMatrix lm_head;
  float* final_norm = nullptr;
  float* inv_freq = nullptr;     // (head_dim / 2)
  int32_t* rope_stream = nullptr;  // (head_dim / 2)
  // Work buffers for up to `rows` tokens, grown on demand.
  int64_t rows = 0;
  float *h = nullptr, *x = nullptr, *q = nullptr, *attn = nullptr, *gate = nullptr, *up = nullptr;
  float *cos = nullptr, *sin = nullptr, *logits = nullptr;
  int64_t* positions = nullptr;
  uint16_t* scratch = nullptr;
  int64_t logit_rows = 0;  // rows `logits` holds (the last token's only, unless all are asked)

  bool reserve_logits(int64_t n, int64_t vocab, Check& check) {
    if (n <= logit_rows) return true;
    cudaFree(logits);
    logits = device_alloc<float>(n * vocab, check, "logits");
    logit_rows = check.ok ? n : 0;
    return check.ok;
  }

  void free_work() {
    for (void* p : {static_cast<void*>(h), static_cast<void*>(x), static_cast<void*>(q), static_cast<void*>(attn),
                    static_cast<void*>(gate), static_cast<void*>(up), static_cast<void*>(cos), static_cast<void*>(sin),
                    static_cast<void*>(positions), static_cast<void*>(scratch)})
      cudaFree(p);
    h = x = q = attn = gate = up = cos = sin = nullptr;
    positions = nullptr;
    scratch = nullptr;
    rows = 0;
  }

  bool reserve(int64_t n, const TextConfig& c, Check& check) {
    if (n <= rows) return true;
    free_work();
    const int64_t d = c.hidden_size, qd = c.num_heads * c.head_dim, inter = c.intermediate_size;
    h = device_alloc<float>(n * d, check, "work buffers");
    x = device_alloc<float>(n * std::max(d, qd), check, "work buffers");
    q = device_alloc<float>(n * qd, check, "work buffers");
    attn = device_alloc<float>(n * qd, check, "work buffers");
    gate = device_alloc<float>(n * inter, check, "work buffers");
    up = device_alloc<float>(n * inter, check, "work buffers");
    cos = device_alloc<float>(n * c.head_dim, check, "work buffers");
    sin = device_alloc<float>(n * c.head_dim, check, "work buffers");
    positions = device_alloc<int64_t>(3 * n, check, "work buffers");
    scratch = device_alloc<uint16_t>(n * std::max({d, qd, inter}), check, "work buffers");
    if (check.ok) rows = n;
    return check.ok;
  }

  // The stream and the cuBLAS handle bound to it.
  bool start(Check& check) {
    if (!check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate")) return false;
    gemm = kc::Gemm::create(stream, check.error);
    return check.ok = gemm != nullptr;
  }

  // M-RoPE's inverse frequencies and stream of each, as the CPU computes them.
  void upload_rope_tables(const TextConfig& c, Check& check) {
    const int64_t half = c.head_dim / 2;
    std::vector<float> freq(static_cast<size_t>(half));
    std::vector<int32_t> streams(static_cast<size_t>(half));
    const int64_t section[3] = {c.mrope_section[0], c.mrope_section[1], c.mrope_section[2]};
    kernels::mrope_frequencies(c.head_dim, c.rope_theta, section, freq.data(), streams.data());
    inv_freq = upload_vector(freq, check);
    allocations.push_back(inv_freq);
    rope_stream = device_alloc<int32_t>(streams.size(), check, "rope tables");
    allocations.push_back(rope_stream);
    if (rope_stream)
      check(cudaMemcpy(rope_stream, streams.data(), streams.size() * 4, cudaMemcpyHostToDevice), "rope tables");
  }

  ~Impl() {
    free_work();
    cudaFree(logits);
    gemm.reset();
    for (void* p : allocations) cudaFree(p);
    if (stream) cudaStreamDestroy(stream);
  }
};

CudaLanguageModel::CudaLanguageModel(TextConfig config, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), impl_(std::move(impl)) {}
CudaLanguageModel::~CudaLanguageModel() = default;

CudaKvCache::~CudaKvCache() {
  for (float* p : k_) cudaFree(p);
  for (float* p : v_) cudaFree(p);
}

std::unique_ptr<CudaLanguageModel> CudaLanguageModel::create(const Qwen2LanguageModel& cpu, std::string* error) {
  const TextConfig& c = cpu.config();
  auto impl = std::make_unique<Impl>();
  Check check{error};
  if (!impl->start(check)) return nullptr;
  int64_t bytes = 0;
  const auto keep = [&](void* p) { impl->allocations.push_back(p); };
  for (const DecoderLayer& L : cpu.layers()) {
    DeviceLayer d{};
    d.input_norm = upload_vector(L.input_norm, check);
    d.post_norm = upload_vector(L.post_attention_norm, check);
    d.q_bias = upload_vector(L.q_bias, check);
    d.k_bias = upload_vector(L.k_bias, check);
    d.v_bias = upload_vector(L.v_bias, check);
    d.q = upload_matrix(L.q, check, &bytes);
    d.k = upload_matrix(L.k, check, &bytes);
    d.v = upload_matrix(L.v, check, &bytes);
    d.o = upload_matrix(L.o, check, &bytes);
    d.gate = upload_matrix(L.gate, check, &bytes);
    d.up = upload_matrix(L.up, check, &bytes);
    d.down = upload_matrix(L.down, check, &bytes);
    for (void* p : {static_cast<void*>(d.input_norm), static_cast<void*>(d.post_norm), static_cast<void*>(d.q_bias),
                    static_cast<void*>(d.k_bias), static_cast<void*>(d.v_bias), static_cast<void*>(d.q.data),
                    static_cast<void*>(d.k.data), static_cast<void*>(d.v.data), static_cast<void*>(d.o.data),
                    static_cast<void*>(d.gate.data), static_cast<void*>(d.up.data), static_cast<void*>(d.down.data)})
      keep(p);
    impl->layers.push_back(d);
    if (!check.ok) return nullptr;
  }
  impl->lm_head = upload_matrix(cpu.lm_head(), check, &bytes);
  keep(impl->lm_head.data);
  impl->final_norm = upload_vector(cpu.final_norm(), check);
  keep(impl->final_norm);
  impl->upload_rope_tables(c, check);
  if (!check.ok) return nullptr;
  std::unique_ptr<CudaLanguageModel> m(new CudaLanguageModel(c, std::move(impl)));
  m->weight_bytes_ = bytes;
  return m;
}

std::unique_ptr<CudaLanguageModel> CudaLanguageModel::create_random(const TextConfig& c, uint64_t seed,
                                                                    std::string* error) {
  auto impl = std::make_unique<Impl>();
  Check check{error};
  if (!impl->start(check)) return nullptr;
  int64_t bytes = 0;
  const auto matrix = [&](int64_t rows, int64_t cols) {
    DeviceMatrix d{device_alloc<uint16_t>(static_cast<size_t>(rows * cols), check, "weights"), rows, cols};
    if (d.data) {
      impl->allocations.push_back(d.data);
      // Scaled like an initialised layer (1 / sqrt(cols)), so activations stay finite.
      check(kc::fill_random_bf16(d.data, rows * cols, seed++, 1.f / std::sqrt(static_cast<float>(cols)), impl->stream),
            "random weights");
      bytes += rows * cols * 2;
    }
    return d;
  };
  const auto vector = [&](int64_t n, float center, float spread) {
    float* p = device_alloc<float>(static_cast<size_t>(n), check, "weights");
    if (p) {
      impl->allocations.push_back(p);
      std::vector<float> host(static_cast<size_t>(n));
      for (int64_t i = 0; i < n; ++i) host[i] = center + spread * static_cast<float>((i * 7919) % 101 - 50) / 50.f;
      check(cudaMemcpy(p, host.data(), n * 4, cudaMemcpyHostToDevice), "weights upload");
    }
    return p;
  };
  const int64_t d = c.hidden_size, qd = c.num_heads * c.head_dim, kvd = c.num_kv_heads * c.head_dim;
  for (int64_t l = 0; l < c.num_layers && check.ok; ++l) {
    DeviceLayer L{};
    L.input_norm = vector(d, 1.f, 0.1f);
    L.post_norm = vector(d, 1.f, 0.1f);
    L.q_bias = vector(qd, 0.f, 0.02f);
    L.k_bias = vector(kvd, 0.f, 0.02f);
    L.v_bias = vector(kvd, 0.f, 0.02f);
    L.q = matrix(qd, d);
    L.k = matrix(kvd, d);
    L.v = matrix(kvd, d);
    L.o = matrix(d, qd);
    L.gate = matrix(c.intermediate_size, d);
    L.up = matrix(c.intermediate_size, d);
    L.down = matrix(d, c.intermediate_size);
    impl->layers.push_back(L);
  }
  impl->lm_head = matrix(c.vocab_size, d);
  impl->final_norm = vector(d, 1.f, 0.1f);
  impl->upload_rope_tables(c, check);
  check(cudaStreamSynchronize(impl->stream), "random weights");
  if (!check.ok) return nullptr;
  std::unique_ptr<CudaLanguageModel> m(new CudaLanguageModel(c, std::move(impl)));
  m->weight_bytes_ = bytes;
  return m;
}

std::unique_ptr<CudaKvCache> CudaLanguageModel::new_cache(int64_t capacity, std::string* error) const {
  std::unique_ptr<CudaKvCache> cache(new CudaKvCache());
  cache->row_ = config_.num_kv_heads * config_.head_dim;
  cache->capacity_ = capacity;
  Check check{error};
  for (int64_t l = 0; l < config_.num_layers; ++l) {
    cache->k_.push_back(device_alloc<float>(static_cast<size_t>(capacity * cache->row_), check, "KV cache"));
    cache->v_.push_back(device_alloc<float>(static_cast<size_t>(capacity * cache->row_), check, "KV cache"));
    if (!check.ok) return nullptr;
  }
  return cache;
}

bool CudaLanguageModel::forward(const float* embeddings, int64_t n, const int64_t* positions, CudaKvCache* cache,
                                float* logits, bool all_logits, std::string* error) {
  const TextConfig& c = config_;
  const int64_t d = c.hidden_size, hd = c.head_dim, heads = c.num_heads, kv_heads = c.num_kv_heads;
  const int64_t inter = c.intermediate_size, past = cache->length(), kv_row = kv_heads * hd, vocab = c.vocab_size;
  const float eps = static_cast<float>(c.rms_norm_eps);
  if (n <= 0 || past + n > cache->capacity()) {
    *error = "CUDA forward: " + std::to_string(n) + " tokens do not fit the KV cache (" +
             std::to_string(cache->capacity() - past) + " free)";
    return false;
  }
  Impl& w = *impl_;
  Check check{error};
  if (!w.reserve(n, c, check)) return false;
  cudaStream_t s = w.stream;
  check(cudaMemcpyAsync(w.h, embeddings, n * d * 4, cudaMemcpyHostToDevice, s), "upload embeddings");
  check(cudaMemcpyAsync(w.positions, positions, 3 * n * 8, cudaMemcpyHostToDevice, s), "upload positions");
  check(kc::mrope_cos_sin(w.positions, n, hd, w.inv_freq, w.rope_stream, w.cos, w.sin, s), "mrope_cos_sin");
  const auto linear = [&](const float* in, const DeviceMatrix& m, const float* bias, float* out) {
    if (check.ok && !w.gemm->linear_bf16(in, n, m.cols, m.data, m.rows, bias, out, w.scratch, error)) check.ok = false;
  };
  for (int64_t l = 0; l < c.num_layers && check.ok; ++l) {
    const DeviceLayer& L = w.layers[l];
    float* k_rows = cache->k_[l] + past * kv_row;  // (n, kv_heads, head_dim) new cache rows
    float* v_rows = cache->v_[l] + past * kv_row;
    check(kc::rmsnorm_f32(w.h, L.input_norm, w.x, n, d, eps, s), "rmsnorm");
    linear(w.x, L.q, L.q_bias, w.q);
    linear(w.x, L.k, L.k_bias, k_rows);
    linear(w.x, L.v, L.v_bias, v_rows);
    check(kc::rope_apply(w.q, n, heads, hd, w.cos, w.sin, s), "rope q");
    check(kc::rope_apply(k_rows, n, kv_heads, hd, w.cos, w.sin, s), "rope k");
    check(kc::attention_causal(w.q, cache->k_[l], cache->v_[l], w.attn, n, past, heads, kv_heads, hd, s), "attention");
    linear(w.attn, L.o, nullptr, w.x);
    check(kc::add_inplace(w.h, w.x, n * d, s), "residual");
    check(kc::rmsnorm_f32(w.h, L.post_norm, w.x, n, d, eps, s), "rmsnorm");
    linear(w.x, L.gate, nullptr, w.gate);
    linear(w.x, L.up, nullptr, w.up);
    check(kc::silu_mul(w.gate, w.up, w.gate, n * inter, s), "silu_mul");
    linear(w.gate, L.down, nullptr, w.x);
    check(kc::add_inplace(w.h, w.x, n * d, s), "residual");
  }
  const int64_t rows = all_logits ? n : 1;
  if (!w.reserve_logits(rows, vocab, check)) return false;
  check(kc::rmsnorm_f32(w.h + (n - rows) * d, w.final_norm, w.x, rows, d, eps, s), "final norm");
  if (check.ok && !w.gemm->linear_bf16(w.x, rows, d, w.lm_head.data, w.lm_head.rows, nullptr, w.logits, w.scratch,
                                       error))
    return false;
  check(cudaMemcpyAsync(logits, w.logits, rows * vocab * 4, cudaMemcpyDeviceToHost, s), "download logits");
  check(cudaStreamSynchronize(s), "forward");
  if (!check.ok) return false;
  cache->length_ += n;
  return true;
}

}  // namespace deskpilot::engine
