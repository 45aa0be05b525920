#include "engine/tokenizer.h"

#include <algorithm>
#include <array>
#include <fstream>
#include <functional>
#include <nlohmann/json.hpp>
#include <sstream>

#include "base/files.h"
#include "engine/pretokenize.h"
#include "engine/unicode.h"

namespace deskpilot::engine {

namespace {

using nlohmann::json;

// GPT-2's bytes_to_unicode: printable Latin-1 bytes stand for themselves,
// the others for U+0100 + n in byte order. byte -> code point.
std::array<char32_t, 256> byte_level_alphabet() {
  std::array<char32_t, 256> map{};
  std::array<bool, 256> printable{};
  for (int b = '!'; b <= '~'; ++b) printable[b] = true;
  for (int b = 0xA1; b <= 0xAC; ++b) printable[b] = true;
  for (int b = 0xAE; b <= 0xFF; ++b) printable[b] = true;
  char32_t next = 256;
  for (int b = 0; b < 256; ++b) map[b] = printable[b] ? static_cast<char32_t>(b) : next++;
  return map;
}

std::string utf8_encode(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

// The byte-level decoder on one token: each character back to its byte;
// a token with any character outside the alphabet decodes to its own UTF-8.
std::string token_to_bytes(const std::string& token, const std::unordered_map<char32_t, uint8_t>& to_byte) {
  std::string out;
  for (size_t i = 0; i < token.size();) {
    char32_t cp = 0;
    const size_t len = utf8_sequence(token, i, &cp);
    if (len == 0) return token;
    const auto it = to_byte.find(cp);
    if (it == to_byte.end()) return token;
    out += static_cast<char>(it->second);
    i += len;
  }
  return out;
}

bool fail(std::string* error, const std::string& file, const std::string& what) {
  if (error) *error = file + ": " + what;
  return false;
}

// The pieces of tokenizer.json this implementation supports, checked.
bool check_pipeline(const json& j, const std::string& file, bool* use_nfc, std::string* error) {
  const json& norm = j.contains("normalizer") ? j["normalizer"] : json();
  *use_nfc = false;
  if (!norm.is_null()) {
    if (!norm.is_object() || norm.value("type", "") != "NFC")
      return fail(error, file, "normalizer: only NFC (or none) is supported, got " + norm.dump());
    *use_nfc = true;
  }
  const json& pre = j.contains("pre_tokenizer") ? j["pre_tokenizer"] : json();
  bool ok = pre.is_object() && pre.value("type", "") == "Sequence" && pre.contains("pretokenizers") &&
            pre["pretokenizers"].is_array() && pre["pretokenizers"].size() == 2;
  if (ok) {
    const json& split = pre["pretokenizers"][0];
    const json& bl = pre["pretokenizers"][1];
    ok = split.value("type", "") == "Split" && split.contains("pattern") && split["pattern"].is_object() &&
         split["pattern"].value("Regex", "") == kQwen2SplitPattern && split.value("behavior", "") == "Isolated" &&
         !split.value("invert", false) && bl.value("type", "") == "ByteLevel" && !bl.value("use_regex", true) &&
         !bl.value("add_prefix_space", true);
  }
  if (!ok)
    return fail(error, file,
                "pre_tokenizer: expected the Qwen2 Split regex followed by ByteLevel (use_regex false), got " +
                    pre.dump().substr(0, 300));
  const json& dec = j.contains("decoder") ? j["decoder"] : json();
  if (!dec.is_object() || dec.value("type", "") != "ByteLevel")
    return fail(error, file, "decoder: only ByteLevel is supported, got " + dec.dump().substr(0, 200));
  return true;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::load(const std::string& path, std::string* error) {
  std::string text, why;
  if (!base::read_file(path, &text, &why)) {
    if (error) *error = why;
    return nullptr;
  }
  return from_json(text, path, error);
}

namespace {

// model.type BPE without the options deskpilot does not implement.
bool check_model(const json& model, const std::string& file, std::string* error) {
  if (!model.is_object() || model.value("type", "") != "BPE") return fail(error, file, "model.type: only BPE is supported");
  if (model.value("byte_fallback", false) || !model.value("continuing_subword_prefix", json("")).is_string() ||
      model.value("continuing_subword_prefix", json("")) != "" ||
      (model.contains("end_of_word_suffix") && !model["end_of_word_suffix"].is_null() &&
       model["end_of_word_suffix"] != "")) {
    return fail(error, file, "model: byte_fallback, continuing_subword_prefix and end_of_word_suffix are not supported");
  }
  if (!model.contains("vocab") || !model["vocab"].is_object() || !model.contains("merges") ||
      !model["merges"].is_array()) {
    return fail(error, file, "model: vocab (object) and merges (array) are required");
  }
  return true;
}

// model.vocab: token string (byte-level characters) -> id; *max_id grows to the largest id.
bool read_vocab(const json& model, const std::string& file, std::unordered_map<std::string, int32_t>* vocab,
                int64_t* max_id, std::string* error) {
  vocab->reserve(model["vocab"].size() * 2);
  for (const auto& [token, id] : model["vocab"].items()) {
    if (!id.is_number_integer() || id.get<int64_t>() < 0 || id.get<int64_t>() > 0x7FFFFFFF)
      return fail(error, file, "model.vocab[\"" + token + "\"]: id must be a non-negative integer");
    (*vocab)[token] = static_cast<int32_t>(id.get<int64_t>());
    *max_id = std::max(*max_id, id.get<int64_t>());
  }
  return true;
}

// added_tokens: plain ones only (no stripping, no single-word or normalized matching).
bool read_added_tokens(const json& j, const std::string& file, std::vector<AddedToken>* added, int64_t* max_id,
                       std::string* error) {
  const json& list = j.contains("added_tokens") ? j["added_tokens"] : json::array();
  for (size_t i = 0; i < list.size(); ++i) {
    const json& a = list[i];
    if (!a.is_object() || !a.contains("id") || !a["id"].is_number_integer() || !a.contains("content") ||
        !a["content"].is_string() || a["content"].get<std::string>().empty() || a["id"].get<int64_t>() < 0) {
      return fail(error, file, "added_tokens[" + std::to_string(i) + "]: needs an integer id and a non-empty content");
    }
    if (a.value("lstrip", false) || a.value("rstrip", false) || a.value("single_word", false) ||
        a.value("normalized", false)) {
      return fail(error, file, "added_tokens[" + std::to_string(i) +
                                   "]: lstrip, rstrip, single_word and normalized tokens are not supported");
    }
    added->push_back({static_cast<int32_t>(a["id"].get<int64_t>()), a["content"].get<std::string>(),
                      a.value("special", false)});
    *max_id = std::max(*max_id, a["id"].get<int64_t>());
  }
  return true;
}

// model.merges ("LEFT RIGHT" or [LEFT, RIGHT]) as (left << 32 | right) -> (rank << 32 | merged id).
bool read_merges(const json& model, const std::string& file, const std::unordered_map<std::string, int32_t>& vocab,
                 std::unordered_map<uint64_t, uint64_t>* merges_out, std::string* error) {
  const json& merges = model["merges"];
  merges_out->reserve(merges.size() * 2);
  for (size_t rank = 0; rank < merges.size(); ++rank) {
    const json& m = merges[rank];
    std::string left, right;
    if (m.is_string()) {
      const std::string s = m.get<std::string>();
      const size_t space = s.find(' ');
      if (space == std::string::npos)
        return fail(error, file, "model.merges[" + std::to_string(rank) + "]: expected \"LEFT RIGHT\"");
      left = s.substr(0, space), right = s.substr(space + 1);
    } else if (m.is_array() && m.size() == 2 && m[0].is_string() && m[1].is_string()) {
      left = m[0].get<std::string>(), right = m[1].get<std::string>();
    } else {
      return fail(error, file, "model.merges[" + std::to_string(rank) + "]: expected a string or a pair of strings");
    }
    const auto l = vocab.find(left), r = vocab.find(right), m2 = vocab.find(left + right);
    if (l == vocab.end() || r == vocab.end() || m2 == vocab.end()) {
      return fail(error, file, "model.merges[" + std::to_string(rank) + "]: \"" + left + "\" + \"" + right +
                                   "\" are not all in the vocabulary");
    }
    const uint64_t key = (static_cast<uint64_t>(l->second) << 32) | static_cast<uint32_t>(r->second);
    merges_out->emplace(key, (static_cast<uint64_t>(rank) << 32) | static_cast<uint32_t>(m2->second));
  }
  return true;
}

}  // namespace

std::unique_ptr<Tokenizer> Tokenizer::from_vocab(const std::vector<std::string>& tokens,
                                                 const std::vector<int64_t>& types,
                                                 const std::vector<std::string>& merges, const std::string& file,
                                                 std::string* error) {
  if (types.size() != tokens.size()) {
    fail(error, file,
         "tokenizer.ggml.token_type has " + std::to_string(types.size()) + " entries for " +
             std::to_string(tokens.size()) + " tokens");
    return nullptr;
  }
  json vocab = json::object(), added = json::array();
  for (size_t id = 0; id < tokens.size(); ++id) {
    switch (types[id]) {
      case 1: vocab[tokens[id]] = id; break;  // normal
      case 3:                                  // control
      case 4:                                  // user-defined
        added.push_back({{"id", id}, {"content", tokens[id]}, {"special", types[id] == 3}});
        break;
      case 5: break;  // unused (padding)
      default:
        fail(error, file,
             "tokenizer.ggml.token_type[" + std::to_string(id) + "]: type " + std::to_string(types[id]) +
                 " (deskpilot reads normal, control, user-defined and unused tokens)");
        return nullptr;
    }
  }
  const json byte_level = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", false},
                           {"use_regex", false}};
  const json j = {
      {"normalizer", {{"type", "NFC"}}},
      {"pre_tokenizer",
       {{"type", "Sequence"},
        {"pretokenizers",
         {{{"type", "Split"}, {"pattern", {{"Regex", std::string(kQwen2SplitPattern)}}}, {"behavior", "Isolated"}, {"invert", false}},
          byte_level}}}},
      {"decoder", byte_level},
      {"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", merges}, {"ignore_merges", false}}},
      {"added_tokens", added}};
  return from_json(j.dump(), file, error);
}

std::unique_ptr<Tokenizer> Tokenizer::from_json(std::string_view json_text, const std::string& file,
                                                std::string* error) {
  json j;
  try {
    j = json::parse(json_text);
  } catch (const json::exception& e) {  // parse errors, and numbers out of range (1E999)
    fail(error, file, std::string("not JSON: ") + e.what());
    return nullptr;
  }
  if (!j.is_object()) {
    fail(error, file, "not a JSON object");
    return nullptr;
  }
  bool use_nfc = false;
  if (!check_pipeline(j, file, &use_nfc, error)) return nullptr;
  const json& model = j.contains("model") ? j["model"] : json();
  if (!check_model(model, file, error)) return nullptr;

  std::unique_ptr<Tokenizer> t(new Tokenizer());
  t->use_nfc_ = use_nfc;
  t->ignore_merges_ = model.value("ignore_merges", false);
  int64_t max_id = -1;
  if (!read_vocab(model, file, &t->vocab_, &max_id, error) ||
      !read_added_tokens(j, file, &t->added_, &max_id, error)) {
    return nullptr;
  }

  // Every id's bytes, and the token of each single byte.
  const std::array<char32_t, 256> alphabet = byte_level_alphabet();
  std::unordered_map<char32_t, uint8_t> to_byte;
  for (int b = 0; b < 256; ++b) to_byte[alphabet[b]] = static_cast<uint8_t>(b);
  t->bytes_.assign(static_cast<size_t>(max_id + 1), std::string());
  t->special_.assign(static_cast<size_t>(max_id + 1), 0);
  for (const auto& [token, id] : t->vocab_) t->bytes_[id] = token_to_bytes(token, to_byte);
  for (const AddedToken& a : t->added_) {
    t->bytes_[a.id] = token_to_bytes(a.content, to_byte);
    t->special_[a.id] = a.special ? 1 : 0;
    t->added_ids_[a.content] = a.id;
  }
  for (int b = 0; b < 256; ++b) {
    t->byte_chars_[b] = utf8_encode(alphabet[b]);
    const auto it = t->vocab_.find(t->byte_chars_[b]);
    if (it == t->vocab_.end()) {
      fail(error, file, "model.vocab: no token for byte " + std::to_string(b) + " (byte-level BPE needs all 256)");
      return nullptr;
    }
    t->byte_token_[b] = it->second;
  }
  // Added tokens by first byte, longest first: the leftmost-longest match.
  for (size_t i = 0; i < t->added_.size(); ++i)
    t->added_order_[static_cast<uint8_t>(t->added_[i].content[0])].push_back(static_cast<int32_t>(i));
  for (auto& order : t->added_order_)
    std::stable_sort(order.begin(), order.end(), [&](int32_t a, int32_t b) {
      return t->added_[a].content.size() > t->added_[b].content.size();
    });
  if (!read_merges(model, file, t->vocab_, &t->merges_, error)) return nullptr;
  return t;
}

// Byte-level BPE on one pre-token: start from one token per byte and merge
// the adjacent pair of lowest rank (leftmost on ties) until none is left,
// the order the tokenizers package's Word::merge_all follows.
void Tokenizer::encode_piece(std::string_view piece, std::vector<int32_t>* out) const {
  if (piece.size() == 1) {
    out->push_back(byte_token_[static_cast<uint8_t>(piece[0])]);
    return;
  }
  if (ignore_merges_) {
    std::string chars;
    for (char c : piece) chars += byte_chars_[static_cast<uint8_t>(c)];
    const auto it = vocab_.find(chars);
    if (it != vocab_.end()) {
      out->push_back(it->second);
      return;
    }
  }
  struct Symbol {
    int32_t id;
    int32_t prev, next;  // -1 at the ends
    bool alive;
  };
  struct Candidate {
    uint32_t rank;
    int32_t pos;      // left symbol
    int32_t merged;   // id the pair becomes
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Symbol> symbols;        // (piece bytes)
  thread_local std::vector<Candidate> heap_store;  // pending merges
  symbols.clear();
  heap_store.clear();
  const int32_t n = static_cast<int32_t>(piece.size());
  for (int32_t i = 0; i < n; ++i) symbols.push_back({byte_token_[static_cast<uint8_t>(piece[i])], i - 1, i + 1 < n ? i + 1 : -1, true});

  const auto lookup = [&](int32_t a, int32_t b, uint64_t* v) {
    const auto it = merges_.find((static_cast<uint64_t>(a) << 32) | static_cast<uint32_t>(b));
    if (it == merges_.end()) return false;
    *v = it->second;
    return true;
  };
  const auto later = [](const Candidate& a, const Candidate& b) { return a > b; };  // min-heap
  const auto push_pair = [&](int32_t pos) {
    const int32_t next = symbols[pos].next;
    if (next < 0) return;
    uint64_t v = 0;
    if (lookup(symbols[pos].id, symbols[next].id, &v)) {
      heap_store.push_back({static_cast<uint32_t>(v >> 32), pos, static_cast<int32_t>(v & 0xFFFFFFFFu)});
      std::push_heap(heap_store.begin(), heap_store.end(), later);
    }
  };
  for (int32_t i = 0; i + 1 < n; ++i) push_pair(i);
  while (!heap_store.empty()) {
    std::pop_heap(heap_store.begin(), heap_store.end(), later);
    const Candidate top = heap_store.back();
    heap_store.pop_back();
    Symbol& left = symbols[top.pos];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[left.next];
    uint64_t v = 0;
    if (!lookup(left.id, right.id, &v) || static_cast<int32_t>(v & 0xFFFFFFFFu) != top.merged) continue;  // stale
    left.id = top.merged;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[right.next].prev = top.pos;
    if (left.prev >= 0) push_pair(left.prev);
    push_pair(top.pos);
  }
  for (int32_t i = 0; i >= 0; i = symbols[i].next) out->push_back(symbols[i].id);
}

void Tokenizer::encode_segment(std::string_view text, std::vector<int32_t>* out) const {
  if (text.empty()) return;
  const std::string normalized = use_nfc_ ? nfc(text) : std::string(text);
  for (const auto& [begin, end] : qwen2_pretokenize(normalized))
    encode_piece(std::string_view(normalized).substr(begin, end - begin), out);
}

std::vector<int32_t> Tokenizer::encode(std::string_view input) const {
  std::string repaired;
  std::string_view text = input;
  for (size_t i = 0; i < input.size();) {
    char32_t cp = 0;
    const size_t len = utf8_sequence(input, i, &cp);
    if (len == 0) {
      repaired = utf8_lossy(input);
      text = repaired;
      break;
    }
    i += len;
  }
  std::vector<int32_t> ids;
  size_t segment = 0;
  for (size_t p = 0; p < text.size(); ++p) {
    const auto& candidates = added_order_[static_cast<uint8_t>(text[p])];
    for (int32_t index : candidates) {
      const std::string& content = added_[index].content;
      if (text.compare(p, content.size(), content) == 0) {
        encode_segment(text.substr(segment, p - segment), &ids);
        ids.push_back(added_[index].id);
        p += content.size() - 1;
        segment = p + 1;
        break;
      }
    }
  }
  encode_segment(text.substr(segment), &ids);
  return ids;
}

const std::string& Tokenizer::token_bytes(int32_t id) const {
  static const std::string kEmpty;
  return id >= 0 && id < vocab_size() ? bytes_[id] : kEmpty;
}

std::string Tokenizer::decode(const std::vector<int32_t>& ids, bool skip_special) const {
  std::string bytes;
  for (int32_t id : ids) {
    if (id < 0 || id >= vocab_size() || (skip_special && special_[id])) continue;
    bytes += bytes_[id];
  }
  return utf8_lossy(bytes);
}

int32_t Tokenizer::token_id(std::string_view token) const {
  const std::string key(token);
  if (const auto it = added_ids_.find(key); it != added_ids_.end()) return it->second;
  if (const auto it = vocab_.find(key); it != vocab_.end()) return it->second;
  return -1;
}

bool Tokenizer::is_special(int32_t id) const { return id >= 0 && id < vocab_size() && special_[id]; }

std::string StreamDecoder::push(int32_t id) {
  if (skip_special_ && tokenizer_.is_special(id)) return "";
  pending_ += tokenizer_.token_bytes(id);
  const size_t ready = utf8_emittable_prefix(pending_);
  std::string out = utf8_lossy(std::string_view(pending_).substr(0, ready));
  pending_.erase(0, ready);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out = utf8_lossy(pending_);
  pending_.clear();
  return out;
}

}  // namespace deskpilot::engine
