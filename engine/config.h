// Model configuration of Qwen2-VL (UI-TARS 2B/7B/72B) and Qwen2.5-VL
// (UI-TARS-1.5-7B) checkpoints: one commented struct per component, all
// parsed in one place (config.cpp) from the three layouts released
// checkpoints use:
//   flat           text fields at the top level, rope_scaling {"type": "mrope", ...}
//   nested         text fields under "text_config" (transformers >= 4.52)
//   rope_parameters  transformers 5: {"rope_type", "rope_theta", "mrope_section"}
// Errors name the file and the field; an unsupported architecture is refused
// by name.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace deskpilot::engine {

enum class Architecture { kQwen2VL, kQwen25VL };

// The Qwen2 decoder.
struct TextConfig {
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;         // d_model
  int64_t intermediate_size = 0;   // SwiGLU width
  int64_t num_layers = 0;
  int64_t num_heads = 0;           // query heads
  int64_t num_kv_heads = 0;        // grouped-query attention: num_heads % num_kv_heads == 0
  int64_t head_dim = 0;            // hidden_size / num_heads unless given
  double rms_norm_eps = 1e-6;
  double rope_theta = 1000000.0;
  // M-RoPE: how the head_dim/2 rotary frequencies split between the
  // temporal, height and width position streams; sums to head_dim / 2.
  std::vector<int64_t> mrope_section;
  int64_t max_position_embeddings = 32768;
  bool tie_word_embeddings = false;  // lm_head shares embed_tokens when true (or when lm_head is absent)
  std::string hidden_act = "silu";
};

// The vision tower.
struct VisionConfig {
  int64_t depth = 0;                // blocks
  int64_t width = 0;                // embed_dim (Qwen2-VL) / hidden_size (Qwen2.5-VL)
  int64_t intermediate_size = 0;    // MLP width: width * mlp_ratio (Qwen2-VL) or given (Qwen2.5-VL)
  int64_t num_heads = 0;
  int64_t in_channels = 3;
  int64_t patch_size = 14;
  int64_t spatial_merge_size = 2;   // merger groups merge x merge patches into one token
  int64_t temporal_patch_size = 2;  // frames per patch (an image is duplicated)
  int64_t out_hidden_size = 0;      // merger output = the text hidden size
  std::string hidden_act;           // quick_gelu (Qwen2-VL) / silu (Qwen2.5-VL)
  // Qwen2.5-VL only: windowed attention except in these blocks.
  int64_t window_size = 0;          // in pixels (112 = 8 patches)
  std::vector<int64_t> fullatt_block_indexes;
  double tokens_per_second = 0;     // video temporal positions
};

struct ModelConfig {
  Architecture architecture = Architecture::kQwen2VL;
  TextConfig text;
  VisionConfig vision;
  int64_t image_token_id = 151655;         // <|image_pad|>
  int64_t video_token_id = 151656;         // <|video_pad|>
  int64_t vision_start_token_id = 151652;  // <|vision_start|>
  int64_t vision_end_token_id = 151653;    // <|vision_end|>
};

// generation_config.json; absent fields keep these defaults.
struct GenerationConfig {
  std::vector<int64_t> eos_token_ids;  // any of them ends generation
  std::optional<int64_t> pad_token_id;
  bool do_sample = false;
  double temperature = 1.0;
  double top_p = 1.0;
  int64_t top_k = 0;                   // 0: off
  double repetition_penalty = 1.0;
};

// preprocessor_config.json (Qwen2VLImageProcessor).
struct PreprocessorConfig {
  int64_t min_pixels = 56 * 56;
  int64_t max_pixels = 28 * 28 * 1280;
  int64_t patch_size = 14;
  int64_t merge_size = 2;
  int64_t temporal_patch_size = 2;
  std::array<double, 3> image_mean{0.48145466, 0.4578275, 0.40821073};  // CLIP
  std::array<double, 3> image_std{0.26862954, 0.26130258, 0.27577711};
  double rescale_factor = 1.0 / 255.0;
};

// Each returns nullopt and *error ("FILE: FIELD: what") on failure.
std::optional<ModelConfig> parse_model_config(const std::string& json_text, const std::string& file, std::string* error);
std::optional<GenerationConfig> parse_generation_config(const std::string& json_text, const std::string& file,
                                                        std::string* error);
std::optional<PreprocessorConfig> parse_preprocessor_config(const std::string& json_text, const std::string& file,
                                                            std::string* error);

// From a model folder: config.json (required), generation_config.json and
// preprocessor_config.json (defaults when absent).
struct ModelFiles {
  ModelConfig model;
  GenerationConfig generation;
  PreprocessorConfig preprocessor;
};
std::optional<ModelFiles> load_model_files(const std::string& dir, std::string* error);

}  // namespace deskpilot::engine
