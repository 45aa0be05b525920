// libFuzzer target: any bytes as text for the real Qwen2 tokenizer. Encoding
// never fails; every id is in the vocabulary; decoding gives back the NFC
// of the input with invalid UTF-8 replaced (text with added tokens in it is
// normalized piecewise between them, as the tokenizers package does, so
// there the round trip must be stable instead); the streaming decoder agrees
// with decode and never emits half a character.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>

#include "engine/tokenizer.h"
#include "engine/unicode.h"

namespace {
std::unique_ptr<deskpilot::engine::Tokenizer> tokenizer;
}

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  std::string error;
  tokenizer = deskpilot::engine::Tokenizer::load(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/tokenizer/qwen2/tokenizer.json",
                                                 &error);
  if (!tokenizer) std::abort();
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace deskpilot::engine;
  const std::string text(reinterpret_cast<const char*>(data), size);
  const std::vector<int32_t> ids = tokenizer->encode(text);
  for (int32_t id : ids)
    if (id < 0 || id >= tokenizer->vocab_size() || tokenizer->token_bytes(id).empty()) std::abort();
  const std::string decoded = tokenizer->decode(ids);
  const std::string repaired = utf8_lossy(text);
  bool has_added = false;
  for (const AddedToken& a : tokenizer->added_tokens()) has_added = has_added || repaired.find(a.content) != std::string::npos;
  if (!has_added && decoded != nfc(repaired)) std::abort();
  if (has_added && tokenizer->decode(tokenizer->encode(decoded)) != decoded) std::abort();
  StreamDecoder stream(*tokenizer, /*skip_special=*/false);
  std::string joined;
  for (int32_t id : ids) {
    const std::string chunk = stream.push(id);
    if (utf8_lossy(chunk) != chunk) std::abort();
    joined += chunk;
  }
  if (joined + stream.finish() != decoded) std::abort();
  return 0;
}
