// Model configuration in the three layouts released Qwen2-VL / Qwen2.5-VL
// checkpoints use, and errors that name the file and the field.
#include <gtest/gtest.h>

#include <unistd.h>

#include <filesystem>
#include <fstream>

#include "engine/config.h"

using namespace deskpilot::engine;

namespace {

// UI-TARS-1.5-7B's shapes (Qwen2.5-VL-7B), in the flat layout it ships with.
const char* kQwen25Flat = R"J({
  "architectures": ["Qwen2_5_VLForConditionalGeneration"], "model_type": "qwen2_5_vl",
  "vocab_size": 152064, "hidden_size": 3584, "intermediate_size": 18944, "num_hidden_layers": 28,
  "num_attention_heads": 28, "num_key_value_heads": 4, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
  "max_position_embeddings": 128000, "tie_word_embeddings": false, "hidden_act": "silu",
  "rope_scaling": {"type": "mrope", "mrope_section": [16, 24, 24]},
  "image_token_id": 151655, "video_token_id": 151656, "vision_start_token_id": 151652, "vision_end_token_id": 151653,
  "vision_config": {"depth": 32, "hidden_act": "silu", "hidden_size": 1280, "intermediate_size": 3420,
                    "num_heads": 16, "in_chans": 3, "out_hidden_size": 3584, "patch_size": 14,
                    "spatial_merge_size": 2, "spatial_patch_size": 14, "window_size": 112,
                    "fullatt_block_indexes": [7, 15, 23, 31], "tokens_per_second": 2, "temporal_patch_size": 2}
})J";

// UI-TARS-2B's shapes (Qwen2-VL-2B) in the nested layout of transformers >= 4.52.
const char* kQwen2Nested = R"J({
  "architectures": ["Qwen2VLForConditionalGeneration"], "model_type": "qwen2_vl", "tie_word_embeddings": true,
  "text_config": {"vocab_size": 151936, "hidden_size": 1536, "intermediate_size": 8960, "num_hidden_layers": 28,
                  "num_attention_heads": 12, "num_key_value_heads": 2, "rms_norm_eps": 1e-06, "rope_theta": 1000000.0,
                  "rope_scaling": {"type": "mrope", "rope_type": "default", "mrope_section": [16, 24, 24]}},
  "vision_config": {"depth": 32, "embed_dim": 1280, "hidden_size": 1536, "hidden_act": "quick_gelu", "mlp_ratio": 4,
                    "num_heads": 16, "in_channels": 3, "patch_size": 14, "spatial_merge_size": 2, "temporal_patch_size": 2}
})J";

// A tiny model in transformers 5's layout (rope_parameters).
const char* kTinyRopeParameters = R"J({
  "model_type": "qwen2_5_vl",
  "text_config": {"vocab_size": 1000, "hidden_size": 64, "intermediate_size": 128, "num_hidden_layers": 2,
                  "num_attention_heads": 4, "num_key_value_heads": 2,
                  "rope_parameters": {"rope_type": "default", "rope_theta": 10000.0, "mrope_section": [2, 3, 3]}},
  "vision_config": {"depth": 2, "hidden_size": 32, "intermediate_size": 64, "num_heads": 2, "out_hidden_size": 64,
                    "fullatt_block_indexes": [1]},
  "image_token_id": 990, "video_token_id": 991, "vision_start_token_id": 992, "vision_end_token_id": 993
})J";

std::string error_of(const std::string& text) {
  std::string error;
  EXPECT_FALSE(parse_model_config(text, "config.json", &error).has_value()) << text;
  return error;
}

// kTinyRopeParameters with one substring replaced.
std::string tiny_with(const std::string& from, const std::string& to) {
  std::string s = kTinyRopeParameters;
  const size_t p = s.find(from);
  EXPECT_NE(p, std::string::npos) << from;
  return s.replace(p, from.size(), to);
}

}  // namespace

TEST(Config, FlatQwen25VL) {
  std::string error;
  auto c = parse_model_config(kQwen25Flat, "config.json", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->architecture, Architecture::kQwen25VL);
  EXPECT_EQ(c->text.hidden_size, 3584);
  EXPECT_EQ(c->text.num_kv_heads, 4);
  EXPECT_EQ(c->text.head_dim, 128);
  EXPECT_EQ(c->text.mrope_section, (std::vector<int64_t>{16, 24, 24}));
  EXPECT_FALSE(c->text.tie_word_embeddings);
  EXPECT_EQ(c->vision.width, 1280);
  EXPECT_EQ(c->vision.intermediate_size, 3420);
  EXPECT_EQ(c->vision.in_channels, 3);  // from the old key in_chans
  EXPECT_EQ(c->vision.fullatt_block_indexes, (std::vector<int64_t>{7, 15, 23, 31}));
  EXPECT_EQ(c->vision.window_size, 112);
  EXPECT_EQ(c->vision.hidden_act, "silu");
  EXPECT_EQ(c->image_token_id, 151655);
}

TEST(Config, NestedQwen2VL) {
  std::string error;
  auto c = parse_model_config(kQwen2Nested, "config.json", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->architecture, Architecture::kQwen2VL);
  EXPECT_EQ(c->text.hidden_size, 1536);
  EXPECT_EQ(c->text.num_kv_heads, 2);
  EXPECT_TRUE(c->text.tie_word_embeddings);
  EXPECT_EQ(c->vision.width, 1280);
  EXPECT_EQ(c->vision.intermediate_size, 5120);  // embed_dim * mlp_ratio
  EXPECT_EQ(c->vision.out_hidden_size, 1536);
  EXPECT_EQ(c->vision.hidden_act, "quick_gelu");
  EXPECT_TRUE(c->vision.fullatt_block_indexes.empty());
}

TEST(Config, RopeParametersLayout) {
  std::string error;
  auto c = parse_model_config(kTinyRopeParameters, "config.json", &error);
  ASSERT_TRUE(c) << error;
  EXPECT_EQ(c->architecture, Architecture::kQwen25VL);  // from model_type
  EXPECT_EQ(c->text.rope_theta, 10000.0);
  EXPECT_EQ(c->text.head_dim, 16);
  EXPECT_EQ(c->text.mrope_section, (std::vector<int64_t>{2, 3, 3}));
  EXPECT_EQ(c->image_token_id, 990);
}

TEST(Config, ErrorsNameTheFileAndField) {
  EXPECT_EQ(error_of(R"({"architectures": ["LlavaForConditionalGeneration"]})"),
            "config.json: architectures: unsupported architecture 'LlavaForConditionalGeneration' (deskpilot runs "
            "Qwen2VLForConditionalGeneration and Qwen2_5_VLForConditionalGeneration)");
  EXPECT_EQ(error_of(tiny_with("\"hidden_size\": 64,", "")), "config.json: text_config.hidden_size: missing");
  EXPECT_EQ(error_of(tiny_with("\"num_key_value_heads\": 2", "\"num_key_value_heads\": 3")),
            "config.json: text_config.num_key_value_heads: 3 does not divide 4 attention heads");
  EXPECT_EQ(error_of(tiny_with("[2, 3, 3]", "[2, 3, 4]")),
            "config.json: text_config.rope_parameters.mrope_section: expected three sections summing to head_dim / 2 "
            "= 8, got [2,3,4]");
  EXPECT_EQ(error_of(tiny_with("\"rope_type\": \"default\"", "\"rope_type\": \"yarn\"")),
            "config.json: text_config.rope_parameters.rope_type: unsupported rope type 'yarn' (expected mrope or default)");
  EXPECT_EQ(error_of(tiny_with("\"out_hidden_size\": 64", "\"out_hidden_size\": 65")),
            "config.json: vision_config.out_hidden_size: 65 does not match the text hidden_size 64");
  EXPECT_EQ(error_of(tiny_with("\"fullatt_block_indexes\": [1]", "\"fullatt_block_indexes\": [2]")),
            "config.json: vision_config.fullatt_block_indexes: block 2 is not below depth 2");
  EXPECT_EQ(error_of(tiny_with("\"vocab_size\": 1000", "\"vocab_size\": \"big\"")),
            "config.json: text_config.vocab_size: expected an integer, got \"big\"");
  EXPECT_EQ(error_of(tiny_with("\"image_token_id\": 990", "\"image_token_id\": 5000")),
            "config.json: image_token_id: token id 5000 is outside the vocabulary");
  EXPECT_EQ(error_of("{").rfind("config.json: invalid JSON", 0), 0u);
  // A number too large for a double is an error, not an exception that ends the process.
  EXPECT_EQ(error_of(R"({"hidden_size": 1E999})").rfind("config.json: invalid JSON", 0), 0u);
}

TEST(Config, GenerationAndPreprocessor) {
  std::string error;
  auto g = parse_generation_config(R"({"eos_token_id": [151645, 151643], "pad_token_id": 151643, "do_sample": true,
                                      "temperature": 0.01, "top_p": 0.001, "top_k": 1, "repetition_penalty": 1.05})",
                                   "generation_config.json", &error);
  ASSERT_TRUE(g) << error;
  EXPECT_EQ(g->eos_token_ids, (std::vector<int64_t>{151645, 151643}));
  EXPECT_EQ(g->top_k, 1);
  EXPECT_EQ(parse_generation_config(R"({"eos_token_id": 7})", "g.json", &error)->eos_token_ids,
            (std::vector<int64_t>{7}));
  EXPECT_FALSE(parse_generation_config(R"({"top_p": 0})", "g.json", &error));
  EXPECT_EQ(error, "g.json: top_p: expected a number in (0, 1]");

  auto p = parse_preprocessor_config(R"({"min_pixels": 3136, "max_pixels": 12845056, "patch_size": 14,
                                        "merge_size": 2, "temporal_patch_size": 2,
                                        "image_mean": [0.5, 0.5, 0.5], "image_std": [0.25, 0.25, 0.25]})",
                                     "preprocessor_config.json", &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->max_pixels, 12845056);
  EXPECT_EQ(p->image_mean[1], 0.5);
  auto sized = parse_preprocessor_config(R"({"size": {"shortest_edge": 3136, "longest_edge": 1003520}})", "p.json", &error);
  ASSERT_TRUE(sized) << error;
  EXPECT_EQ(sized->min_pixels, 3136);
  EXPECT_EQ(sized->max_pixels, 1003520);
  EXPECT_EQ(sized->image_std[0], 0.26862954);  // CLIP defaults
  EXPECT_FALSE(parse_preprocessor_config(R"({"min_pixels": 10, "max_pixels": 5})", "p.json", &error));
  EXPECT_EQ(error, "p.json: min_pixels: is larger than max_pixels");
}

TEST(Config, ModelFolder) {
  namespace fs = std::filesystem;
  const fs::path dir = fs::path(::testing::TempDir()) / ("deskpilot_cfg_" + std::to_string(getpid()));
  fs::create_directories(dir);
  std::string error;
  EXPECT_FALSE(load_model_files(dir.string(), &error));
  EXPECT_NE(error.find("config.json: cannot open"), std::string::npos) << error;
  std::ofstream(dir / "config.json") << kTinyRopeParameters;
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": [993, 994]})";
  auto files = load_model_files(dir.string(), &error);
  ASSERT_TRUE(files) << error;
  EXPECT_EQ(files->model.text.num_layers, 2);
  EXPECT_EQ(files->generation.eos_token_ids.size(), 2u);
  EXPECT_EQ(files->preprocessor.max_pixels, 28 * 28 * 1280);  // default: no preprocessor_config.json
  std::ofstream(dir / "generation_config.json") << R"({"eos_token_id": "x"})";
  EXPECT_FALSE(load_model_files(dir.string(), &error));
  EXPECT_EQ(error, (dir / "generation_config.json").string() + ": eos_token_id: expected an integer, got \"x\"");
  fs::remove_all(dir);
}
