#include "engine/quantize.h"

#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <vector>

#include "engine/gguf_model.h"
#include "engine/gguf_writer.h"
#include "engine/model.h"
#include "kernels/quant.h"

namespace deskpilot::engine {
namespace {

using kernels::DType;
using json = nlohmann::json;

struct RecipeRow {
  const char* name;
  DType base;
  bool mixed;
  uint32_t file_type;  // llama_ftype
};

constexpr RecipeRow kRecipes[] = {
    {"f16", DType::kF16, false, 1},    {"bf16", DType::kBF16, false, 32},  {"q8_0", DType::kQ8_0, false, 7},
    {"q4_0", DType::kQ4_0, false, 2},  {"q4_k", DType::kQ4_K, false, 15},  {"q5_k", DType::kQ5_K, false, 17},
    {"q6_k", DType::kQ6_K, false, 18}, {"q4_k_m", DType::kQ4_K, true, 15}, {"q5_k_m", DType::kQ5_K, true, 17},
};

// llama.cpp's use_more_bits: the first and last eighth of the layers and every third between.
bool more_bits(int64_t i, int64_t n) { return i < n / 8 || i >= 7 * n / 8 || (i - n / 8) % 3 == 2; }

// The llama.cpp role and layer of a Hugging Face text tensor name; false for others.
bool text_role(const std::string& name, std::string* role, int64_t* layer) {
  static const std::pair<const char*, const char*> kLayer[] = {
      {"self_attn.q_proj.weight", "attn_q"}, {"self_attn.k_proj.weight", "attn_k"},
      {"self_attn.v_proj.weight", "attn_v"}, {"self_attn.o_proj.weight", "attn_output"},
      {"mlp.gate_proj.weight", "ffn_gate"},  {"mlp.up_proj.weight", "ffn_up"},
      {"mlp.down_proj.weight", "ffn_down"},
  };
  *layer = -1;
  if (name == "lm_head.weight") return *role = "output", true;
  if (name == "model.embed_tokens.weight" || name == "model.language_model.embed_tokens.weight")
    return *role = "token_embd", true;
  for (const char* prefix : {"model.layers.", "model.language_model.layers."}) {
    const std::string p = prefix;
    if (name.compare(0, p.size(), p) != 0) continue;
    const size_t dot = name.find('.', p.size());
    if (dot == std::string::npos) return false;
    const std::string rest = name.substr(dot + 1);
    for (const auto& [suffix, r] : kLayer) {
      if (rest == suffix) {
        *layer = std::stoll(name.substr(p.size(), dot - p.size()));
        *role = r;
        return true;
      }
    }
  }
  return false;
}

// `rows` rows of `cols` values of `from` (a view) converted into `to`, rows split across threads.
void requantize(const TensorView& t, int64_t rows, int64_t cols, DType to, uint8_t* out) {
  const int64_t in_row = kernels::dtype_bytes(t.dtype, cols), out_row = kernels::dtype_bytes(to, cols);
#pragma omp parallel
  {
    std::vector<float> row(static_cast<size_t>(cols));  // (cols) one row in FP32
#pragma omp for schedule(dynamic, 64)
    for (int64_t r = 0; r < rows; ++r) {
      kernels::convert_to_f32(t.dtype, static_cast<const uint8_t*>(t.data) + r * in_row, row.data(),
                              static_cast<size_t>(cols));
      kernels::quantize(to, row.data(), out + r * out_row, cols);
    }
  }
}

}  // namespace

bool set_gguf_tokenizer_from_json(const std::string& path, int64_t vocab_size, GgufWriter* w, std::string* error) {
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    *error = path + ": cannot read";
    return false;
  }
  std::stringstream text;
  text << in.rdbuf();
  json j;
  try {
    j = json::parse(text.str());
  } catch (const json::exception& e) {
    *error = path + ": not JSON: " + e.what();
    return false;
  }
  std::vector<std::string> tokens(static_cast<size_t>(vocab_size));
  std::vector<int64_t> types(static_cast<size_t>(vocab_size), 0);
  const auto place = [&](int64_t id, const std::string& token, int64_t type) {
    if (id < 0 || id >= vocab_size) {
      *error = path + ": token id " + std::to_string(id) + " is past the embedding's " + std::to_string(vocab_size);
      return false;
    }
    tokens[static_cast<size_t>(id)] = token;
    types[static_cast<size_t>(id)] = type;
    return true;
  };
  for (const auto& [token, id] : j["model"]["vocab"].items())
    if (!place(id.get<int64_t>(), token, 1)) return false;
  for (const auto& a : j.value("added_tokens", json::array()))
    if (!place(a["id"].get<int64_t>(), a["content"].get<std::string>(), a.value("special", false) ? 3 : 4))
      return false;
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (types[i] == 0) {
      tokens[i] = "[PAD" + std::to_string(i) + "]";
      types[i] = 5;  // unused
    }
  }
  std::vector<std::string> merges;
  for (const auto& m : j["model"]["merges"])
    merges.push_back(m.is_array() ? m[0].get<std::string>() + " " + m[1].get<std::string>() : m.get<std::string>());
  w->set_string("tokenizer.ggml.model", "gpt2");
  w->set_string("tokenizer.ggml.pre", "qwen2");
  w->set_strings("tokenizer.ggml.tokens", std::move(tokens));
  w->set_i32s("tokenizer.ggml.token_type", types);
  w->set_strings("tokenizer.ggml.merges", std::move(merges));
  return true;
}

std::optional<QuantRecipe> parse_quant_recipe(const std::string& name, std::string* error) {
  std::string names, lower = name;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (const auto& r : kRecipes) {
    if (lower == r.name) return QuantRecipe{r.name, r.base, r.mixed, r.file_type};
    names += std::string(names.empty() ? "" : ", ") + r.name;
  }
  *error = "unknown quantization '" + name + "' (expected one of " + names + ")";
  return std::nullopt;
}

DType quant_type_for(const QuantRecipe& recipe, const std::string& role, int64_t layer, int64_t layers, int64_t cols) {
  DType t = recipe.base;
  if (recipe.mixed) {
    if (role == "output") t = DType::kQ6_K;
    if ((role == "attn_v" || role == "ffn_down") && layer >= 0 && more_bits(layer, layers)) t = DType::kQ6_K;
  }
  if (cols % kernels::dtype_block(t) == 0) return t;
  return cols % kernels::kQK8_0 == 0 ? DType::kQ8_0 : DType::kF16;
}

std::unique_ptr<WeightStore> quantize_weights(std::shared_ptr<const WeightStore> weights, const TextConfig& config,
                                              const QuantRecipe& recipe, std::string* error) {
  std::vector<TensorView> views;
  std::vector<std::shared_ptr<const void>> owners{weights};
  for (const std::string& name : weights->names()) {
    const TensorView* t = weights->find(name);
    TensorView v = *t;
    std::string role;
    int64_t layer = -1;
    if (t->shape.size() == 2 && text_role(name, &role, &layer)) {
      const int64_t rows = t->shape[0], cols = t->shape[1];
      const DType to = quant_type_for(recipe, role, layer, config.num_layers, cols);
      if (to != t->dtype) {
        auto bytes = std::make_shared<std::vector<uint8_t>>(static_cast<size_t>(rows * kernels::dtype_bytes(to, cols)));
        requantize(*t, rows, cols, to, bytes->data());
        v.dtype = to;
        v.data = bytes->data();
        v.bytes = bytes->size();
        owners.push_back(std::move(bytes));
      }
    }
    views.push_back(std::move(v));
  }
  return WeightStore::from_views(std::move(views), std::move(owners), error);
}

bool write_gguf_text_model(const Model& model, const QuantRecipe& recipe, const std::string& path, std::string* error) {
  const Qwen2LanguageModel& lm = model.lm();
  const TextConfig& c = lm.config();
  GgufWriter w;
  w.set_string("general.architecture", "qwen2vl");
  w.set_string("general.type", "model");
  w.set_string("general.name", std::filesystem::path(model.dir()).filename().string());
  w.set_u32("qwen2vl.block_count", static_cast<uint32_t>(c.num_layers));
  w.set_u32("qwen2vl.context_length", static_cast<uint32_t>(c.max_position_embeddings));
  w.set_u32("qwen2vl.embedding_length", static_cast<uint32_t>(c.hidden_size));
  w.set_u32("qwen2vl.feed_forward_length", static_cast<uint32_t>(c.intermediate_size));
  w.set_u32("qwen2vl.attention.head_count", static_cast<uint32_t>(c.num_heads));
  w.set_u32("qwen2vl.attention.head_count_kv", static_cast<uint32_t>(c.num_kv_heads));
  std::vector<int64_t> sections = c.mrope_section;
  sections.resize(4, 0);
  w.set_i32s("qwen2vl.rope.dimension_sections", sections);
  w.set_f32("qwen2vl.rope.freq_base", static_cast<float>(c.rope_theta));
  w.set_f32("qwen2vl.attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  // The tokenizer: copied from a GGUF source, made from tokenizer.json otherwise.
  if (is_gguf_path(model.dir())) {
    auto source = GgufFile::open(model.gguf_text_path(), error);
    if (!source) return false;
    for (const auto& [key, value] : source->contents().metadata)
      if (key.rfind("tokenizer.", 0) == 0) w.set(key, value);
  } else {
    if (!set_gguf_tokenizer_from_json(model.dir() + "/tokenizer.json", c.vocab_size, &w, error)) return false;
    const auto& eos = model.files().generation.eos_token_ids;
    if (!eos.empty()) w.set_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(eos.front()));
    if (const int32_t bos = model.tokenizer().token_id("<|endoftext|>"); bos >= 0) {
      w.set_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(bos));
      w.set_u32("tokenizer.ggml.padding_token_id", static_cast<uint32_t>(bos));
    }
    w.set_bool("tokenizer.ggml.add_bos_token", false);
  }
  w.set_u32("general.quantization_version", 2);
  w.set_u32("general.file_type", recipe.ggml_file_type);

  const auto matrix = [&](const std::string& name, const Matrix& m) {
    w.add_tensor(name, m.dtype, {m.rows, m.cols}, m.data);
  };
  const auto vector = [&](const std::string& name, const std::vector<float>& v) {
    w.add_tensor(name, DType::kF32, {static_cast<int64_t>(v.size())}, v.data());
  };
  matrix("token_embd.weight", lm.embed_tokens());
  vector("output_norm.weight", lm.final_norm());
  if (!lm.tied()) matrix("output.weight", lm.lm_head());
  for (size_t l = 0; l < lm.layers().size(); ++l) {
    const DecoderLayer& d = lm.layers()[l];
    const std::string p = "blk." + std::to_string(l) + ".";
    vector(p + "attn_norm.weight", d.input_norm);
    matrix(p + "attn_q.weight", d.q);
    vector(p + "attn_q.bias", d.q_bias);
    matrix(p + "attn_k.weight", d.k);
    vector(p + "attn_k.bias", d.k_bias);
    matrix(p + "attn_v.weight", d.v);
    vector(p + "attn_v.bias", d.v_bias);
    matrix(p + "attn_output.weight", d.o);
    vector(p + "ffn_norm.weight", d.post_attention_norm);
    matrix(p + "ffn_gate.weight", d.gate);
    matrix(p + "ffn_up.weight", d.up);
    matrix(p + "ffn_down.weight", d.down);
  }
  return w.write(path, error);
}

}  // namespace deskpilot::engine
