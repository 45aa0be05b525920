// Tokenizer throughput, single thread: every golden string encoded one by
// one, and all of them joined into one document. Compared by
// scripts/bench.sh with the tokenizers package on the same inputs.
//   bench_tokenizer TOKENIZER_JSON CASES_JSON
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/clock.h"
#include "engine/tokenizer.h"

namespace {

std::string slurp(const char* path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

template <typename F>
double median_ms(int rounds, F&& f) {
  std::vector<double> ms;
  for (int r = 0; r < rounds; ++r) {
    const auto t0 = std::chrono::steady_clock::now();
    f();
    ms.push_back(deskpilot::base::ms_since(t0));
  }
  std::sort(ms.begin(), ms.end());
  return ms[ms.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 3) {
    std::fprintf(stderr, "usage: bench_tokenizer TOKENIZER_JSON CASES_JSON\n");
    return 2;
  }
  std::string error;
  const auto t0 = std::chrono::steady_clock::now();
  auto tok = deskpilot::engine::Tokenizer::load(argv[1], &error);
  const double load_ms = deskpilot::base::ms_since(t0);
  if (!tok) {
    std::fprintf(stderr, "%s\n", error.c_str());
    return 1;
  }
  std::vector<std::string> texts;
  const nlohmann::json cases = nlohmann::json::parse(slurp(argv[2]));
  for (const auto& c : cases["cases"]) texts.push_back(c["text"]);
  std::string doc;
  size_t bytes = 0;
  for (const auto& t : texts) doc += t + "\n", bytes += t.size();
  size_t tokens = 0;
  const double strings_ms = median_ms(15, [&] {
    tokens = 0;
    for (const auto& t : texts) tokens += tok->encode(t).size();
  });
  size_t doc_tokens = 0;
  const double doc_ms = median_ms(15, [&] { doc_tokens = tok->encode(doc).size(); });
  std::printf("deskpilot_tokenizer strings=%zu bytes=%zu tokens=%zu strings_ms=%.3f doc_tokens=%zu doc_ms=%.3f load_ms=%.1f\n",
              texts.size(), bytes, tokens, strings_ms, doc_tokens, doc_ms, load_ms);
  return 0;
}
