#include "engine/vision_tower.h"

#include <algorithm>
#include <cmath>

#include "kernels/cpu/attention.h"
#include "kernels/cpu/elementwise.h"
#include "kernels/cpu/gemm.h"
#include "kernels/cpu/layernorm.h"
#include "kernels/cpu/rmsnorm.h"
#include "kernels/cpu/rope.h"

namespace deskpilot::engine {

namespace {

void linear(const float* x, int64_t rows, const Matrix& w, const std::vector<float>& bias, float* y) {
  kernels::linear(x, rows, w.cols, w.data, w.dtype, w.rows, bias.empty() ? nullptr : bias.data(), y);
}

}  // namespace

WindowPlan plan_windows(const std::vector<GridTHW>& grids, int64_t merge, int64_t window_merged) {
  WindowPlan plan;
  plan.starts.push_back(0);
  int64_t offset = 0;  // merged units of the images before
  const int64_t unit = merge * merge;
  for (const GridTHW& g : grids) {
    const int64_t lh = g.h / merge, lw = g.w / merge;
    // As transformers pads: a full window of padding when the side divides evenly.
    const int64_t nh = (lh + window_merged - lh % window_merged) / window_merged;
    const int64_t nw = (lw + window_merged - lw % window_merged) / window_merged;
    for (int64_t t = 0; t < g.t; ++t) {
      for (int64_t wh = 0; wh < nh; ++wh) {
        for (int64_t ww = 0; ww < nw; ++ww) {
          int64_t count = 0;
          for (int64_t i = 0; i < window_merged; ++i) {
            for (int64_t j = 0; j < window_merged; ++j) {
              const int64_t y = wh * window_merged + i, x = ww * window_merged + j;
              if (y >= lh || x >= lw) continue;
              plan.index.push_back(offset + (t * lh + y) * lw + x);
              ++count;
            }
          }
          if (count > 0) plan.starts.push_back(plan.starts.back() + count * unit);  // empty windows dropped
        }
      }
    }
    offset += g.t * lh * lw;
  }
  return plan;
}

std::unique_ptr<VisionTower> VisionTower::load(const WeightStore& weights, const ModelConfig& config,
                                               std::string* error) {
  std::unique_ptr<VisionTower> v(new VisionTower());
  v->architecture_ = config.architecture;
  v->config_ = config.vision;
  const VisionConfig& c = config.vision;
  if (weights.find("model.visual.patch_embed.proj.weight")) {
    v->prefix_ = "model.visual.";
  } else if (weights.find("visual.patch_embed.proj.weight")) {
    v->prefix_ = "visual.";
  } else {
    if (error) *error = "no vision weights: expected visual.patch_embed.proj.weight or model.visual.patch_embed.proj.weight";
    return nullptr;
  }
  const int64_t width = c.width, inter = c.intermediate_size, merged = width * c.spatial_merge_size * c.spatial_merge_size;
  const int64_t patch_cols = c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size;
  WeightLoader load{weights, error};
  const std::string& p = v->prefix_;
  if (const TensorView* t = load.get(p + "patch_embed.proj.weight",
                                     {width, c.in_channels, c.temporal_patch_size, c.patch_size, c.patch_size}))
    v->patch_embed_ = Matrix{t->data, t->dtype, width, patch_cols};
  const bool q25 = v->qwen25();
  for (int64_t b = 0; b < c.depth && load.ok; ++b) {
    const std::string bp = p + "blocks." + std::to_string(b) + ".";
    VisionBlockWeights w;
    w.norm1_w = load.vector(bp + "norm1.weight", width);
    w.norm2_w = load.vector(bp + "norm2.weight", width);
    if (!q25) {
      w.norm1_b = load.vector(bp + "norm1.bias", width);
      w.norm2_b = load.vector(bp + "norm2.bias", width);
    }
    w.qkv = load.matrix(bp + "attn.qkv.weight", 3 * width, width);
    w.qkv_b = load.vector(bp + "attn.qkv.bias", 3 * width);
    w.proj = load.matrix(bp + "attn.proj.weight", width, width);
    w.proj_b = load.vector(bp + "attn.proj.bias", width);
    if (q25) {
      w.gate = load.matrix(bp + "mlp.gate_proj.weight", inter, width);
      w.gate_b = load.vector(bp + "mlp.gate_proj.bias", inter);
      w.up = load.matrix(bp + "mlp.up_proj.weight", inter, width);
      w.up_b = load.vector(bp + "mlp.up_proj.bias", inter);
      w.down = load.matrix(bp + "mlp.down_proj.weight", width, inter);
      w.down_b = load.vector(bp + "mlp.down_proj.bias", width);
    } else {
      w.fc1 = load.matrix(bp + "mlp.fc1.weight", inter, width);
      w.fc1_b = load.vector(bp + "mlp.fc1.bias", inter);
      w.fc2 = load.matrix(bp + "mlp.fc2.weight", width, inter);
      w.fc2_b = load.vector(bp + "mlp.fc2.bias", width);
    }
    v->blocks_.push_back(std::move(w));
  }
  v->merger_norm_w_ = load.vector(p + "merger.ln_q.weight", width);
  if (!q25) v->merger_norm_b_ = load.vector(p + "merger.ln_q.bias", width);
  v->merger_fc1_ = load.matrix(p + "merger.mlp.0.weight", merged, merged);
  v->merger_fc1_b_ = load.vector(p + "merger.mlp.0.bias", merged);
  v->merger_fc2_ = load.matrix(p + "merger.mlp.2.weight", c.out_hidden_size, merged);
  v->merger_fc2_b_ = load.vector(p + "merger.mlp.2.bias", c.out_hidden_size);
  if (!load.ok) return nullptr;
  return v;
}

std::unique_ptr<VisionTower> VisionTower::create_random(const VisionConfig& c, Architecture architecture,
                                                       uint64_t seed) {
  std::unique_ptr<VisionTower> v(new VisionTower());
  v->architecture_ = architecture;
  v->config_ = c;
  v->prefix_ = "visual.";
  v->random_ = std::make_shared<RandomWeights>(seed);
  RandomWeights& r = *v->random_;
  const bool q25 = v->qwen25();
  const int64_t width = c.width, inter = c.intermediate_size, merged = width * c.spatial_merge_size * c.spatial_merge_size;
  v->patch_embed_ = r.matrix(width, c.in_channels * c.temporal_patch_size * c.patch_size * c.patch_size);
  for (int64_t b = 0; b < c.depth; ++b) {
    VisionBlockWeights w;
    w.norm1_w = r.vector(width, 1.f, 0.1f);
    w.norm2_w = r.vector(width, 1.f, 0.1f);
    if (!q25) {
      w.norm1_b = r.vector(width, 0.f, 0.02f);
      w.norm2_b = r.vector(width, 0.f, 0.02f);
    }
    w.qkv = r.matrix(3 * width, width);
    w.qkv_b = r.vector(3 * width, 0.f, 0.02f);
    w.proj = r.matrix(width, width);
    w.proj_b = r.vector(width, 0.f, 0.02f);
    if (q25) {
      w.gate = r.matrix(inter, width);
      w.gate_b = r.vector(inter, 0.f, 0.02f);
      w.up = r.matrix(inter, width);
      w.up_b = r.vector(inter, 0.f, 0.02f);
      w.down = r.matrix(width, inter);
      w.down_b = r.vector(width, 0.f, 0.02f);
    } else {
      w.fc1 = r.matrix(inter, width);
      w.fc1_b = r.vector(inter, 0.f, 0.02f);
      w.fc2 = r.matrix(width, inter);
      w.fc2_b = r.vector(width, 0.f, 0.02f);
    }
    v->blocks_.push_back(std::move(w));
  }
  v->merger_norm_w_ = r.vector(width, 1.f, 0.1f);
  if (!q25) v->merger_norm_b_ = r.vector(width, 0.f, 0.02f);
  v->merger_fc1_ = r.matrix(merged, merged);
  v->merger_fc1_b_ = r.vector(merged, 0.f, 0.02f);
  v->merger_fc2_ = r.matrix(c.out_hidden_size, merged);
  v->merger_fc2_b_ = r.vector(c.out_hidden_size, 0.f, 0.02f);
  return v;
}

void VisionTower::norm(const float* x, const std::vector<float>& w, const std::vector<float>& b, float* out,
                       int64_t rows) const {
  if (qwen25()) {
    kernels::rmsnorm_f32(x, w.data(), out, rows, config_.width, 1e-6f);
  } else {
    kernels::layernorm_f32(x, w.data(), b.data(), out, rows, config_.width, 1e-6f);
  }
}

VisionLayout vision_layout(const VisionConfig& c, bool qwen25, const ImagePatches& image) {
  const int64_t n = image.patches(), hd = c.width / c.num_heads;
  const int64_t merge = c.spatial_merge_size, unit = merge * merge, units = n / unit;
  VisionLayout lay;
  // 2D rotary angles per patch (merge order): frequencies of head_dim/4 for the row, then the column.
  const int64_t quarter = hd / 4;
  std::vector<float> inv_freq(static_cast<size_t>(quarter));
  const int64_t rot_dim = hd / 2;
  for (int64_t i = 0; i < quarter; ++i)
    inv_freq[i] = 1.0f / std::pow(10000.0f, static_cast<float>(2 * i) / static_cast<float>(rot_dim));
  lay.cos.resize(static_cast<size_t>(n * hd));
  lay.sin.resize(static_cast<size_t>(n * hd));
  lay.order.resize(static_cast<size_t>(units));
  lay.full_starts = {0, n};
  if (qwen25) {
    WindowPlan plan = plan_windows({image.grid()}, merge, c.window_size / merge / c.patch_size);
    lay.order = std::move(plan.index);
    lay.window_starts = std::move(plan.starts);
  } else {
    for (int64_t u = 0; u < units; ++u) lay.order[u] = u;
    lay.window_starts = lay.full_starts;
  }
  for (int64_t u = 0; u < units; ++u) {
    for (int64_t k = 0; k < unit; ++k) {
      const int64_t src = lay.order[u] * unit + k;  // patch in merge order
      const int64_t per_frame = image.grid_h * image.grid_w;
      const int64_t block = (src % per_frame) / unit, bw_count = image.grid_w / merge;
      const int64_t row = (block / bw_count) * merge + (k / merge), col = (block % bw_count) * merge + (k % merge);
      float* cr = lay.cos.data() + (u * unit + k) * hd;
      float* sr = lay.sin.data() + (u * unit + k) * hd;
      for (int64_t i = 0; i < quarter; ++i) {
        const float a = static_cast<float>(row) * inv_freq[i], b = static_cast<float>(col) * inv_freq[i];
        cr[i] = cr[i + rot_dim] = std::cos(a);
        sr[i] = sr[i + rot_dim] = std::sin(a);
        cr[quarter + i] = cr[quarter + i + rot_dim] = std::cos(b);
        sr[quarter + i] = sr[quarter + i + rot_dim] = std::sin(b);
      }
    }
  }
  return lay;
}

bool vision_full_attention(const VisionConfig& config, bool qwen25, int64_t block) {
  const auto& full = config.fullatt_block_indexes;
  return !qwen25 || std::find(full.begin(), full.end(), block) != full.end();
}

std::vector<float> VisionTower::encode(const ImagePatches& image, const TensorSink& sink) const {
  const VisionConfig& c = config_;
  const int64_t n = image.patches(), width = c.width, heads = c.num_heads, hd = width / heads;
  const int64_t merge = c.spatial_merge_size, unit = merge * merge, units = n / unit;
  const auto dump = [&](const std::string& name, const std::vector<int64_t>& shape, const float* data) {
    if (sink) sink(name, shape, data);
  };

  std::vector<float> h(static_cast<size_t>(n * width));  // (n, width) the residual stream
  kernels::linear(image.pixel_values.data(), n, patch_embed_.cols, patch_embed_.data, patch_embed_.dtype, width,
                  nullptr, h.data());
  dump("vision.patch_embed", {n, width}, h.data());

  const VisionLayout lay = layout(image);
  const std::vector<int64_t>& order = lay.order;
  if (qwen25()) {  // hidden states into window order
    std::vector<float> permuted(h.size());
    for (int64_t u = 0; u < units; ++u)
      std::copy_n(h.data() + order[u] * unit * width, unit * width, permuted.data() + u * unit * width);
    h.swap(permuted);
  }

  std::vector<float> x(static_cast<size_t>(n * width));           // (n, width) normed
  std::vector<float> qkv(static_cast<size_t>(n * 3 * width));     // (n, 3, heads, head_dim)
  std::vector<float> q(static_cast<size_t>(n * width)), k(q.size()), v(q.size()), attn(q.size());  // (n, heads, head_dim)
  std::vector<float> mlp1(static_cast<size_t>(n * c.intermediate_size)), mlp2;  // (n, inter)
  if (qwen25()) mlp2.resize(mlp1.size());
  for (int64_t b = 0; b < c.depth; ++b) {
    const VisionBlockWeights& w = blocks_[b];
    norm(h.data(), w.norm1_w, w.norm1_b, x.data(), n);
    linear(x.data(), n, w.qkv, w.qkv_b, qkv.data());
    for (int64_t t = 0; t < n; ++t) {
      std::copy_n(qkv.data() + t * 3 * width, width, q.data() + t * width);
      std::copy_n(qkv.data() + t * 3 * width + width, width, k.data() + t * width);
      std::copy_n(qkv.data() + t * 3 * width + 2 * width, width, v.data() + t * width);
    }
    kernels::rope_apply(q.data(), n, heads, hd, lay.cos.data(), lay.sin.data());
    kernels::rope_apply(k.data(), n, heads, hd, lay.cos.data(), lay.sin.data());
    const std::vector<int64_t>& seg = full_attention(b) ? lay.full_starts : lay.window_starts;
    kernels::attention_segments(q.data(), k.data(), v.data(), attn.data(), n, heads, hd, seg.data(),
                                static_cast<int64_t>(seg.size()) - 1);
    linear(attn.data(), n, w.proj, w.proj_b, x.data());
    kernels::add_inplace(h.data(), x.data(), n * width);

    norm(h.data(), w.norm2_w, w.norm2_b, x.data(), n);
    if (qwen25()) {
      linear(x.data(), n, w.gate, w.gate_b, mlp1.data());
      linear(x.data(), n, w.up, w.up_b, mlp2.data());
      kernels::silu_mul(mlp1.data(), mlp2.data(), mlp1.data(), n * c.intermediate_size);
      linear(mlp1.data(), n, w.down, w.down_b, x.data());
    } else {
      linear(x.data(), n, w.fc1, w.fc1_b, mlp1.data());
      kernels::quick_gelu(mlp1.data(), n * c.intermediate_size);
      linear(mlp1.data(), n, w.fc2, w.fc2_b, x.data());
    }
    kernels::add_inplace(h.data(), x.data(), n * width);
    dump("vision.block." + std::to_string(b), {n, width}, h.data());
  }

  // Merger: norm each patch, four neighbours side by side, Linear-GELU-Linear.
  norm(h.data(), merger_norm_w_, merger_norm_b_, x.data(), n);
  const int64_t merged = width * unit;
  std::vector<float> m1(static_cast<size_t>(units * merged));  // (units, 4*width)
  linear(x.data(), units, merger_fc1_, merger_fc1_b_, m1.data());
  kernels::gelu_erf(m1.data(), units * merged);
  std::vector<float> out(static_cast<size_t>(units * c.out_hidden_size));  // (units, out_hidden)
  linear(m1.data(), units, merger_fc2_, merger_fc2_b_, out.data());
  if (qwen25()) {  // back to the original order
    std::vector<float> restored(out.size());
    for (int64_t u = 0; u < units; ++u)
      std::copy_n(out.data() + u * c.out_hidden_size, c.out_hidden_size, restored.data() + order[u] * c.out_hidden_size);
    out.swap(restored);
  }
  dump("vision.merger", {units, c.out_hidden_size}, out.data());
  return out;
}

}  // namespace deskpilot::engine
