#include "engine/config.h"

#include <filesystem>
#include <fstream>
#include <iterator>
#include <numeric>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/json_reader.h"

namespace deskpilot::engine {
namespace {

using nlohmann::json;

using base::JsonNode;
using Invalid = base::JsonError;  // {path, message}: "FILE: PATH: message" at the top

// The object at `key` (which must be one), for its fields.
JsonNode child(const JsonNode& n, const char* key) {
  const JsonNode c = n[key];
  if (!c.json().is_object()) c.fail("expected an object");
  return c;
}

// The checks every config file shares: JSON, and an object at the top.
template <typename Read>
auto read_config(const std::string& text, const std::string& file, std::string* error, Read&& read) {
  return base::read_json_document(text, file, "", error, [&](const JsonNode& top) {
    if (!top.json().is_object()) top.fail("expected a JSON object");
    return read(top);
  });
}

Architecture architecture_of(const JsonNode& top) {
  std::string name;
  if (top.has("architectures") && top.json()["architectures"].is_array() && !top.json()["architectures"].empty() &&
      top.json()["architectures"][0].is_string()) {
    name = top.json()["architectures"][0].get<std::string>();
    if (name == "Qwen2VLForConditionalGeneration" || name == "Qwen2VLModel") return Architecture::kQwen2VL;
    if (name == "Qwen2_5_VLForConditionalGeneration" || name == "Qwen2_5_VLModel") return Architecture::kQwen25VL;
  } else {
    name = top.string("model_type", "");
    if (name == "qwen2_vl") return Architecture::kQwen2VL;
    if (name == "qwen2_5_vl") return Architecture::kQwen25VL;
  }
  throw Invalid{top.has("architectures") ? "architectures" : "model_type",
                "unsupported architecture '" + name +
                    "' (deskpilot runs Qwen2VLForConditionalGeneration and Qwen2_5_VLForConditionalGeneration)"};
}

TextConfig text_config(const JsonNode& top) {
  const JsonNode t = top.has("text_config") ? child(top, "text_config") : top;
  TextConfig c;
  c.vocab_size = t.integer("vocab_size", std::nullopt, 1);
  c.hidden_size = t.integer("hidden_size", std::nullopt, 1);
  c.intermediate_size = t.integer("intermediate_size", std::nullopt, 1);
  c.num_layers = t.integer("num_hidden_layers", std::nullopt, 1);
  c.num_heads = t.integer("num_attention_heads", std::nullopt, 1);
  c.num_kv_heads = t.integer("num_key_value_heads", c.num_heads, 1);
  if (c.num_heads % c.num_kv_heads != 0) {
    throw Invalid{t.path_of("num_key_value_heads"), std::to_string(c.num_kv_heads) + " does not divide " +
                                                      std::to_string(c.num_heads) + " attention heads"};
  }
  if (!t.has("head_dim") && c.hidden_size % c.num_heads != 0) {
    throw Invalid{t.path_of("hidden_size"), "not a multiple of num_attention_heads"};
  }
  c.head_dim = t.integer("head_dim", c.hidden_size / c.num_heads, 2);
  if (c.head_dim % 2 != 0) throw Invalid{t.path_of("head_dim"), "rotary embeddings need an even head_dim"};
  c.rms_norm_eps = t.number("rms_norm_eps", 1e-6);
  c.max_position_embeddings = t.integer("max_position_embeddings", 32768, 1);
  c.hidden_act = t.string("hidden_act", "silu");
  if (c.hidden_act != "silu") throw Invalid{t.path_of("hidden_act"), "only silu is supported, got '" + c.hidden_act + "'"};
  // tie_word_embeddings may sit at the top, in text_config, or both.
  c.tie_word_embeddings = top.boolean("tie_word_embeddings", t.boolean("tie_word_embeddings", false));
  // Rotary parameters: rope_scaling (+ rope_theta), or transformers 5's rope_parameters.
  c.rope_theta = t.number("rope_theta", top.number("rope_theta", 1000000.0));
  const char* rope_key = t.has("rope_parameters") ? "rope_parameters" : t.has("rope_scaling") ? "rope_scaling" : nullptr;
  const JsonNode* rope_owner = &t;
  if (!rope_key && top.has("rope_scaling")) {
    rope_key = "rope_scaling";
    rope_owner = &top;
  }
  if (!rope_key) throw Invalid{t.path_of("rope_scaling"), "missing (M-RoPE needs mrope_section)"};
  const JsonNode rope = child(*rope_owner, rope_key);
  const std::string type = rope.string("rope_type", rope.string("type", "default"));
  if (type != "mrope" && type != "default") {
    throw Invalid{rope.path_of("rope_type"), "unsupported rope type '" + type + "' (expected mrope or default)"};
  }
  c.rope_theta = rope.number("rope_theta", c.rope_theta);
  c.mrope_section = rope.integers("mrope_section");
  const int64_t sum = std::accumulate(c.mrope_section.begin(), c.mrope_section.end(), int64_t{0});
  if (c.mrope_section.size() != 3 || sum * 2 != c.head_dim) {
    throw Invalid{rope.path_of("mrope_section"), "expected three sections summing to head_dim / 2 = " +
                                                   std::to_string(c.head_dim / 2) + ", got " +
                                                   rope.json()["mrope_section"].dump()};
  }
  return c;
}

VisionConfig vision_config(const JsonNode& top, Architecture arch, const TextConfig& text) {
  if (!top.has("vision_config")) throw Invalid{"vision_config", "missing"};
  const JsonNode v = child(top, "vision_config");
  VisionConfig c;
  c.depth = v.integer("depth", std::nullopt, 1);
  c.num_heads = v.integer("num_heads", std::nullopt, 1);
  c.in_channels = v.integer("in_channels", v.integer("in_chans", 3, 1), 1);
  c.patch_size = v.integer("patch_size", 14, 1);
  c.spatial_merge_size = v.integer("spatial_merge_size", 2, 1);
  c.temporal_patch_size = v.integer("temporal_patch_size", 2, 1);
  if (arch == Architecture::kQwen2VL) {
    c.width = v.integer("embed_dim", std::nullopt, 1);
    c.intermediate_size = c.width * static_cast<int64_t>(v.number("mlp_ratio", 4.0));
    c.out_hidden_size = v.integer("hidden_size", text.hidden_size, 1);
    c.hidden_act = v.string("hidden_act", "quick_gelu");
  } else {
    c.width = v.integer("hidden_size", std::nullopt, 1);
    c.intermediate_size = v.integer("intermediate_size", std::nullopt, 1);
    c.out_hidden_size = v.integer("out_hidden_size", text.hidden_size, 1);
    c.hidden_act = v.string("hidden_act", "silu");
    c.window_size = v.integer("window_size", 112, 1);
    c.fullatt_block_indexes = v.integers("fullatt_block_indexes");
    for (int64_t b : c.fullatt_block_indexes) {
      if (b < 0 || b >= c.depth) {
        throw Invalid{v.path_of("fullatt_block_indexes"), "block " + std::to_string(b) + " is not below depth " +
                                                           std::to_string(c.depth)};
      }
    }
    c.tokens_per_second = v.number("tokens_per_second", 2.0);
  }
  if (c.width % c.num_heads != 0) throw Invalid{v.path_of("num_heads"), "does not divide the vision width"};
  if (c.out_hidden_size != text.hidden_size) {
    throw Invalid{v.path_of(arch == Architecture::kQwen2VL ? "hidden_size" : "out_hidden_size"),
                  std::to_string(c.out_hidden_size) + " does not match the text hidden_size " +
                      std::to_string(text.hidden_size)};
  }
  return c;
}

std::string read_file(const std::filesystem::path& p, bool* ok) {
  std::string text, ignored;
  *ok = base::read_file(p.string(), &text, &ignored);  // false for a folder too
  return text;
}

}  // namespace

std::optional<ModelConfig> parse_model_config(const std::string& text, const std::string& file, std::string* error) {
  return read_config(text, file, error, [&](const JsonNode& top) {
    ModelConfig c;
    c.architecture = architecture_of(top);
    c.text = text_config(top);
    c.vision = vision_config(top, c.architecture, c.text);
    c.image_token_id = top.integer("image_token_id", 151655);
    c.video_token_id = top.integer("video_token_id", 151656);
    c.vision_start_token_id = top.integer("vision_start_token_id", 151652);
    c.vision_end_token_id = top.integer("vision_end_token_id", 151653);
    for (int64_t id : {c.image_token_id, c.video_token_id, c.vision_start_token_id, c.vision_end_token_id}) {
      if (id >= c.text.vocab_size) throw Invalid{"image_token_id", "token id " + std::to_string(id) + " is outside the vocabulary"};
    }
    return c;
  });
}

std::optional<GenerationConfig> parse_generation_config(const std::string& text, const std::string& file,
                                                        std::string* error) {
  return read_config(text, file, error, [&](const JsonNode& top) {
    const nlohmann::json& j = top.json();
    GenerationConfig c;
    if (top.has("eos_token_id")) {
      if (j["eos_token_id"].is_array()) c.eos_token_ids = top.integers("eos_token_id");
      else c.eos_token_ids = {top.integer("eos_token_id")};
    }
    if (top.has("pad_token_id")) c.pad_token_id = top.integer("pad_token_id");
    c.do_sample = top.boolean("do_sample", false);
    c.temperature = top.number("temperature", 1.0);
    c.top_p = top.number("top_p", 1.0);
    c.top_k = top.integer("top_k", 0);
    c.repetition_penalty = top.number("repetition_penalty", 1.0);
    if (c.temperature < 0) throw Invalid{"temperature", "must not be negative"};
    if (c.top_p <= 0 || c.top_p > 1) throw Invalid{"top_p", "expected a number in (0, 1]"};
    return c;
  });
}

std::optional<PreprocessorConfig> parse_preprocessor_config(const std::string& text, const std::string& file,
                                                            std::string* error) {
  return read_config(text, file, error, [&](const JsonNode& top) {
    const nlohmann::json& j = top.json();
    PreprocessorConfig c;
    // Older files: min_pixels/max_pixels; newer: size {shortest_edge, longest_edge} in pixels.
    if (top.has("size") && j["size"].is_object()) {
      const JsonNode size = child(top, "size");
      c.min_pixels = size.integer("shortest_edge", c.min_pixels, 1);
      c.max_pixels = size.integer("longest_edge", c.max_pixels, 1);
    }
    c.min_pixels = top.integer("min_pixels", c.min_pixels, 1);
    c.max_pixels = top.integer("max_pixels", c.max_pixels, 1);
    if (c.min_pixels > c.max_pixels) throw Invalid{"min_pixels", "is larger than max_pixels"};
    c.patch_size = top.integer("patch_size", 14, 1);
    c.merge_size = top.integer("merge_size", 2, 1);
    c.temporal_patch_size = top.integer("temporal_patch_size", 2, 1);
    c.rescale_factor = top.number("rescale_factor", c.rescale_factor);
    for (const char* key : {"image_mean", "image_std"}) {
      if (!top.has(key)) continue;
      if (!j[key].is_array() || j[key].size() != 3) throw Invalid{key, "expected three numbers"};
      auto& out = std::string(key) == "image_mean" ? c.image_mean : c.image_std;
      for (size_t i = 0; i < 3; ++i) {
        if (!j[key][i].is_number()) throw Invalid{key, "expected three numbers"};
        out[i] = j[key][i].get<double>();
      }
    }
    return c;
  });
}

std::optional<ModelFiles> load_model_files(const std::string& dir, std::string* error) {
  namespace fs = std::filesystem;
  ModelFiles files;
  bool ok = false;
  const fs::path config = fs::path(dir) / "config.json";
  const std::string text = read_file(config, &ok);
  if (!ok) {
    *error = config.string() + ": cannot open (is " + dir + " a Hugging Face model folder?)";
    return std::nullopt;
  }
  auto model = parse_model_config(text, config.string(), error);
  if (!model) return std::nullopt;
  files.model = *model;
  const fs::path gen = fs::path(dir) / "generation_config.json";
  if (fs::exists(gen)) {
    auto g = parse_generation_config(read_file(gen, &ok), gen.string(), error);
    if (!g) return std::nullopt;
    files.generation = *g;
  }
  const fs::path pre = fs::path(dir) / "preprocessor_config.json";
  if (fs::exists(pre)) {
    auto p = parse_preprocessor_config(read_file(pre, &ok), pre.string(), error);
    if (!p) return std::nullopt;
    files.preprocessor = *p;
  }
  return files;
}

}  // namespace deskpilot::engine
