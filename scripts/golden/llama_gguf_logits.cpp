// llama.cpp's logits for a GGUF model: the peer side of tests/golden/gguf
// (scripts/golden/make_gguf_models.py). Built by that script against a
// llama.cpp build outside this repository:
//
//   g++ -O2 -std=c++17 scripts/golden/llama_gguf_logits.cpp -I$LLAMA_CPP/include -I$LLAMA_CPP/ggml/include \
//       -I$LLAMA_CPP/tools/mtmd -L$LLAMA_CPP/build/bin -lmtmd -lllama -lggml -lggml-base \
//       -Wl,-rpath,$LLAMA_CPP/build/bin -o llama-gguf-logits
//
// Usage:
//   llama-gguf-logits MODEL.gguf ID,ID,...                       text given as token ids
//   llama-gguf-logits MODEL.gguf MMPROJ.gguf IMAGE.png TEXT      TEXT with one <__media__> marker,
//                                                                special tokens parsed (mtmd adds
//                                                                <|vision_start|>/<|vision_end|>)
// Writes the float32 logits of the last position on stdout; the image mode
// also prints the text tokens it made ("tokens: ID,ID,... | ID,...") on stderr.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"
#include "mtmd-helper.h"
#include "mtmd.h"

int main(int argc, char** argv) {
  if (argc != 3 && argc != 5) {
    std::fprintf(stderr, "usage: %s MODEL.gguf ID,ID,... | MODEL.gguf MMPROJ.gguf IMAGE TEXT\n", argv[0]);
    return 2;
  }
  llama_backend_init();
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) return 1;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 2048;
  cp.n_batch = 2048;
  cp.n_ubatch = 2048;
  cp.n_threads = 2;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return 1;
  if (argc == 3) {
    std::vector<llama_token> ids;
    std::stringstream list(argv[2]);
    for (std::string item; std::getline(list, item, ',');) ids.push_back(std::atoi(item.c_str()));
    if (llama_decode(ctx, llama_batch_get_one(ids.data(), static_cast<int32_t>(ids.size()))) != 0) return 1;
  } else {
    mtmd_helper_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
    mtmd_context_params mparams = mtmd_context_params_default();
    mparams.use_gpu = false;
    mparams.n_threads = 2;
    mparams.warmup = false;
    mtmd_context* mctx = mtmd_init_from_file(argv[2], model, mparams);
    if (!mctx) return 1;
    mtmd_helper_bitmap_wrapper image = mtmd_helper_bitmap_init_from_file(mctx, argv[3], false, mtmd_helper_init_opt_default());
    if (!image.bitmap) return 1;
    mtmd_input_text text{argv[4], std::string(argv[4]).size(), false, true};
    mtmd_input_chunks* chunks = mtmd_input_chunks_init();
    const mtmd_bitmap* bitmaps[] = {image.bitmap};
    if (mtmd_tokenize(mctx, chunks, &text, bitmaps, 1) != 0) return 1;
    std::fprintf(stderr, "tokens:");
    for (size_t i = 0; i < mtmd_input_chunks_size(chunks); ++i) {
      const mtmd_input_chunk* c = mtmd_input_chunks_get(chunks, i);
      if (mtmd_input_chunk_get_type(c) == MTMD_INPUT_CHUNK_TYPE_TEXT) {
        size_t n = 0;
        const llama_token* t = mtmd_input_chunk_get_tokens_text(c, &n);
        for (size_t j = 0; j < n; ++j) std::fprintf(stderr, "%s%d", j ? "," : " ", t[j]);
      } else {
        std::fprintf(stderr, " | image of %zu tokens |", mtmd_input_chunk_get_n_tokens(c));
      }
    }
    std::fprintf(stderr, "\n");
    llama_pos n_past = 0;
    if (mtmd_helper_eval_chunks(mctx, ctx, chunks, 0, 0, 2048, true, &n_past) != 0) return 1;
  }
  const float* logits = llama_get_logits_ith(ctx, -1);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::fwrite(logits, sizeof(float), static_cast<size_t>(n_vocab), stdout);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
