#include "engine/gguf_model.h"

#include <algorithm>
#include <cstring>
#include <filesystem>

#include "kernels/dtype.h"

namespace deskpilot::engine {
namespace {

namespace fs = std::filesystem;
using kernels::DType;

bool ends_with(const std::string& s, const std::string& suffix) {
  return s.size() >= suffix.size() && s.compare(s.size() - suffix.size(), suffix.size(), suffix) == 0;
}

bool is_mmproj_name(const fs::path& p) {
  const std::string name = p.filename().string();
  return ends_with(name, ".gguf") && name.find("mmproj") != std::string::npos;
}

// Tensors of one file become views under new names; the file stays open.
struct ViewBuilder {
  std::vector<TensorView> views;
  std::vector<std::shared_ptr<const void>> owners;
  std::string* error;
  bool ok = true;

  bool fail(const std::string& what) {
    if (ok) *error = what;
    ok = false;
    return false;
  }

  // The file's tensor as a view named `name`; nullptr (and an error when required) if absent.
  const GgufTensor* add(const GgufFile& f, const std::string& gguf_name, const std::string& name, bool required) {
    if (!ok) return nullptr;
    const GgufTensor* t = f.tensor(gguf_name);
    if (!t) {
      if (required) fail(f.path() + ": tensor " + gguf_name + " (" + name + ") is missing");
      return nullptr;
    }
    if (!t->dtype) {
      fail(f.path() + ": tensor " + gguf_name + ": type " + t->type_name +
           " is not one deskpilot runs (F32, F16, BF16, Q8_0, Q4_0, Q4_K, Q5_K, Q6_K)");
      return nullptr;
    }
    TensorView v;
    v.name = name;
    v.dtype = *t->dtype;
    v.shape = t->shape();
    v.data = t->data;
    v.offset = t->offset;
    v.bytes = t->bytes;
    v.file = f.path();
    views.push_back(std::move(v));
    return t;
  }

  // A tensor made here (F32 or the parts' shared 16-bit type), owned by the store.
  void add_made(const std::string& file, const std::string& name, DType dtype, std::vector<int64_t> shape,
                std::shared_ptr<std::vector<uint8_t>> bytes) {
    TensorView v;
    v.name = name;
    v.dtype = dtype;
    v.shape = std::move(shape);
    v.data = bytes->data();
    v.bytes = bytes->size();
    v.file = file;
    views.push_back(std::move(v));
    owners.push_back(std::move(bytes));
  }
};

// Parts joined along their outermost dimension, in the parts' type when
// they share a 16- or 32-bit one, else in F32.
bool concat_rows(ViewBuilder& b, const GgufFile& f, const std::vector<std::string>& parts, const std::string& name) {
  std::vector<const GgufTensor*> ts;
  for (const auto& p : parts) {
    const GgufTensor* t = f.tensor(p);
    if (!t) return b.fail(f.path() + ": tensor " + p + " (part of " + name + ") is missing");
    if (!t->dtype || kernels::is_quantized(*t->dtype)) {
      return b.fail(f.path() + ": tensor " + p + ": type " + t->type_name +
                    " (the vision tower reads F32, F16 or BF16)");
    }
    ts.push_back(t);
  }
  DType type = *ts.front()->dtype;
  for (size_t i = 0; i < ts.size(); ++i) {
    if (*ts[i]->dtype != type) type = DType::kF32;
    if (ts[i]->dims.size() != ts.front()->dims.size() ||
        !std::equal(ts[i]->dims.begin(), ts[i]->dims.end() - 1, ts.front()->dims.begin())) {
      return b.fail(f.path() + ": tensors " + parts.front() + " and " + parts[i] + " differ in their inner dimensions");
    }
  }
  std::vector<int64_t> shape = ts.front()->shape();
  shape[0] = 0;
  for (const GgufTensor* t : ts) shape[0] += t->shape()[0];
  auto bytes = std::make_shared<std::vector<uint8_t>>();
  for (const GgufTensor* t : ts) {
    if (*t->dtype == type) {
      const auto* p = static_cast<const uint8_t*>(t->data);
      bytes->insert(bytes->end(), p, p + t->bytes);
    } else {
      std::vector<float> f32(static_cast<size_t>(t->elements()));
      kernels::convert_to_f32(*t->dtype, t->data, f32.data(), f32.size());
      const auto* p = reinterpret_cast<const uint8_t*>(f32.data());
      bytes->insert(bytes->end(), p, p + f32.size() * sizeof(float));
    }
  }
  b.add_made(f.path(), name, type, shape, std::move(bytes));
  return true;
}

// The two frames of the patch embedding ((out, in, h, w) each) stacked into
// transformers' Conv3d weight (out, in, 2, h, w).
bool stack_patch_embedding(ViewBuilder& b, const GgufFile& f, const std::string& name) {
  const GgufTensor* t0 = f.tensor("v.patch_embd.weight");
  const GgufTensor* t1 = f.tensor("v.patch_embd.weight.1");
  if (!t0 || !t1) {
    return b.fail(f.path() + ": tensors v.patch_embd.weight and v.patch_embd.weight.1 (the patch embedding's " +
                  "two frames) are required");
  }
  if (t0->dims != t1->dims || t0->dims.size() != 4 || !t0->dtype || !t1->dtype || *t0->dtype != *t1->dtype ||
      kernels::is_quantized(*t0->dtype)) {
    return b.fail(f.path() + ": v.patch_embd.weight and v.patch_embd.weight.1 differ in shape or type, or are " +
                  "not F32/F16/BF16 (" + t0->type_name + ", " + t1->type_name + ")");
  }
  const std::vector<int64_t> s = t0->shape();  // (out, in, h, w)
  const size_t elem = kernels::dtype_size(*t0->dtype);
  const size_t plane = static_cast<size_t>(s[2] * s[3]) * elem;
  auto bytes = std::make_shared<std::vector<uint8_t>>(t0->bytes * 2);
  const auto* a = static_cast<const uint8_t*>(t0->data);
  const auto* c = static_cast<const uint8_t*>(t1->data);
  for (int64_t oc = 0; oc < s[0] * s[1]; ++oc) {
    std::memcpy(bytes->data() + (2 * oc) * plane, a + oc * plane, plane);
    std::memcpy(bytes->data() + (2 * oc + 1) * plane, c + oc * plane, plane);
  }
  b.add_made(f.path(), name, *t0->dtype, {s[0], s[1], 2, s[2], s[3]}, std::move(bytes));
  return true;
}

// A required integer metadata value, checked to be in [lo, hi].
bool meta_int(const GgufFile& f, const std::string& key, int64_t lo, int64_t hi, int64_t* out, std::string* error) {
  std::string e;
  auto v = f.integer(key, &e);
  if (!e.empty()) return (*error = e, false);
  if (!v) return (*error = f.path() + ": metadata " + key + " is missing", false);
  if (*v < lo || *v > hi) {
    *error = f.path() + ": metadata " + key + ": " + std::to_string(*v) + " is out of range [" + std::to_string(lo) +
             ", " + std::to_string(hi) + "]";
    return false;
  }
  *out = *v;
  return true;
}

bool text_config(const GgufFile& f, TextConfig* c, std::string* error) {
  std::string e;
  const auto arch = f.text("general.architecture", &e);
  if (!arch || *arch != "qwen2vl") {
    *error = f.path() + ": general.architecture is " + (arch ? "'" + *arch + "'" : std::string("missing")) +
             "; deskpilot runs 'qwen2vl' (UI-TARS: Qwen2-VL and Qwen2.5-VL text models)";
    return false;
  }
  const std::string p = "qwen2vl.";
  if (!meta_int(f, p + "block_count", 1, 1024, &c->num_layers, error) ||
      !meta_int(f, p + "embedding_length", 1, 1 << 20, &c->hidden_size, error) ||
      !meta_int(f, p + "feed_forward_length", 1, 1 << 22, &c->intermediate_size, error) ||
      !meta_int(f, p + "attention.head_count", 1, 4096, &c->num_heads, error) ||
      !meta_int(f, p + "attention.head_count_kv", 1, 4096, &c->num_kv_heads, error)) {
    return false;
  }
  if (c->hidden_size % c->num_heads != 0 || c->num_heads % c->num_kv_heads != 0) {
    *error = f.path() + ": " + std::to_string(c->num_heads) + " heads over " + std::to_string(c->num_kv_heads) +
             " KV heads do not divide embedding_length " + std::to_string(c->hidden_size);
    return false;
  }
  c->head_dim = c->hidden_size / c->num_heads;
  if (auto v = f.integer(p + "context_length", &e)) c->max_position_embeddings = *v;
  if (auto v = f.number(p + "rope.freq_base", &e)) c->rope_theta = *v;
  if (auto v = f.number(p + "attention.layer_norm_rms_epsilon", &e)) c->rms_norm_eps = *v;
  if (!e.empty()) return (*error = e, false);
  const GgufValue* sections = f.find(p + "rope.dimension_sections");
  if (!sections || sections->type != GgufValue::Type::kArray || sections->integers.size() < 3) {
    *error = f.path() + ": metadata " + p + "rope.dimension_sections: expected the M-RoPE sections (integers)";
    return false;
  }
  c->mrope_section.clear();
  int64_t sum = 0;
  for (size_t i = 0; i < sections->integers.size(); ++i) {
    const int64_t s = sections->integers[i];
    if (s < 0) return (*error = f.path() + ": " + p + "rope.dimension_sections has a negative entry", false);
    if (i < 3)
      c->mrope_section.push_back(s);
    else if (s != 0)
      return (*error = f.path() + ": " + p + "rope.dimension_sections: a fourth section (" + std::to_string(s) +
                       ") is not Qwen2-VL's M-RoPE",
              false);
    sum += s;
  }
  if (sum * 2 != c->head_dim) {
    *error = f.path() + ": " + p + "rope.dimension_sections sum to " + std::to_string(sum) +
             ", not head_dim / 2 = " + std::to_string(c->head_dim / 2);
    return false;
  }
  const GgufTensor* embd = f.tensor("token_embd.weight");
  if (!embd || embd->dims.size() != 2) {
    *error = f.path() + ": tensor token_embd.weight (the embedding) is missing or not a matrix";
    return false;
  }
  c->vocab_size = embd->dims[1];
  c->tie_word_embeddings = f.tensor("output.weight") == nullptr;
  return true;
}

bool vision_config(const GgufFile& f, ModelConfig* m, std::string* error) {
  std::string e;
  const auto arch = f.text("general.architecture", &e);
  const auto projector = f.text("clip.projector_type", &e);
  if (!arch || *arch != "clip" || !projector) {
    *error = f.path() + ": not an mmproj file (general.architecture 'clip' with clip.projector_type)";
    return false;
  }
  if (*projector == "qwen2vl_merger") {
    m->architecture = Architecture::kQwen2VL;
  } else if (*projector == "qwen2.5vl_merger") {
    m->architecture = Architecture::kQwen25VL;
  } else {
    *error = f.path() + ": clip.projector_type '" + *projector +
             "' is not a UI-TARS vision tower (qwen2vl_merger, qwen2.5vl_merger)";
    return false;
  }
  VisionConfig& v = m->vision;
  const std::string p = "clip.vision.";
  if (!meta_int(f, p + "block_count", 1, 1024, &v.depth, error) ||
      !meta_int(f, p + "embedding_length", 1, 1 << 16, &v.width, error) ||
      !meta_int(f, p + "attention.head_count", 1, 1024, &v.num_heads, error) ||
      !meta_int(f, p + "patch_size", 1, 1024, &v.patch_size, error) ||
      !meta_int(f, p + "projection_dim", 1, 1 << 20, &v.out_hidden_size, error)) {
    return false;
  }
  if (v.width % v.num_heads != 0) {
    *error = f.path() + ": " + p + "embedding_length " + std::to_string(v.width) + " is not a multiple of " +
             std::to_string(v.num_heads) + " heads";
    return false;
  }
  // The MLP width from the tensors: llama.cpp writes Qwen2-VL's
  // feed_forward_length as the merger's output width.
  const GgufTensor* up = f.tensor("v.blk.0.ffn_up.weight");
  if (!up || up->dims.size() != 2) return (*error = f.path() + ": tensor v.blk.0.ffn_up.weight is missing", false);
  v.intermediate_size = up->dims[1];
  v.in_channels = 3;
  v.spatial_merge_size = 2;  // llama.cpp writes neither: both are 2 in every Qwen2-VL / Qwen2.5-VL
  v.temporal_patch_size = 2;
  if (m->architecture == Architecture::kQwen25VL) {
    v.hidden_act = "silu";
    v.window_size = 112;  // Qwen2.5-VL's (llama.cpp uses the same constant)
    int64_t pattern = 0;
    if (!meta_int(f, p + "n_wa_pattern", 1, 1024, &pattern, error)) return false;
    v.fullatt_block_indexes.clear();
    for (int64_t b = pattern - 1; b < v.depth; b += pattern) v.fullatt_block_indexes.push_back(b);
  } else {
    v.hidden_act = "quick_gelu";
  }
  return true;
}

bool preprocessor_config(const GgufFile& f, PreprocessorConfig* pre, int64_t patch) {
  pre->patch_size = patch;
  for (const char* key : {"clip.vision.image_mean", "clip.vision.image_std"}) {
    const GgufValue* v = f.find(key);
    if (!v || v->numbers.size() != 3) continue;
    auto& dst = std::strcmp(key, "clip.vision.image_mean") == 0 ? pre->image_mean : pre->image_std;
    for (int i = 0; i < 3; ++i) dst[i] = v->numbers[i];
  }
  return true;
}

std::unique_ptr<Tokenizer> gguf_tokenizer(const GgufFile& f, std::string* error) {
  std::string e;
  const auto model = f.text("tokenizer.ggml.model", &e);
  const auto pre = f.text("tokenizer.ggml.pre", &e);
  if (!model || *model != "gpt2" || !pre || *pre != "qwen2") {
    *error = f.path() + ": tokenizer.ggml.model '" + model.value_or("") + "' with pre '" + pre.value_or("") +
             "': deskpilot runs Qwen2's byte-level BPE ('gpt2' with 'qwen2')";
    return nullptr;
  }
  const GgufValue* tokens = f.find("tokenizer.ggml.tokens");
  const GgufValue* types = f.find("tokenizer.ggml.token_type");
  const GgufValue* merges = f.find("tokenizer.ggml.merges");
  if (!tokens || tokens->strings.empty() || !types || !merges) {
    *error = f.path() + ": tokenizer.ggml.tokens, token_type and merges are required";
    return nullptr;
  }
  return Tokenizer::from_vocab(tokens->strings, types->integers, merges->strings, f.path(), error);
}

void token_ids(const Tokenizer& t, const GgufFile& f, ModelFiles* files) {
  ModelConfig& m = files->model;
  const auto id = [&](const char* token, int64_t fallback) {
    const int32_t v = t.token_id(token);
    return v >= 0 ? v : fallback;
  };
  m.image_token_id = id("<|image_pad|>", m.image_token_id);
  m.video_token_id = id("<|video_pad|>", m.video_token_id);
  m.vision_start_token_id = id("<|vision_start|>", m.vision_start_token_id);
  m.vision_end_token_id = id("<|vision_end|>", m.vision_end_token_id);
  std::string e;
  GenerationConfig& g = files->generation;
  g.eos_token_ids.clear();
  if (auto eos = f.integer("tokenizer.ggml.eos_token_id", &e)) g.eos_token_ids.push_back(*eos);
  for (const char* end : {"<|im_end|>", "<|endoftext|>"}) {
    const int32_t v = t.token_id(end);
    if (v >= 0 && std::find(g.eos_token_ids.begin(), g.eos_token_ids.end(), v) == g.eos_token_ids.end())
      g.eos_token_ids.push_back(v);
  }
  if (auto pad = f.integer("tokenizer.ggml.padding_token_id", &e)) g.pad_token_id = *pad;
}

bool text_views(ViewBuilder& b, const GgufFile& f, const TextConfig& c) {
  b.add(f, "token_embd.weight", "model.embed_tokens.weight", true);
  b.add(f, "output_norm.weight", "model.norm.weight", true);
  b.add(f, "output.weight", "lm_head.weight", false);
  static const char* const kLayer[][2] = {
      {"attn_norm.weight", "input_layernorm.weight"},
      {"attn_q.weight", "self_attn.q_proj.weight"},
      {"attn_q.bias", "self_attn.q_proj.bias"},
      {"attn_k.weight", "self_attn.k_proj.weight"},
      {"attn_k.bias", "self_attn.k_proj.bias"},
      {"attn_v.weight", "self_attn.v_proj.weight"},
      {"attn_v.bias", "self_attn.v_proj.bias"},
      {"attn_output.weight", "self_attn.o_proj.weight"},
      {"ffn_norm.weight", "post_attention_layernorm.weight"},
      {"ffn_gate.weight", "mlp.gate_proj.weight"},
      {"ffn_up.weight", "mlp.up_proj.weight"},
      {"ffn_down.weight", "mlp.down_proj.weight"},
  };
  for (int64_t l = 0; l < c.num_layers && b.ok; ++l) {
    const std::string g = "blk." + std::to_string(l) + ".", h = "model.layers." + std::to_string(l) + ".";
    for (const auto& [from, to] : kLayer) b.add(f, g + from, h + to, true);
  }
  return b.ok;
}

bool vision_views(ViewBuilder& b, const GgufFile& f, const ModelConfig& m) {
  const bool q25 = m.architecture == Architecture::kQwen25VL;
  const std::string p = "visual.";
  if (!stack_patch_embedding(b, f, p + "patch_embed.proj.weight")) return false;
  for (int64_t l = 0; l < m.vision.depth && b.ok; ++l) {
    const std::string g = "v.blk." + std::to_string(l) + ".", h = p + "blocks." + std::to_string(l) + ".";
    concat_rows(b, f, {g + "attn_q.weight", g + "attn_k.weight", g + "attn_v.weight"}, h + "attn.qkv.weight");
    concat_rows(b, f, {g + "attn_q.bias", g + "attn_k.bias", g + "attn_v.bias"}, h + "attn.qkv.bias");
    b.add(f, g + "attn_out.weight", h + "attn.proj.weight", true);
    b.add(f, g + "attn_out.bias", h + "attn.proj.bias", true);
    b.add(f, g + "ln1.weight", h + "norm1.weight", true);
    b.add(f, g + "ln2.weight", h + "norm2.weight", true);
    if (!q25) {
      b.add(f, g + "ln1.bias", h + "norm1.bias", true);
      b.add(f, g + "ln2.bias", h + "norm2.bias", true);
    }
    using Names = std::vector<std::pair<std::string, std::string>>;
    const Names mlp =
        q25 ? Names{{"ffn_gate", "mlp.gate_proj"}, {"ffn_up", "mlp.up_proj"}, {"ffn_down", "mlp.down_proj"}}
            : Names{{"ffn_up", "mlp.fc1"}, {"ffn_down", "mlp.fc2"}};
    for (const auto& [from, to] : mlp) {
      b.add(f, g + from + ".weight", h + to + ".weight", true);
      b.add(f, g + from + ".bias", h + to + ".bias", true);
    }
  }
  b.add(f, "v.post_ln.weight", p + "merger.ln_q.weight", true);
  if (!q25) b.add(f, "v.post_ln.bias", p + "merger.ln_q.bias", true);
  b.add(f, "mm.0.weight", p + "merger.mlp.0.weight", true);
  b.add(f, "mm.0.bias", p + "merger.mlp.0.bias", true);
  b.add(f, "mm.2.weight", p + "merger.mlp.2.weight", true);
  b.add(f, "mm.2.bias", p + "merger.mlp.2.bias", true);
  return b.ok;
}

// The text GGUF and mmproj a path names.
bool resolve(const std::string& path, const std::string& mmproj, std::string* text, std::string* vision,
             std::string* error) {
  std::error_code ec;
  *vision = mmproj;
  if (fs::is_directory(path, ec)) {
    std::vector<std::string> texts, projs;
    for (const auto& entry : fs::directory_iterator(path, ec)) {
      if (!entry.is_regular_file() || entry.path().extension() != ".gguf") continue;
      (is_mmproj_name(entry.path()) ? projs : texts).push_back(entry.path().string());
    }
    std::sort(texts.begin(), texts.end());
    if (texts.size() != 1) {
      *error = path + ": " +
               (texts.empty() ? std::string("no GGUF model file")
                              : std::to_string(texts.size()) + " GGUF model files (" + texts[0] +
                                    ", ...): name one with --model FILE.gguf");
      return false;
    }
    *text = texts[0];
    if (vision->empty() && projs.size() == 1) *vision = projs[0];
    if (vision->empty() && projs.size() > 1) {
      *error = path + ": " + std::to_string(projs.size()) + " mmproj files: name one with --mmproj FILE.gguf";
      return false;
    }
    return true;
  }
  *text = path;
  if (vision->empty()) {
    std::vector<std::string> projs;
    const fs::path dir = fs::path(path).parent_path().empty() ? fs::path(".") : fs::path(path).parent_path();
    for (const auto& entry : fs::directory_iterator(dir, ec))
      if (entry.is_regular_file() && is_mmproj_name(entry.path()) && entry.path() != fs::path(path))
        projs.push_back(entry.path().string());
    if (projs.size() == 1) *vision = projs[0];  // several: text only unless --mmproj names one
  }
  return true;
}

}  // namespace

bool is_gguf_path(const std::string& path) {
  std::error_code ec;
  if (fs::is_directory(path, ec)) {
    if (fs::exists(fs::path(path) / "config.json", ec)) return false;
    for (const auto& entry : fs::directory_iterator(path, ec))
      if (entry.path().extension() == ".gguf") return true;
    return false;
  }
  return ends_with(path, ".gguf");
}

std::optional<GgufModel> load_gguf_model(const std::string& path, const std::string& mmproj_path, std::string* error) {
  GgufModel out;
  if (!resolve(path, mmproj_path, &out.text_path, &out.mmproj_path, error)) return std::nullopt;
  auto text = GgufFile::open(out.text_path, error);
  if (!text) return std::nullopt;
  if (!text_config(*text, &out.files.model.text, error)) return std::nullopt;
  out.tokenizer = gguf_tokenizer(*text, error);
  if (!out.tokenizer) return std::nullopt;
  token_ids(*out.tokenizer, *text, &out.files);
  ViewBuilder b{{}, {}, error};
  if (!text_views(b, *text, out.files.model.text)) return std::nullopt;
  std::shared_ptr<GgufFile> text_file(std::move(text));
  b.owners.push_back(text_file);
  if (!out.mmproj_path.empty()) {
    std::shared_ptr<GgufFile> vision(GgufFile::open(out.mmproj_path, error));
    if (!vision) return std::nullopt;
    if (!vision_config(*vision, &out.files.model, error)) return std::nullopt;
    if (out.files.model.vision.out_hidden_size != out.files.model.text.hidden_size) {
      *error = out.mmproj_path + ": clip.vision.projection_dim " +
               std::to_string(out.files.model.vision.out_hidden_size) + " is not the text model's width " +
               std::to_string(out.files.model.text.hidden_size) + " (" + out.text_path + "): another model's mmproj?";
      return std::nullopt;
    }
    preprocessor_config(*vision, &out.files.preprocessor, out.files.model.vision.patch_size);
    if (!vision_views(b, *vision, out.files.model)) return std::nullopt;
    b.owners.push_back(vision);
    out.has_vision = true;
  }
  out.weights = WeightStore::from_views(std::move(b.views), std::move(b.owners), error);
  if (!out.weights) return std::nullopt;
  return out;
}

}  // namespace deskpilot::engine
