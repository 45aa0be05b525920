#include "engine/cuda_lm.h"

#include <cuda_runtime.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <tuple>

#include "engine/cuda_util.h"
#include "kernels/cpu/rope.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/flash_attention.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/quant.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/rope.h"
#include "kernels/cuda/sampling.h"

namespace deskpilot::engine {
namespace {

namespace kc = kernels::cuda;
using cuda_util::Allocations;
using cuda_util::next_epoch;
using cuda_util::Check;
using cuda_util::DeviceMatrix;

struct DeviceLayer {
  float *input_norm = nullptr, *post_norm = nullptr;  // (hidden)
  float* qkv_bias = nullptr;                           // (q_dim + 2 kv_dim)
  DeviceMatrix qkv;      // (q_dim + 2 kv_dim, hidden): q, k, v stacked
  DeviceMatrix o;        // (hidden, q_dim)
  DeviceMatrix gate_up;  // (2 intermediate, hidden): gate, up stacked
  DeviceMatrix down;     // (hidden, intermediate)
};

// Work buffers for up to `rows` tokens at a time, (re)allocated together.
struct Work {
  int64_t rows = 0;
  uint64_t epoch = 0;  // next_epoch() on reallocation (a captured graph points into them)
  float* h = nullptr;      // (rows, hidden) residual stream
  float* qkv = nullptr;    // (rows, q_dim + 2 kv_dim) fused projection, before its bias
  float* q = nullptr;      // (rows, q_dim) rotated queries
  float* attn = nullptr;   // (rows, q_dim)
  float* gu = nullptr;     // (rows, 2 intermediate)
  float* cos = nullptr;    // (rows, head_dim)
  float* sin = nullptr;    // (rows, head_dim)
  int64_t* positions = nullptr;  // (3, rows)
  int64_t* past = nullptr;       // (rows) cache length of each sequence before the step
  uint16_t* scratch = nullptr;   // (rows, max(hidden, q_dim, intermediate)) BF16 GEMM input (normed, activated)
  float* split = nullptr;        // split-key decode attention's partial states: split_rows caches up to split_capacity
  int64_t split_capacity = 0, split_rows = 0;
  uint16_t** rows_k = nullptr;   // (layers, rows) a batched step's cache of each row, per layer (device tables)
  uint16_t** rows_v = nullptr;

  void free() {
    for (void* p : {static_cast<void*>(h), static_cast<void*>(qkv), static_cast<void*>(q), static_cast<void*>(attn),
                    static_cast<void*>(gu), static_cast<void*>(cos), static_cast<void*>(sin),
                    static_cast<void*>(positions), static_cast<void*>(past), static_cast<void*>(scratch),
                    static_cast<void*>(split), static_cast<void*>(rows_k), static_cast<void*>(rows_v)})
      cudaFree(p);
    *this = Work{0, epoch};
  }

  // Room for decode attention over `count` caches of up to `capacity` tokens.
  bool reserve_split(int64_t capacity, int64_t count, const TextConfig& c, Check& check) {
    if (capacity <= split_capacity && count <= split_rows) return true;
    capacity = std::max(capacity, split_capacity);
    count = std::max(count, split_rows);
    cudaFree(split);
    split = nullptr;
    split_capacity = split_rows = 0;
    epoch = next_epoch();
    split = alloc<float>(count * kc::attention_decode_workspace(capacity, c.num_heads, c.head_dim), check);
    if (!check.ok) return false;
    split_capacity = capacity;
    split_rows = count;
    return true;
  }

  template <typename T>
  static T* alloc(int64_t n, Check& check) {
    void* p = nullptr;
    check(cudaMalloc(&p, static_cast<size_t>(std::max<int64_t>(n, 1)) * sizeof(T)), "work buffers");
    return static_cast<T*>(p);
  }

  bool reserve(int64_t n, const TextConfig& c, Check& check) {
    if (n <= rows) return true;
    free();
    const int64_t d = c.hidden_size, qd = c.num_heads * c.head_dim, kvd = c.num_kv_heads * c.head_dim;
    const int64_t inter = c.intermediate_size;
    h = alloc<float>(n * d, check);
    qkv = alloc<float>(n * (qd + 2 * kvd), check);
    q = alloc<float>(n * qd, check);
    attn = alloc<float>(n * qd, check);
    gu = alloc<float>(n * 2 * inter, check);
    cos = alloc<float>(n * c.head_dim, check);
    sin = alloc<float>(n * c.head_dim, check);
    positions = alloc<int64_t>(3 * n, check);
    past = alloc<int64_t>(n, check);
    scratch = alloc<uint16_t>(n * std::max({d, qd, inter}), check);
    rows_k = alloc<uint16_t*>(c.num_layers * n, check);
    rows_v = alloc<uint16_t*>(c.num_layers * n, check);
    epoch = next_epoch();
    if (!check.ok) {
      free();
      return false;
    }
    rows = n;
    return true;
  }
};

// Pinned host buffers a captured decode step reads its inputs from and
// writes its logits to.
struct Staging {
  float* embedding = nullptr;  // (hidden)
  int64_t* positions = nullptr;  // (3)
  int64_t* past = nullptr;       // (1)
  float* logits = nullptr;       // (vocab)
  kc::TokenChoice* choice = nullptr;  // (1) how the step chooses its token
  int32_t* id = nullptr;              // (1) the token it chose
  bool allocate(int64_t hidden, int64_t vocab, Check& check) {
    check(cudaMallocHost(&embedding, hidden * 4), "pinned buffers");
    check(cudaMallocHost(&positions, 3 * 8), "pinned buffers");
    check(cudaMallocHost(&past, 8), "pinned buffers");
    check(cudaMallocHost(&logits, vocab * 4), "pinned buffers");
    check(cudaMallocHost(&choice, sizeof(kc::TokenChoice)), "pinned buffers");
    check(cudaMallocHost(&id, sizeof(int32_t)), "pinned buffers");
    return check.ok;
  }
  ~Staging() {
    for (void* p : {static_cast<void*>(embedding), static_cast<void*>(positions), static_cast<void*>(past),
                    static_cast<void*>(logits), static_cast<void*>(choice), static_cast<void*>(id)})
      if (p) cudaFreeHost(p);
  }
};

// Pinned inputs and outputs of a batched decode step, for up to `rows`
// sequences (grown on demand; a graph captured against them is keyed on
// `epoch`).
struct BatchStaging {
  int64_t rows = 0;
  uint64_t epoch = 0;
  float* embeddings = nullptr;  // (rows, hidden)
  int64_t* positions = nullptr;  // (3, rows) as (3, b) for a batch of b
  int64_t* past = nullptr;       // (rows)
  uint16_t** tables = nullptr;   // (2, layers, rows) as (2, layers, b): each row's K, then V cache per layer
  float* logits = nullptr;       // (rows, vocab)
  void release() {
    for (void* p : {static_cast<void*>(embeddings), static_cast<void*>(positions), static_cast<void*>(past),
                    static_cast<void*>(tables), static_cast<void*>(logits)})
      if (p) cudaFreeHost(p);
    embeddings = nullptr;
    positions = past = nullptr;
    tables = nullptr;
    logits = nullptr;
    rows = 0;
  }
  bool reserve(int64_t n, const TextConfig& c, Check& check) {
    if (n <= rows) return true;
    release();
    epoch = next_epoch();
    check(cudaMallocHost(&embeddings, n * c.hidden_size * 4), "pinned buffers");
    check(cudaMallocHost(&positions, 3 * n * 8), "pinned buffers");
    check(cudaMallocHost(&past, n * 8), "pinned buffers");
    check(cudaMallocHost(&tables, 2 * c.num_layers * n * sizeof(uint16_t*)), "pinned buffers");
    check(cudaMallocHost(&logits, n * c.vocab_size * 4), "pinned buffers");
    if (!check.ok) {
      release();
      return false;
    }
    rows = n;
    return true;
  }
  ~BatchStaging() { release(); }
};

// What a decode step ends with: the logits copied back, or a token chosen
// on the device and its id copied back.
enum class StepEnd { kLogits = 0, kChoice = 1 };

// The captured decode step and what it was captured against: epochs, which
// are unique in the process (a cache freed and another allocated at its
// address, or buffers handed out again at the same addresses, never look
// like the ones captured). A batched step's graph reads its caches from
// tables, so it is keyed on the staging's epoch instead of a cache.
struct DecodeGraph {
  cudaGraphExec_t exec = nullptr;
  const CudaKvCache* cache = nullptr;
  uint64_t cache_epoch = 0, work_epoch = 0, staging_epoch = 0;
  void reset() {
    if (exec) cudaGraphExecDestroy(exec);
    exec = nullptr;
    cache = nullptr;
  }
  ~DecodeGraph() { reset(); }
};

}  // namespace

// Buffers of ended token states, shared by the model and its states (a
// state may outlive the model).
struct CudaTokenState::Pool {
  std::mutex mutex;
  std::vector<std::pair<int32_t*, uint8_t*>> free;
  ~Pool() {
    for (auto& [counts, seen] : free) {
      cudaFree(counts);
      cudaFree(seen);
    }
  }
};

struct CudaLanguageModel::Impl {
  cudaStream_t stream = nullptr;
  std::unique_ptr<kc::Gemm> gemm;
  Allocations weights;
  std::vector<DeviceLayer> layers;
  DeviceMatrix lm_head;            // (vocab, hidden)
  // (largest block-quantized matrix) BF16: one GGUF matrix dequantized for a
  // prefill's cuBLAS GEMM (decode reads the blocks: kc::quant_gemv); null
  // when every matrix is BF16.
  uint16_t* dequantized = nullptr;
  float* final_norm = nullptr;     // (hidden)
  float* inv_freq = nullptr;       // (head_dim / 2)
  int32_t* rope_stream = nullptr;  // (head_dim / 2)
  Work work;
  float* logits = nullptr;  // (logit_rows, vocab)
  int64_t logit_rows = 0;
  Staging staging;
  kc::TokenChoice* choice = nullptr;  // (1) device copy of staging.choice
  int32_t* chosen = nullptr;          // (1) device
  DecodeGraph graphs[2];              // by StepEnd
  BatchStaging batch;
  std::map<int64_t, DecodeGraph> batch_graphs;  // by batch size
  std::shared_ptr<CudaTokenState::Pool> token_pool = std::make_shared<CudaTokenState::Pool>();
  bool graphs_on = true;
  bool flash = false;  // prefill attention on tensor cores (kernels/cuda/flash_attention.h)
  std::string graph_error;
  int64_t replays = 0, captures = 0;

  ~Impl() {
    for (DecodeGraph& g : graphs) g.reset();
    batch_graphs.clear();
    work.free();
    cudaFree(logits);
    gemm.reset();
    if (stream) cudaStreamDestroy(stream);
  }

  // The stream, the cuBLAS handle bound to it, pinned staging, RoPE tables.
  bool start(const TextConfig& c, Check& check) {
    if (!check(cudaStreamCreateWithFlags(&stream, cudaStreamNonBlocking), "cudaStreamCreate")) return false;
    gemm = kc::Gemm::create(stream, check.error);
    if (!gemm) return check.ok = false;
    if (!staging.allocate(c.hidden_size, c.vocab_size, check)) return false;
    choice = weights.get<kc::TokenChoice>(1, check, "token choice");
    chosen = weights.get<int32_t>(1, check, "token choice");
    const char* env = std::getenv("DESKPILOT_CUDA_GRAPHS");
    if (env && std::strcmp(env, "0") == 0) {
      graphs_on = false;
      graph_error = "DESKPILOT_CUDA_GRAPHS=0";
    }
    flash = cuda_util::flash_attention_wanted(c.head_dim);
    // M-RoPE's inverse frequencies and the stream of each, as the CPU computes them.
    const int64_t half = c.head_dim / 2;
    std::vector<float> freq(static_cast<size_t>(half));
    std::vector<int32_t> streams(static_cast<size_t>(half));
    const int64_t section[3] = {c.mrope_section[0], c.mrope_section[1], c.mrope_section[2]};
    kernels::mrope_frequencies(c.head_dim, c.rope_theta, section, freq.data(), streams.data());
    inv_freq = cuda_util::upload_floats({&freq}, weights, check);
    rope_stream = weights.get<int32_t>(streams.size(), check, "rope tables");
    if (rope_stream)
      check(cudaMemcpy(rope_stream, streams.data(), streams.size() * 4, cudaMemcpyHostToDevice), "rope tables");
    return check.ok;
  }

  bool reserve_logits(int64_t n, int64_t vocab, Check& check) {
    if (n <= logit_rows) return true;
    cudaFree(logits);
    logits = nullptr;
    logit_rows = 0;
    work.epoch = next_epoch();  // a captured graph writes into the old buffer
    if (!check(cudaMalloc(&logits, static_cast<size_t>(n * vocab) * 4), "logits")) return false;
    logit_rows = n;
    return true;
  }

  // out (n, m.rows) = in (n, m.cols) wᵀ from work.scratch, already BF16;
  // with `accumulate`, out += in wᵀ (a residual connection).
  // GGUF blocks: a dequantizing GEMV for up to kQuantGemvRows rows, else
  // the matrix dequantized to BF16 first.
  void linear_scratch(int64_t n, const DeviceMatrix& m, float* out, bool accumulate, Check& check) {
    if (!check.ok) return;
    const uint16_t* w = m.data;
    if (kernels::is_quantized(m.dtype)) {
      if (n <= kc::kQuantGemvRows) {
        check(kc::quant_gemv(m.dtype, m.data, m.rows, m.cols, work.scratch, n, out, accumulate, stream),
              "quantized GEMV");
        return;
      }
      if (!check(kc::dequantize_to_bf16(m.dtype, m.data, m.rows, m.cols, dequantized, stream), "dequantize"))
        return;
      w = dequantized;
    }
    if (!gemm->linear_from_bf16(work.scratch, n, m.cols, w, m.rows, nullptr, out, accumulate, check.error))
      check.ok = false;
  }

  // Layer l's bias, rotation and cache append of the n rows in the work
  // buffers (qkv, cos/sin, past -> q); the caller says which cache(s).
  kc::RopeSplitAppend split_append_args(const TextConfig& c, int64_t l, int64_t n) const {
    kc::RopeSplitAppend a;
    a.qkv = work.qkv;
    a.bias = layers[l].qkv_bias;
    a.len = n;
    a.q_heads = c.num_heads;
    a.kv_heads = c.num_kv_heads;
    a.head_dim = c.head_dim;
    a.cos = work.cos;
    a.sin = work.sin;
    a.q = work.q;
    a.past = work.past;
    return a;
  }

  // From the fused projection (work.qkv) to attention's output: new K/V
  // rows into the cache(s), then attention, for one sequence (n tokens,
  // cache length at work.past[0]) or for b sequences of one token. The
  // output goes to work.scratch as BF16 (the o projection's input; true) or,
  // from the FP32 fallback kernel, to work.attn (false).
  using Attend = bool (*)(Impl&, const TextConfig&, int64_t layer, int64_t n, CudaKvCache* const* caches,
                          int64_t count, Check& check);

  static bool attend_one(Impl& w, const TextConfig& c, int64_t l, int64_t n, CudaKvCache* const* caches, int64_t,
                         Check& check) {
    CudaKvCache& cache = *caches[0];
    Work& b = w.work;
    kc::RopeSplitAppend append = w.split_append_args(c, l, n);
    append.k_cache = cache.k_[l];
    append.v_cache = cache.v_[l];
    check(kc::rope_split_append(append, w.stream), "rope, split and append");
    if (n == 1) {  // decode: the keys split across blocks
      check(kc::attention_decode(b.q, cache.k_[l], cache.v_[l], b.scratch, b.past, cache.capacity_, c.num_heads,
                                 c.num_kv_heads, c.head_dim, b.split, w.stream),
            "decode attention");
      return true;
    }
    if (w.flash) {
      kc::FlashAttentionArgs a;
      a.q = b.q;
      a.k = cache.k_[l];
      a.v = cache.v_[l];
      a.storage = kc::KvStorage::kBf16;
      a.out_bf16 = b.scratch;
      a.len = n;
      a.past_at = b.past;
      a.q_heads = c.num_heads;
      a.kv_heads = c.num_kv_heads;
      a.head_dim = c.head_dim;
      check(kc::flash_attention(a, w.stream), "flash attention");
      return true;
    }
    check(kc::attention_causal_at(b.q, cache.k_[l], cache.v_[l], b.attn, n, b.past, c.num_heads, c.num_kv_heads,
                                  c.head_dim, w.stream),
          "attention");
    return false;
  }

  // A batched decode step: token r appended to and attending over the cache
  // in work.rows_k/rows_v[l * b + r], all b rows in one launch each.
  static bool attend_rows(Impl& w, const TextConfig& c, int64_t l, int64_t b, CudaKvCache* const*, int64_t,
                          Check& check) {
    Work& k = w.work;
    kc::RopeSplitAppend a = w.split_append_args(c, l, b);
    a.k_rows = k.rows_k + l * b;
    a.v_rows = k.rows_v + l * b;
    check(kc::rope_split_append(a, w.stream), "rope, split and append");
    check(kc::attention_decode_rows(k.q, k.rows_k + l * b, k.rows_v + l * b, k.scratch, k.past, b, k.split_capacity,
                                    c.num_heads, c.num_kv_heads, c.head_dim, k.split, w.stream),
          "decode attention");
    return true;
  }

  // Everything from the inputs in work.h / work.positions / work.past to
  // `logit_rows_out` rows of logits in `logits`: launches only, no
  // synchronisation and no host memory (a decode step is captured from it).
  void run(const TextConfig& c, int64_t n, CudaKvCache* const* caches, int64_t count, Attend attend,
           int64_t logit_rows_out, Check& check) {
    // Per layer, 10 launches at batch 1 (23 before; cuBLAS may add a split-K
    // reduction to a projection): norms, attention and the activation write
    // the next projection's BF16 input, the bias, split, rotation and cache
    // append are one kernel, and both residual additions happen in the
    // projections' epilogue.
    const int64_t d = c.hidden_size, hd = c.head_dim, inter = c.intermediate_size;
    const float eps = static_cast<float>(c.rms_norm_eps);
    Work& b = work;
    cudaStream_t s = stream;
    check(kc::mrope_cos_sin(b.positions, n, hd, inv_freq, rope_stream, b.cos, b.sin, s), "mrope_cos_sin");
    for (int64_t l = 0; l < c.num_layers && check.ok; ++l) {
      const DeviceLayer& L = layers[l];
      check(kc::rmsnorm_bf16(b.h, L.input_norm, b.scratch, n, d, eps, s), "rmsnorm");
      linear_scratch(n, L.qkv, b.qkv, false, check);
      if (!attend(*this, c, l, n, caches, count, check))
        check(kc::f32_to_bf16(b.attn, b.scratch, n * L.o.cols, s), "attention output to BF16");
      linear_scratch(n, L.o, b.h, true, check);  // h += o(attn)
      check(kc::rmsnorm_bf16(b.h, L.post_norm, b.scratch, n, d, eps, s), "rmsnorm");
      linear_scratch(n, L.gate_up, b.gu, false, check);
      check(kc::silu_mul_fused_bf16(b.gu, b.scratch, n, inter, s), "silu_mul");
      linear_scratch(n, L.down, b.h, true, check);  // h += down(act)
    }
    check(kc::rmsnorm_bf16(b.h + (n - logit_rows_out) * d, final_norm, b.scratch, logit_rows_out, d, eps, s),
          "final norm");
    linear_scratch(logit_rows_out, lm_head, logits, false, check);
  }

  // One decode step from staging (embedding, positions, past and, for a
  // choice, staging.choice) to staging.logits or staging.id: launches only.
  void step(const TextConfig& c, CudaKvCache* cache, StepEnd end, Check& check) {
    const int64_t d = c.hidden_size, vocab = c.vocab_size;
    check(cudaMemcpyAsync(work.h, staging.embedding, d * 4, cudaMemcpyHostToDevice, stream), "embedding");
    check(cudaMemcpyAsync(work.positions, staging.positions, 3 * 8, cudaMemcpyHostToDevice, stream), "positions");
    check(cudaMemcpyAsync(work.past, staging.past, 8, cudaMemcpyHostToDevice, stream), "past");
    CudaKvCache* caches[1] = {cache};
    run(c, 1, caches, 1, &Impl::attend_one, 1, check);
    if (end == StepEnd::kLogits) {
      check(cudaMemcpyAsync(staging.logits, logits, vocab * 4, cudaMemcpyDeviceToHost, stream), "logits");
      return;
    }
    check(cudaMemcpyAsync(choice, staging.choice, sizeof(kc::TokenChoice), cudaMemcpyHostToDevice, stream),
          "token choice");
    check(kc::choose_tokens(logits, 1, vocab, choice, chosen, stream), "token choice");
    check(cudaMemcpyAsync(staging.id, chosen, sizeof(int32_t), cudaMemcpyDeviceToHost, stream), "token id");
  }

  // One decode step replayed from its graph (captured first when needed),
  // else launched directly; the caller synchronises.
  bool decode(const TextConfig& c, CudaKvCache* cache, StepEnd end, Check& check) {
    if (graphs_on) {
      DecodeGraph& graph = this->graphs[static_cast<int>(end)];
      if (!graph.exec || graph.cache != cache || graph.cache_epoch != cache->epoch_ ||
          graph.work_epoch != work.epoch) {
        graph.reset();
        if (capture(graph, [&](Check& k) { step(c, cache, end, k); })) {
          graph.cache = cache;
          graph.cache_epoch = cache->epoch_;
        }
      }
      if (graph.exec) {
        if (!check(cudaGraphLaunch(graph.exec, stream), "decode graph")) return false;
        ++replays;
        return true;
      }
    }
    step(c, cache, end, check);
    return check.ok;
  }

  // A batched decode step of b rows from `batch` staging to batch.logits: launches only.
  void batch_step(const TextConfig& c, int64_t b, Check& check) {
    const int64_t d = c.hidden_size, layers = c.num_layers;
    check(cudaMemcpyAsync(work.h, batch.embeddings, b * d * 4, cudaMemcpyHostToDevice, stream), "embeddings");
    check(cudaMemcpyAsync(work.positions, batch.positions, 3 * b * 8, cudaMemcpyHostToDevice, stream), "positions");
    check(cudaMemcpyAsync(work.past, batch.past, b * 8, cudaMemcpyHostToDevice, stream), "cache lengths");
    const size_t table = static_cast<size_t>(layers * b) * sizeof(uint16_t*);
    check(cudaMemcpyAsync(work.rows_k, batch.tables, table, cudaMemcpyHostToDevice, stream), "cache tables");
    check(cudaMemcpyAsync(work.rows_v, batch.tables + layers * b, table, cudaMemcpyHostToDevice, stream),
          "cache tables");
    run(c, b, nullptr, b, &Impl::attend_rows, b, check);
    check(cudaMemcpyAsync(batch.logits, logits, b * c.vocab_size * 4, cudaMemcpyDeviceToHost, stream), "logits");
  }

  // The batched step from its graph for this batch size (captured when
  // missing or stale), else launched directly; the caller synchronises.
  bool decode_batch(const TextConfig& c, int64_t b, Check& check) {
    if (graphs_on) {
      DecodeGraph& graph = batch_graphs[b];
      if (!graph.exec || graph.work_epoch != work.epoch || graph.staging_epoch != batch.epoch) {
        graph.reset();
        if (capture(graph, [&](Check& k) { batch_step(c, b, k); })) graph.staging_epoch = batch.epoch;
      }
      if (graph.exec) {
        if (!check(cudaGraphLaunch(graph.exec, stream), "batched decode graph")) return false;
        ++replays;
        return true;
      }
    }
    batch_step(c, b, check);
    return check.ok;
  }

  // Captures what `launches` puts on the stream into `graph` (its work epoch
  // set; the caller sets what else it was captured against). On failure
  // graphs are off from then on (graph_error says why) and false.
  template <typename Launches>
  bool capture(DecodeGraph& graph, Launches launches) {
    std::string error;
    Check check{&error};
    cudaGraph_t g = nullptr;
    if (check(cudaStreamBeginCapture(stream, cudaStreamCaptureModeThreadLocal), "begin capture")) {
      launches(check);
      const cudaError_t e = cudaStreamEndCapture(stream, &g);  // always, so the stream leaves capture mode
      check(e, "end capture");
    }
    if (check.ok) check(cudaGraphInstantiate(&graph.exec, g, 0), "instantiate graph");
    if (g) cudaGraphDestroy(g);
    if (!check.ok) {
      (void)cudaGetLastError();
      graph.reset();
      graphs_on = false;  // run launch by launch from now on
      graph_error = error;
      return false;
    }
    graph.work_epoch = work.epoch;
    ++captures;
    return true;
  }
};

CudaLanguageModel::CudaLanguageModel(TextConfig config, std::unique_ptr<Impl> impl)
    : config_(std::move(config)), impl_(std::move(impl)) {}
CudaLanguageModel::~CudaLanguageModel() = default;

int64_t CudaLanguageModel::graph_replays() const { return impl_->replays; }
int64_t CudaLanguageModel::graph_captures() const { return impl_->captures; }
void CudaLanguageModel::set_graphs(bool on) {
  impl_->graphs_on = on;
  if (!on) {
    for (DecodeGraph& g : impl_->graphs) g.reset();
    impl_->batch_graphs.clear();
  }
}
const std::string& CudaLanguageModel::graph_error() const { return impl_->graph_error; }

CudaKvCache::~CudaKvCache() {
  for (uint16_t* p : k_) cudaFree(p);
  for (uint16_t* p : v_) cudaFree(p);
}

bool CudaKvCache::reserve(int64_t capacity, std::string* error) {
  if (capacity <= capacity_) return true;
  Check check{error};
  constexpr size_t kBytes = CudaLanguageModel::kKvBytesPerValue;
  const size_t count = static_cast<size_t>(capacity * row_);
  std::vector<uint16_t*> k(k_.size(), nullptr), v(v_.size(), nullptr);
  for (size_t l = 0; l < k_.size() && check.ok; ++l) {
    check(cudaMalloc(reinterpret_cast<void**>(&k[l]), count * kBytes), "KV cache");
    if (check.ok) check(cudaMalloc(reinterpret_cast<void**>(&v[l]), count * kBytes), "KV cache");
    if (check.ok && length_ > 0) {
      const size_t kept = static_cast<size_t>(length_ * row_) * kBytes;
      check(cudaMemcpy(k[l], k_[l], kept, cudaMemcpyDeviceToDevice), "KV copy");
      check(cudaMemcpy(v[l], v_[l], kept, cudaMemcpyDeviceToDevice), "KV copy");
    }
  }
  if (!check.ok) {
    for (uint16_t* p : k) cudaFree(p);
    for (uint16_t* p : v) cudaFree(p);
    if (error) *error += " (KV cache of " + std::to_string(capacity) + " tokens)";
    return false;
  }
  for (uint16_t* p : k_) cudaFree(p);
  for (uint16_t* p : v_) cudaFree(p);
  k_ = std::move(k);
  v_ = std::move(v);
  capacity_ = capacity;
  epoch_ = next_epoch();
  return true;
}

std::unique_ptr<CudaLanguageModel> CudaLanguageModel::create(const Qwen2LanguageModel& cpu, std::string* error) {
  const TextConfig& c = cpu.config();
  auto impl = std::make_unique<Impl>();
  Check check{error};
  if (!impl->start(c, check)) return nullptr;
  int64_t bytes = 0;
  Allocations& mem = impl->weights;
  for (const DecoderLayer& L : cpu.layers()) {
    DeviceLayer d;
    d.input_norm = cuda_util::upload_floats({&L.input_norm}, mem, check);
    d.post_norm = cuda_util::upload_floats({&L.post_attention_norm}, mem, check);
    d.qkv_bias = cuda_util::upload_floats({&L.q_bias, &L.k_bias, &L.v_bias}, mem, check);
    // GGUF weights stay in their blocks (decode reads them with kc::quant_gemv).
    d.qkv = cuda_util::upload_stacked({&L.q, &L.k, &L.v}, mem, check, &bytes, true);
    d.o = cuda_util::upload_matrix(L.o, mem, check, &bytes, true);
    d.gate_up = cuda_util::upload_stacked({&L.gate, &L.up}, mem, check, &bytes, true);
    d.down = cuda_util::upload_matrix(L.down, mem, check, &bytes, true);
    impl->layers.push_back(d);
    if (!check.ok) return nullptr;
  }
  impl->lm_head = cuda_util::upload_matrix(cpu.lm_head(), mem, check, &bytes, true);
  int64_t largest = 0;  // elements of the largest block-quantized matrix
  for (const DeviceLayer& d : impl->layers)
    for (const DeviceMatrix* m : {&d.qkv, &d.o, &d.gate_up, &d.down})
      if (kernels::is_quantized(m->dtype)) largest = std::max(largest, m->rows * m->cols);
  if (kernels::is_quantized(impl->lm_head.dtype)) largest = std::max(largest, impl->lm_head.rows * impl->lm_head.cols);
  if (largest > 0) impl->dequantized = mem.get<uint16_t>(static_cast<size_t>(largest), check, "dequantized weights");
  impl->final_norm = cuda_util::upload_floats({&cpu.final_norm()}, mem, check);
  if (!check.ok) return nullptr;
  std::unique_ptr<CudaLanguageModel> m(new CudaLanguageModel(c, std::move(impl)));
  m->weight_bytes_ = bytes;
  return m;
}

std::unique_ptr<CudaLanguageModel> CudaLanguageModel::create_random(const TextConfig& c, uint64_t seed,
                                                                    std::string* error) {
  auto impl = std::make_unique<Impl>();
  Check check{error};
  if (!impl->start(c, check)) return nullptr;
  int64_t bytes = 0;
  Allocations& mem = impl->weights;
  const auto matrix = [&](int64_t rows, int64_t cols) {
    return cuda_util::random_matrix(rows, cols, &seed, mem, check, impl->stream, &bytes);
  };
  const auto vector = [&](int64_t n, float center, float spread) {
    std::vector<float> host(static_cast<size_t>(n));
    for (int64_t i = 0; i < n; ++i) host[i] = center + spread * static_cast<float>((i * 7919) % 101 - 50) / 50.f;
    return cuda_util::upload_floats({&host}, mem, check);
  };
  const int64_t d = c.hidden_size, qd = c.num_heads * c.head_dim, kvd = c.num_kv_heads * c.head_dim;
  for (int64_t l = 0; l < c.num_layers && check.ok; ++l) {
    DeviceLayer L;
    L.input_norm = vector(d, 1.f, 0.1f);
    L.post_norm = vector(d, 1.f, 0.1f);
    L.qkv_bias = vector(qd + 2 * kvd, 0.f, 0.02f);
    L.qkv = matrix(qd + 2 * kvd, d);
    L.o = matrix(d, qd);
    L.gate_up = matrix(2 * c.intermediate_size, d);
    L.down = matrix(d, c.intermediate_size);
    impl->layers.push_back(L);
  }
  impl->lm_head = matrix(c.vocab_size, d);
  impl->final_norm = vector(d, 1.f, 0.1f);
  check(cudaStreamSynchronize(impl->stream), "random weights");
  if (!check.ok) return nullptr;
  std::unique_ptr<CudaLanguageModel> m(new CudaLanguageModel(c, std::move(impl)));
  m->weight_bytes_ = bytes;
  return m;
}

std::unique_ptr<CudaKvCache> CudaLanguageModel::new_cache(int64_t capacity, std::string* error) const {
  std::unique_ptr<CudaKvCache> cache(new CudaKvCache());
  cache->row_ = config_.num_kv_heads * config_.head_dim;
  cache->k_.assign(static_cast<size_t>(config_.num_layers), nullptr);
  cache->v_.assign(static_cast<size_t>(config_.num_layers), nullptr);
  if (capacity > 0 && !cache->reserve(capacity, error)) return nullptr;
  return cache;
}

bool CudaLanguageModel::forward(const float* embeddings, int64_t n, const int64_t* positions, CudaKvCache* cache,
                                float* logits, bool all_logits, std::string* error,
                                const std::vector<DeviceRows>& device_rows) {
  const TextConfig& c = config_;
  const int64_t d = c.hidden_size, vocab = c.vocab_size, past = cache->length();
  if (n <= 0 || past + n > cache->capacity()) {
    *error = "CUDA forward: " + std::to_string(n) + " tokens do not fit the KV cache (" +
             std::to_string(cache->capacity() - past) + " free)";
    return false;
  }
  Impl& w = *impl_;
  Check check{error};
  if (!w.work.reserve(n, c, check)) return false;
  if (n == 1 && !w.work.reserve_split(cache->capacity(), 1, c, check)) return false;
  const int64_t rows = all_logits ? n : 1;
  if (!w.reserve_logits(rows, vocab, check)) return false;
  for (const DeviceRows& r : device_rows)
    if (r.at < 0 || r.count < 0 || r.at + r.count > n || (r.count > 0 && !r.data)) {
      *error = "CUDA forward: device rows [" + std::to_string(r.at) + ", " + std::to_string(r.at + r.count) +
               ") outside the " + std::to_string(n) + " tokens";
      return false;
    }
  cudaStream_t s = w.stream;
  if (n == 1 && !all_logits && device_rows.empty()) {
    std::memcpy(w.staging.embedding, embeddings, d * 4);
    std::memcpy(w.staging.positions, positions, 3 * 8);
    *w.staging.past = past;
    if (!w.decode(c, cache, StepEnd::kLogits, check) || !check(cudaStreamSynchronize(s), "decode step")) return false;
    std::memcpy(logits, w.staging.logits, vocab * 4);
    cache->length_ += 1;
    return true;
  }
  check(cudaMemcpyAsync(w.work.h, embeddings, n * d * 4, cudaMemcpyHostToDevice, s), "upload embeddings");
  for (const DeviceRows& r : device_rows)
    if (r.count > 0)
      check(cudaMemcpyAsync(w.work.h + r.at * d, r.data, static_cast<size_t>(r.count * d) * 4,
                            cudaMemcpyDeviceToDevice, s),
            "image features");
  check(cudaMemcpyAsync(w.work.positions, positions, 3 * n * 8, cudaMemcpyHostToDevice, s), "upload positions");
  check(cudaMemcpyAsync(w.work.past, &past, 8, cudaMemcpyHostToDevice, s), "upload cache length");
  CudaKvCache* caches[1] = {cache};
  w.run(c, n, caches, 1, &Impl::attend_one, rows, check);
  check(cudaMemcpyAsync(logits, w.logits, rows * vocab * 4, cudaMemcpyDeviceToHost, s), "download logits");
  check(cudaStreamSynchronize(s), "forward");
  if (!check.ok) return false;
  cache->length_ += n;
  return true;
}

CudaTokenState::~CudaTokenState() {
  if (!pool_) {
    cudaFree(counts_);
    cudaFree(seen_);
    return;
  }
  std::lock_guard<std::mutex> lock(pool_->mutex);
  pool_->free.emplace_back(counts_, seen_);
}

std::unique_ptr<CudaTokenState> CudaLanguageModel::new_token_state(const std::vector<int32_t>& prompt,
                                                                   std::string* error) {
  const int64_t vocab = config_.vocab_size;
  std::unique_ptr<CudaTokenState> state(new CudaTokenState());
  Check check{error};
  {
    std::lock_guard<std::mutex> lock(impl_->token_pool->mutex);
    auto& free = impl_->token_pool->free;
    if (!free.empty()) {
      std::tie(state->counts_, state->seen_) = free.back();
      free.pop_back();
    }
  }
  if (!state->counts_) {
    check(cudaMalloc(reinterpret_cast<void**>(&state->counts_), static_cast<size_t>(vocab) * sizeof(int32_t)),
          "token state");
    if (check.ok) check(cudaMalloc(reinterpret_cast<void**>(&state->seen_), static_cast<size_t>(vocab)), "token state");
    if (!check.ok) return nullptr;  // the state frees what it got
  }
  state->pool_ = impl_->token_pool;
  std::vector<uint8_t> seen(static_cast<size_t>(vocab), 0);
  for (int32_t id : prompt)
    if (id >= 0 && id < vocab) seen[static_cast<size_t>(id)] = 1;
  cudaStream_t s = impl_->stream;
  check(cudaMemsetAsync(state->counts_, 0, static_cast<size_t>(vocab) * sizeof(int32_t), s), "token state");
  check(cudaMemcpyAsync(state->seen_, seen.data(), seen.size(), cudaMemcpyHostToDevice, s), "token state");
  check(cudaStreamSynchronize(s), "token state");
  if (!check.ok) return nullptr;
  return state;
}

bool CudaLanguageModel::record_token(CudaTokenState* state, int32_t id, std::string* error) {
  Check check{error};
  if (id < 0 || id >= config_.vocab_size) return check.fail("record_token: id " + std::to_string(id) + " outside the vocabulary");
  check(kernels::cuda::record_token(state->counts_, state->seen_, id, impl_->stream), "record token");
  return check(cudaStreamSynchronize(impl_->stream), "record token");
}

bool CudaLanguageModel::decode_choose(const float* embedding, const int64_t* positions, CudaKvCache* cache,
                                      const SamplingParams& params, float uniform, CudaTokenState* state, int32_t* id,
                                      std::string* error) {
  const TextConfig& c = config_;
  const int64_t past = cache->length();
  if (past + 1 > cache->capacity()) {
    *error = "CUDA decode: the KV cache is full (" + std::to_string(cache->capacity()) + " tokens)";
    return false;
  }
  Impl& w = *impl_;
  Check check{error};
  if (!w.work.reserve(1, c, check) || !w.work.reserve_split(cache->capacity(), 1, c, check) ||
      !w.reserve_logits(1, c.vocab_size, check))
    return false;
  std::memcpy(w.staging.embedding, embedding, c.hidden_size * 4);
  std::memcpy(w.staging.positions, positions, 3 * 8);
  *w.staging.past = past;
  kc::TokenChoice& ch = *w.staging.choice;
  ch = kc::TokenChoice();
  ch.temperature = static_cast<float>(params.temperature);
  ch.top_k = static_cast<int32_t>(std::min<int64_t>(params.top_k, 0x7fffffff));
  ch.top_p = static_cast<float>(params.top_p);
  ch.repetition_penalty = static_cast<float>(params.repetition_penalty);
  ch.frequency_penalty = params.frequency_penalty;
  ch.presence_penalty = params.presence_penalty;
  ch.uniform = uniform;
  ch.counts = state->counts_;
  ch.seen = state->seen_;
  if (!w.decode(c, cache, StepEnd::kChoice, check) || !check(cudaStreamSynchronize(w.stream), "decode step"))
    return false;
  *id = *w.staging.id;
  cache->length_ += 1;
  return true;
}

bool CudaLanguageModel::forward_batch(const float* embeddings, int64_t b, const int64_t* positions,
                                      CudaKvCache* const* caches, float* logits, std::string* error) {
  const TextConfig& c = config_;
  const int64_t d = c.hidden_size, vocab = c.vocab_size, layers = c.num_layers;
  int64_t capacity = 0;
  for (int64_t r = 0; r < b; ++r) {
    if (caches[r]->length() + 1 > caches[r]->capacity()) {
      *error = "CUDA forward_batch: sequence " + std::to_string(r) + " has a full KV cache";
      return false;
    }
    capacity = std::max(capacity, caches[r]->capacity());
  }
  Impl& w = *impl_;
  Check check{error};
  if (!w.work.reserve(b, c, check) || !w.work.reserve_split(capacity, b, c, check) ||
      !w.reserve_logits(b, vocab, check) || !w.batch.reserve(b, c, check))
    return false;
  BatchStaging& in = w.batch;
  std::memcpy(in.embeddings, embeddings, static_cast<size_t>(b * d) * 4);
  std::memcpy(in.positions, positions, static_cast<size_t>(3 * b) * 8);
  for (int64_t r = 0; r < b; ++r) {
    in.past[r] = caches[r]->length();
    for (int64_t l = 0; l < layers; ++l) {
      in.tables[l * b + r] = caches[r]->k_[l];
      in.tables[(layers + l) * b + r] = caches[r]->v_[l];
    }
  }
  if (!w.decode_batch(c, b, check) || !check(cudaStreamSynchronize(w.stream), "forward_batch")) return false;
  std::memcpy(logits, in.logits, static_cast<size_t>(b * vocab) * 4);
  for (int64_t r = 0; r < b; ++r) caches[r]->length_ += 1;
  return true;
}

}  // namespace deskpilot::engine
