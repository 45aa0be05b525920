// Quantizing a model's text weights: on load (--quantize on generate, run,
// serve, eval) and into GGUF files llama.cpp reads (deskpilot quantize).
//
// Recipes, by llama.cpp's names:
//   q8_0, q4_0, q4_k, q5_k, q6_k, f16, bf16   every text matrix in that type
//   q4_k_m, q5_k_m   Q4_K / Q5_K, with Q6_K for lm_head and for attn_v and
//                    ffn_down in llama.cpp's "more bits" layers (the first
//                    and last eighth, and every third between)
// Vectors (norms, biases) stay FP32, the vision tower as stored. A matrix
// whose rows are not whole blocks of its type takes Q8_0 (rows of 32s) or
// F16 instead, as llama.cpp falls back.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "engine/config.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"
#include "kernels/dtype.h"

namespace deskpilot::engine {

struct QuantRecipe {
  std::string name;  // as given: "q4_k_m"
  kernels::DType base = kernels::DType::kQ8_0;
  bool mixed = false;           // the _m mixes
  uint32_t ggml_file_type = 7;  // general.file_type llama.cpp writes for it
};

// nullopt and *error listing the recipes for any other name.
std::optional<QuantRecipe> parse_quant_recipe(const std::string& name, std::string* error);

// The type a text matrix gets: `role` is the llama.cpp tensor kind
// ("token_embd", "output", "attn_q", ..., "ffn_down"), layer its block.
kernels::DType quant_type_for(const QuantRecipe& recipe, const std::string& role, int64_t layer, int64_t layers,
                              int64_t cols);

// The text model's matrices of `weights` quantized by the recipe (the rest
// stays as it is, pointing into `weights`, which the new store keeps alive).
std::unique_ptr<WeightStore> quantize_weights(std::shared_ptr<const WeightStore> weights, const TextConfig& config,
                                              const QuantRecipe& recipe, std::string* error);

class GgufWriter;
// tokenizer.ggml.* of a Hugging Face tokenizer.json, as llama.cpp's converter
// writes them (the vocabulary padded to vocab_size with unused tokens).
bool set_gguf_tokenizer_from_json(const std::string& tokenizer_json, int64_t vocab_size, GgufWriter* writer,
                                  std::string* error);

class Model;
// The loaded model's text weights (as they are: quantize on load first) as
// a GGUF text model in llama.cpp's qwen2vl layout, with the tokenizer of
// the model's folder or GGUF file; llama.cpp reads it.
bool write_gguf_text_model(const Model& model, const QuantRecipe& recipe, const std::string& path, std::string* error);

}  // namespace deskpilot::engine
