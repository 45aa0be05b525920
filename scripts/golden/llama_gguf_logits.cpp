// llama.cpp's logits for a GGUF text model and a prompt given as token ids:
// the peer side of tests/golden/gguf (scripts/golden/make_gguf_models.py).
// Built by that script against a llama.cpp build outside this repository:
//
//   g++ -O2 -std=c++17 scripts/golden/llama_gguf_logits.cpp -I$LLAMA_CPP/include -I$LLAMA_CPP/ggml/include \
//       -L$LLAMA_CPP/build/bin -lllama -lggml -lggml-base -Wl,-rpath,$LLAMA_CPP/build/bin -o llama-gguf-logits
//
// Usage: llama-gguf-logits MODEL.gguf ID,ID,...   -> float32 logits of the last position on stdout.
#include <cstdio>
#include <cstdlib>
#include <sstream>
#include <string>
#include <vector>

#include "llama.h"

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: %s MODEL.gguf ID,ID,...\n", argv[0]);
    return 2;
  }
  std::vector<llama_token> ids;
  std::stringstream list(argv[2]);
  for (std::string item; std::getline(list, item, ',');) ids.push_back(std::atoi(item.c_str()));
  llama_backend_init();
  llama_log_set([](ggml_log_level, const char*, void*) {}, nullptr);
  llama_model_params mp = llama_model_default_params();
  llama_model* model = llama_model_load_from_file(argv[1], mp);
  if (!model) return 1;
  llama_context_params cp = llama_context_default_params();
  cp.n_ctx = 512;
  cp.n_batch = 512;
  cp.n_threads = 2;
  llama_context* ctx = llama_init_from_model(model, cp);
  if (!ctx) return 1;
  if (llama_decode(ctx, llama_batch_get_one(ids.data(), static_cast<int32_t>(ids.size()))) != 0) return 1;
  const float* logits = llama_get_logits_ith(ctx, -1);
  const int n_vocab = llama_vocab_n_tokens(llama_model_get_vocab(model));
  std::fwrite(logits, sizeof(float), static_cast<size_t>(n_vocab), stdout);
  llama_free(ctx);
  llama_model_free(model);
  return 0;
}
