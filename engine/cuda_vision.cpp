#include "engine/cuda_vision.h"

#include <cuda_runtime.h>

#include <cmath>
#include <mutex>
#include <tuple>

#include "engine/cuda_util.h"
#include "kernels/cuda/attention.h"
#include "kernels/cuda/elementwise.h"
#include "kernels/cuda/gemm.h"
#include "kernels/cuda/layernorm.h"
#include "kernels/cuda/rmsnorm.h"
#include "kernels/cuda/rope.h"

namespace deskpilot::engine {
namespace {

namespace kc = kernels::cuda;
using cuda_util::Allocations;
using cuda_util::Check;
using cuda_util::DeviceMatrix;

struct DeviceBlock {
  float *norm1_w = nullptr, *norm1_b = nullptr, *norm2_w = nullptr, *norm2_b = nullptr;  // (width); b: LayerNorm only
  DeviceMatrix qkv, proj;                   // (3 width, width), (width, width)
  float *qkv_b = nullptr, *proj_b = nullptr;
  DeviceMatrix fc1, fc2;                    // Qwen2-VL: (inter, width), (width, inter)
  DeviceMatrix gate_up, down;               // Qwen2.5-VL: (2 inter, width) stacked, (width, inter)
  float *fc1_b = nullptr, *fc2_b = nullptr, *gate_up_b = nullptr, *down_b = nullptr;
};

}  // namespace

// Buffers of ended CudaFeatures, for the next images.
struct CudaFeatures::Pool {
  std::mutex mutex;
  std::vector<std::pair<float*, size_t>> free;  // (buffer, floats)
  ~Pool() {
    for (auto& [p, n] : free) cudaFree(p);
  }
};

struct CudaVisionTower::Impl {
  VisionConfig config;
  bool qwen25 = false;
  int64_t bytes = 0;
  cudaStream_t stream = nullptr;
  std::unique_ptr<kc::Gemm> gemm;
  Allocations weights;
  DeviceMatrix patch_embed;  // (width, C*T*P*P)
  std::vector<DeviceBlock> blocks;
  float *merger_norm_w = nullptr, *merger_norm_b = nullptr;  // (width)
  DeviceMatrix merger_fc1, merger_fc2;  // (4 width, 4 width), (out, 4 width)
  float *merger_fc1_b = nullptr, *merger_fc2_b = nullptr;
  bool flash = false;     // attention on tensor cores (kernels/cuda/flash_attention.h)
  cuda_util::Arena work;  // an image's buffers, kept for the next image
  std::shared_ptr<CudaFeatures::Pool> features = std::make_shared<CudaFeatures::Pool>();

  ~Impl() {
    gemm.reset();
    if (stream) cudaStreamDestroy(stream);
  }

  void norm(const float* x, const float* w, const float* b, float* out, int64_t rows, Check& check) {
    const int64_t width = config.width;
    if (qwen25) check(kc::rmsnorm_f32(x, w, out, rows, width, 1e-6f, stream), "vision rmsnorm");
    else check(kc::layernorm_f32(x, w, b, out, rows, width, 1e-6f, stream), "vision layernorm");
  }
};

CudaVisionTower::CudaVisionTower(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
CudaVisionTower::~CudaVisionTower() = default;

int64_t CudaVisionTower::weight_bytes() const { return impl_->bytes; }

std::unique_ptr<CudaVisionTower::Impl> CudaVisionTower::start(const VisionConfig& config, bool qwen25,
                                                              std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->config = config;
  impl->qwen25 = qwen25;
  impl->flash = cuda_util::flash_attention_wanted(config.width / config.num_heads);
  Check check{error};
  if (!check(cudaStreamCreateWithFlags(&impl->stream, cudaStreamNonBlocking), "cudaStreamCreate")) return nullptr;
  impl->gemm = kc::Gemm::create(impl->stream, error);
  if (!impl->gemm) return nullptr;
  return impl;
}

std::unique_ptr<CudaVisionTower> CudaVisionTower::create(const VisionTower& cpu, std::string* error) {
  auto impl = start(cpu.config(), cpu.qwen25(), error);
  if (!impl) return nullptr;
  Check check{error};
  Allocations& mem = impl->weights;
  int64_t& bytes = impl->bytes;
  const auto floats = [&](const std::vector<float>& v) { return cuda_util::upload_floats({&v}, mem, check); };
  impl->patch_embed = cuda_util::upload_matrix(cpu.patch_embed(), mem, check, &bytes);
  for (const VisionBlockWeights& w : cpu.blocks()) {
    DeviceBlock d;
    d.norm1_w = floats(w.norm1_w);
    d.norm1_b = floats(w.norm1_b);
    d.norm2_w = floats(w.norm2_w);
    d.norm2_b = floats(w.norm2_b);
    d.qkv = cuda_util::upload_matrix(w.qkv, mem, check, &bytes);
    d.qkv_b = floats(w.qkv_b);
    d.proj = cuda_util::upload_matrix(w.proj, mem, check, &bytes);
    d.proj_b = floats(w.proj_b);
    if (cpu.qwen25()) {
      d.gate_up = cuda_util::upload_stacked({&w.gate, &w.up}, mem, check, &bytes);
      d.gate_up_b = cuda_util::upload_floats({&w.gate_b, &w.up_b}, mem, check);
      d.down = cuda_util::upload_matrix(w.down, mem, check, &bytes);
      d.down_b = floats(w.down_b);
    } else {
      d.fc1 = cuda_util::upload_matrix(w.fc1, mem, check, &bytes);
      d.fc1_b = floats(w.fc1_b);
      d.fc2 = cuda_util::upload_matrix(w.fc2, mem, check, &bytes);
      d.fc2_b = floats(w.fc2_b);
    }
    impl->blocks.push_back(d);
    if (!check.ok) return nullptr;
  }
  impl->merger_norm_w = floats(cpu.merger_norm_weight());
  impl->merger_norm_b = floats(cpu.merger_norm_bias());
  impl->merger_fc1 = cuda_util::upload_matrix(cpu.merger_fc1(), mem, check, &bytes);
  impl->merger_fc1_b = floats(cpu.merger_fc1_bias());
  impl->merger_fc2 = cuda_util::upload_matrix(cpu.merger_fc2(), mem, check, &bytes);
  impl->merger_fc2_b = floats(cpu.merger_fc2_bias());
  if (!check.ok) return nullptr;
  return std::unique_ptr<CudaVisionTower>(new CudaVisionTower(std::move(impl)));
}

std::unique_ptr<CudaVisionTower> CudaVisionTower::create_random(const VisionConfig& c, bool qwen25, uint64_t seed,
                                                                std::string* error) {
  auto impl = start(c, qwen25, error);
  if (!impl) return nullptr;
  Check check{error};
  Allocations& mem = impl->weights;
  const auto matrix = [&](int64_t rows, int64_t cols) {
    return cuda_util::random_matrix(rows, cols, &seed, mem, check, impl->stream, &impl->bytes);
  };
  const auto vector = [&](int64_t n, float center) {
    std::vector<float> host(static_cast<size_t>(n), center);
    return cuda_util::upload_floats({&host}, mem, check);
  };
  const int64_t width = c.width, inter = c.intermediate_size, unit = c.spatial_merge_size * c.spatial_merge_size;
  impl->patch_embed = matrix(width, c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size);
  for (int64_t b = 0; b < c.depth && check.ok; ++b) {
    DeviceBlock d;
    d.norm1_w = vector(width, 1.f);
    d.norm2_w = vector(width, 1.f);
    if (!qwen25) {
      d.norm1_b = vector(width, 0.f);
      d.norm2_b = vector(width, 0.f);
    }
    d.qkv = matrix(3 * width, width);
    d.qkv_b = vector(3 * width, 0.f);
    d.proj = matrix(width, width);
    d.proj_b = vector(width, 0.f);
    if (qwen25) {
      d.gate_up = matrix(2 * inter, width);
      d.gate_up_b = vector(2 * inter, 0.f);
      d.down = matrix(width, inter);
      d.down_b = vector(width, 0.f);
    } else {
      d.fc1 = matrix(inter, width);
      d.fc1_b = vector(inter, 0.f);
      d.fc2 = matrix(width, inter);
      d.fc2_b = vector(width, 0.f);
    }
    impl->blocks.push_back(d);
  }
  impl->merger_norm_w = vector(width, 1.f);
  if (!qwen25) impl->merger_norm_b = vector(width, 0.f);
  impl->merger_fc1 = matrix(unit * width, unit * width);
  impl->merger_fc1_b = vector(unit * width, 0.f);
  impl->merger_fc2 = matrix(c.out_hidden_size, unit * width);
  impl->merger_fc2_b = vector(c.out_hidden_size, 0.f);
  check(cudaStreamSynchronize(impl->stream), "random weights");
  if (!check.ok) return nullptr;
  return std::unique_ptr<CudaVisionTower>(new CudaVisionTower(std::move(impl)));
}

CudaFeatures::~CudaFeatures() {
  if (!data_) return;
  std::lock_guard<std::mutex> lock(pool_->mutex);
  pool_->free.emplace_back(data_, capacity_);
}

bool CudaFeatures::download(std::vector<float>* out, std::string* error) const {
  out->resize(static_cast<size_t>(rows_ * hidden_));
  Check check{error};
  return check(cudaMemcpy(out->data(), data_, out->size() * 4, cudaMemcpyDeviceToHost), "vision features download");
}

std::unique_ptr<CudaFeatures> CudaVisionTower::encode_resident(const ImagePatches& image, std::string* error) {
  const VisionConfig& c = impl_->config;
  const int64_t unit = c.spatial_merge_size * c.spatial_merge_size;
  std::unique_ptr<CudaFeatures> f(new CudaFeatures());
  f->rows_ = image.patches() / unit;
  f->hidden_ = c.out_hidden_size;
  f->pool_ = impl_->features;
  const size_t need = static_cast<size_t>(std::max<int64_t>(f->rows_ * f->hidden_, 1));
  {
    std::lock_guard<std::mutex> lock(f->pool_->mutex);  // the smallest free buffer that fits
    auto& free = f->pool_->free;
    size_t best = free.size();
    for (size_t i = 0; i < free.size(); ++i)
      if (free[i].second >= need && (best == free.size() || free[i].second < free[best].second)) best = i;
    if (best < free.size()) {
      std::tie(f->data_, f->capacity_) = free[best];
      free.erase(free.begin() + static_cast<std::ptrdiff_t>(best));
    }
  }
  if (!f->data_) {
    Check check{error};
    if (!check(cudaMalloc(reinterpret_cast<void**>(&f->data_), need * 4), "vision features")) return nullptr;
    f->capacity_ = need;
  }
  if (!run(image, f->data_, nullptr, error)) return nullptr;
  return f;
}

bool CudaVisionTower::encode(const ImagePatches& image, std::vector<float>* features, std::string* error) {
  return run(image, nullptr, features, error);
}

bool CudaVisionTower::run(const ImagePatches& image, float* device, std::vector<float>* host, std::string* error) {
  Impl& w = *impl_;
  const VisionConfig& c = w.config;
  const int64_t n = image.patches(), width = c.width, heads = c.num_heads, hd = width / heads;
  const int64_t unit = c.spatial_merge_size * c.spatial_merge_size, units = n / unit, inter = c.intermediate_size;
  const int64_t cols = w.patch_embed.cols, out_hidden = c.out_hidden_size;
  if (n <= 0 || n % unit || static_cast<int64_t>(image.pixel_values.size()) != n * cols) {
    *error = "vision (CUDA): patches do not match the checkpoint's patch size";
    return false;
  }
  const VisionLayout lay = vision_layout(c, w.qwen25, image);
  // Row gathers for the window order and back: block row i <- original row
  // src[i] (patches), original unit order[u] <- block unit u (merger output).
  std::vector<int32_t> to_blocks(static_cast<size_t>(n)), to_original(static_cast<size_t>(units));
  for (int64_t u = 0; u < units; ++u) {
    for (int64_t k = 0; k < unit; ++k) to_blocks[u * unit + k] = static_cast<int32_t>(lay.order[u] * unit + k);
    to_original[lay.order[u]] = static_cast<int32_t>(u);
  }

  Check check{error};
  cudaStream_t s = w.stream;
  // This image's buffers, carved out of the tower's arena (grown when an
  // image needs more, else reused).
  float *pixels, *h, *x, *qkv, *q, *k, *v, *attn, *mlp, *act, *cos, *sin, *merged, *out, *restored;
  int64_t *full, *windows;
  int32_t *gather_in, *gather_out;
  uint16_t* scratch;
  const auto carve = [&](cuda_util::Carver& a) {
    pixels = a.take<float>(n * cols);       // (n, C*T*P*P)
    h = a.take<float>(n * width);           // (n, width) residual stream
    x = a.take<float>(n * width);           // (n, width)
    qkv = a.take<float>(n * 3 * width);     // (n, 3 width)
    q = a.take<float>(n * width);           // (n, heads, head_dim)
    k = a.take<float>(n * width);
    v = a.take<float>(n * width);
    attn = a.take<float>(n * width);
    mlp = a.take<float>(n * 2 * inter);     // (n, inter) or (n, 2 inter) fused
    act = a.take<float>(n * inter);         // (n, inter)
    cos = a.take<float>(n * hd);            // (n, head_dim)
    sin = a.take<float>(n * hd);
    full = a.take<int64_t>(static_cast<int64_t>(lay.full_starts.size()));
    windows = a.take<int64_t>(static_cast<int64_t>(lay.window_starts.size()));
    gather_in = a.take<int32_t>(static_cast<int64_t>(to_blocks.size()));
    gather_out = a.take<int32_t>(static_cast<int64_t>(to_original.size()));
    merged = a.take<float>(n * width);              // (units, 4 width)
    out = a.take<float>(units * out_hidden);        // (units, out_hidden) block order
    restored = a.take<float>(units * out_hidden);   // original order
    scratch = a.take<uint16_t>(n * std::max({cols, width, 2 * inter}));
  };
  cuda_util::Carver measure;
  carve(measure);
  if (!w.work.reserve(measure.used, check, "vision buffers")) return false;
  cuda_util::Carver arena{w.work.base()};
  carve(arena);
  if (!check.ok) return false;
  const auto up = [&](void* dst, const void* src, size_t bytes) {
    check(cudaMemcpyAsync(dst, src, bytes, cudaMemcpyHostToDevice, s), "vision upload");
  };
  up(pixels, image.pixel_values.data(), n * cols * 4);
  up(cos, lay.cos.data(), n * hd * 4);
  up(sin, lay.sin.data(), n * hd * 4);
  up(full, lay.full_starts.data(), lay.full_starts.size() * 8);
  up(windows, lay.window_starts.data(), lay.window_starts.size() * 8);
  up(gather_in, to_blocks.data(), to_blocks.size() * 4);
  up(gather_out, to_original.data(), to_original.size() * 4);
  const auto linear = [&](const float* in, int64_t rows, const DeviceMatrix& m, const float* bias, float* y) {
    if (check.ok && !w.gemm->linear_bf16(in, rows, m.cols, m.data, m.rows, bias, y, scratch, error)) check.ok = false;
  };

  linear(pixels, n, w.patch_embed, nullptr, x);  // patch embedding (Conv3d as a GEMM), original order
  check(kc::embedding_gather(x, kernels::DType::kF32, n, width, gather_in, n, h, s), "window order");
  for (int64_t b = 0; b < c.depth && check.ok; ++b) {
    const DeviceBlock& B = w.blocks[b];
    w.norm(h, B.norm1_w, B.norm1_b, x, n, check);
    linear(x, n, B.qkv, B.qkv_b, qkv);
    check(cudaMemcpy2DAsync(q, width * 4, qkv, 3 * width * 4, width * 4, n, cudaMemcpyDeviceToDevice, s), "split q");
    check(cudaMemcpy2DAsync(k, width * 4, qkv + width, 3 * width * 4, width * 4, n, cudaMemcpyDeviceToDevice, s),
          "split k");
    check(cudaMemcpy2DAsync(v, width * 4, qkv + 2 * width, 3 * width * 4, width * 4, n, cudaMemcpyDeviceToDevice, s),
          "split v");
    check(kc::rope_apply(q, n, heads, hd, cos, sin, s), "vision rope q");
    check(kc::rope_apply(k, n, heads, hd, cos, sin, s), "vision rope k");
    const bool whole = vision_full_attention(c, w.qwen25, b);
    const int64_t segments = static_cast<int64_t>((whole ? lay.full_starts : lay.window_starts).size()) - 1;
    if (w.flash) {
      kc::FlashAttentionArgs a;
      a.q = q;
      a.k = k;
      a.v = v;
      a.out = attn;
      a.len = n;
      a.starts = whole ? full : windows;
      a.segments = segments;
      a.q_heads = a.kv_heads = heads;
      a.head_dim = hd;
      check(kc::flash_attention(a, s), "vision flash attention");
    } else {
      check(kc::attention_segments(q, k, v, attn, n, heads, hd, whole ? full : windows, segments, s),
            "vision attention");
    }
    linear(attn, n, B.proj, B.proj_b, x);
    check(kc::add_inplace(h, x, n * width, s), "vision residual");
    w.norm(h, B.norm2_w, B.norm2_b, x, n, check);
    if (w.qwen25) {
      linear(x, n, B.gate_up, B.gate_up_b, mlp);
      check(kc::silu_mul_fused(mlp, act, n, inter, s), "vision silu_mul");
      linear(act, n, B.down, B.down_b, x);
    } else {
      linear(x, n, B.fc1, B.fc1_b, act);
      check(kc::quick_gelu(act, n * inter, s), "vision quick_gelu");
      linear(act, n, B.fc2, B.fc2_b, x);
    }
    check(kc::add_inplace(h, x, n * width, s), "vision residual");
  }
  // Merger: norm each patch, four neighbours side by side (rows of 4 width), Linear-GELU-Linear.
  w.norm(h, w.merger_norm_w, w.merger_norm_b, x, n, check);
  linear(x, units, w.merger_fc1, w.merger_fc1_b, merged);
  check(kc::gelu_erf(merged, units * unit * width, s), "vision gelu");
  linear(merged, units, w.merger_fc2, w.merger_fc2_b, out);
  check(kc::embedding_gather(out, kernels::DType::kF32, units, out_hidden, gather_out, units,
                             device ? device : restored, s),
        "original order");
  if (host) {
    host->resize(static_cast<size_t>(units * out_hidden));
    check(cudaMemcpyAsync(host->data(), restored, host->size() * 4, cudaMemcpyDeviceToHost, s), "vision download");
  }
  check(cudaStreamSynchronize(s), "vision");
  return check.ok;
}

}  // namespace deskpilot::engine
