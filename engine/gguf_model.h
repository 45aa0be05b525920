// A UI-TARS model in GGUF, as llama.cpp's converter writes it: the text
// model (general.architecture "qwen2vl", for Qwen2-VL and Qwen2.5-VL alike)
// and, optionally, its mmproj file (general.architecture "clip",
// clip.projector_type "qwen2vl_merger" or "qwen2.5vl_merger").
//
// What Model::load needs from a Hugging Face folder comes out of them: the
// configs from the metadata (qwen2vl.* and clip.vision.*), the tokenizer
// from tokenizer.ggml.*, and a WeightStore under the Hugging Face names and
// shapes, so that the same Qwen2LanguageModel and VisionTower load it:
//   token_embd, output_norm, output        model.embed_tokens, model.norm, lm_head
//   blk.N.attn_{norm,q,k,v,output}         model.layers.N.{input_layernorm, self_attn.{q,k,v,o}_proj}
//   blk.N.ffn_{norm,gate,up,down}          ...post_attention_layernorm, mlp.{gate,up,down}_proj
//   v.patch_embd.weight + .weight.1        visual.patch_embed.proj.weight (the two frames stacked again)
//   v.blk.N.attn_{q,k,v}                   visual.blocks.N.attn.qkv (concatenated again)
//   v.blk.N.{attn_out, ln1, ln2}           ...attn.proj, norm1, norm2
//   v.blk.N.ffn_{up,down} (Qwen2-VL)       ...mlp.fc1, mlp.fc2
//   v.blk.N.ffn_{gate,up,down} (2.5)       ...mlp.{gate,up,down}_proj
//   v.post_ln, mm.0, mm.2                  visual.merger.ln_q, merger.mlp.0, merger.mlp.2
// Matrices stay in the mapped files in their stored type; the stacked and
// concatenated vision tensors are made once here. A tensor of a type
// deskpilot does not run is refused by name.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "engine/config.h"
#include "engine/gguf.h"
#include "engine/safetensors.h"
#include "engine/tokenizer.h"

namespace deskpilot::engine {

struct GgufModel {
  ModelFiles files;
  std::unique_ptr<WeightStore> weights;
  std::unique_ptr<Tokenizer> tokenizer;
  bool has_vision = false;
  std::string text_path, mmproj_path;  // mmproj_path empty without one
};

// `path`: a .gguf file (its mmproj given as mmproj_path or found beside it
// as mmproj*.gguf when mmproj_path is empty), or a folder holding one text
// GGUF and at most one mmproj*.gguf. nullopt and *error naming the file and
// the key or tensor at fault.
std::optional<GgufModel> load_gguf_model(const std::string& path, const std::string& mmproj_path, std::string* error);

// Whether `path` names GGUF input (a .gguf file, or a folder with one and no config.json).
bool is_gguf_path(const std::string& path);

}  // namespace deskpilot::engine
