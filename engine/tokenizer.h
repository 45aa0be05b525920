// The tokenizer of Qwen2-VL / Qwen2.5-VL checkpoints, read from their
// tokenizer.json: added tokens matched first in the raw text, NFC, the Qwen2
// split (pretokenize.h), byte-level BPE; decoding through the byte-level
// decoder, and a streaming decoder that never emits half a character.
// Equal to the tokenizers package on the same file (tests/golden/tokenizer).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace deskpilot::engine {

struct AddedToken {
  int32_t id = 0;
  std::string content;
  bool special = false;  // skipped by decode(..., skip_special = true)
};

class Tokenizer {
 public:
  // nullptr and *error ("FILE: FIELD: what") when the file is not a
  // byte-level BPE tokenizer with the Qwen2 split this implements.
  static std::unique_ptr<Tokenizer> load(const std::string& path, std::string* error);
  static std::unique_ptr<Tokenizer> from_json(std::string_view json_text, const std::string& file,
                                              std::string* error);
  // The tokenizer a GGUF file carries (tokenizer.ggml.tokens, token_type,
  // merges, with model "gpt2" and pre "qwen2"): normal tokens (type 1) are
  // the vocabulary, control (3) and user-defined (4) ones added tokens
  // (special and not), unused ones (5, llama.cpp's padding) nothing; NFC as
  // in Qwen2's tokenizer.json.
  static std::unique_ptr<Tokenizer> from_vocab(const std::vector<std::string>& tokens,
                                               const std::vector<int64_t>& types,
                                               const std::vector<std::string>& merges, const std::string& file,
                                               std::string* error);

  // Invalid UTF-8 in `text` is first replaced by U+FFFD (one per maximal
  // invalid subpart), as a Python str would carry it.
  std::vector<int32_t> encode(std::string_view text) const;
  // UTF-8 (invalid byte sequences become U+FFFD, like the tokenizers package).
  // Unknown ids are skipped.
  std::string decode(const std::vector<int32_t>& ids, bool skip_special = false) const;
  // The raw bytes a token stands for ("" for unknown ids).
  const std::string& token_bytes(int32_t id) const;

  // The id of a vocabulary entry or added token as written in tokenizer.json
  // ("<|im_end|>", "Ġthe"); -1 when absent.
  int32_t token_id(std::string_view token) const;
  bool is_special(int32_t id) const;
  int32_t vocab_size() const { return static_cast<int32_t>(bytes_.size()); }  // largest id + 1
  const std::vector<AddedToken>& added_tokens() const { return added_; }

 private:
  Tokenizer() = default;
  void encode_piece(std::string_view piece, std::vector<int32_t>* out) const;
  void encode_segment(std::string_view text, std::vector<int32_t>* out) const;

  std::unordered_map<std::string, int32_t> vocab_;      // token string (byte-level chars) -> id
  std::unordered_map<uint64_t, uint64_t> merges_;       // (left << 32 | right) -> (rank << 32 | merged id)
  int32_t byte_token_[256] = {};                        // byte -> id of its single-byte token
  std::string byte_chars_[256];                         // byte -> its byte-level character (UTF-8)
  std::vector<std::string> bytes_;                      // (vocab_size) id -> raw bytes
  std::vector<uint8_t> special_;                        // (vocab_size) 1 for special added tokens
  std::vector<AddedToken> added_;
  std::vector<int32_t> added_order_[256];               // first byte -> added indices, longest first
  std::unordered_map<std::string, int32_t> added_ids_;  // content -> id
  bool use_nfc_ = true;
  bool ignore_merges_ = false;                          // a whole pre-token in the vocabulary is one token
};

// Feeds generated ids and returns the text that is complete: bytes of a
// character split across tokens are held until the character is whole.
class StreamDecoder {
 public:
  explicit StreamDecoder(const Tokenizer& tokenizer, bool skip_special = true)
      : tokenizer_(tokenizer), skip_special_(skip_special) {}
  std::string push(int32_t id);
  std::string finish();  // what is left, invalid bytes as U+FFFD

 private:
  const Tokenizer& tokenizer_;
  bool skip_special_;
  std::string pending_;
};

}  // namespace deskpilot::engine
