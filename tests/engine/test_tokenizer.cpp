// The tokenizer against the tokenizers package (golden ids written by
// scripts/golden/tokenizer_cases.py with the real Qwen2 tokenizer.json).
#include "engine/tokenizer.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/pretokenize.h"
#include "engine/unicode.h"
#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

const std::string kDir = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/tokenizer/";

const Tokenizer& qwen2() {
  static std::unique_ptr<Tokenizer> t = [] {
    std::string error;
    auto tok = Tokenizer::load(kDir + "qwen2/tokenizer.json", &error);
    EXPECT_NE(tok, nullptr) << error;
    return tok;
  }();
  return *t;
}

nlohmann::json golden() { return deskpilot::testing::read_json(kDir + "cases.json"); }

std::string show(const std::string& s) { return nlohmann::json(s).dump(); }

TEST(Tokenizer, MatchesTokenizersPackageOnGoldenStrings) {
  const nlohmann::json cases = golden()["cases"];
  ASSERT_GE(cases.size(), 2000u);
  size_t mismatches = 0;
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const std::vector<int32_t> expected = c["ids"].get<std::vector<int32_t>>();
    const std::vector<int32_t> ids = qwen2().encode(text);
    if (ids != expected) {
      if (++mismatches <= 10) ADD_FAILURE() << "encode " << show(text) << ": " << nlohmann::json(ids).dump()
                                            << " != " << nlohmann::json(expected).dump();
      continue;
    }
    EXPECT_EQ(qwen2().decode(ids), c["decoded"].get<std::string>()) << show(text);
  }
  EXPECT_EQ(mismatches, 0u);
}

TEST(Tokenizer, DecodeOfEncodeGivesBackNfcText) {
  // NFC applies between added tokens (as in the tokenizers package): text
  // with none gives back its NFC; text with some must be stable.
  const nlohmann::json cases = golden()["cases"];
  for (const auto& c : cases) {
    const std::string text = c["text"];
    const std::string round = qwen2().decode(qwen2().encode(text));
    bool has_added = false;
    for (const AddedToken& a : qwen2().added_tokens()) has_added = has_added || text.find(a.content) != std::string::npos;
    if (has_added) {
      EXPECT_EQ(qwen2().decode(qwen2().encode(round)), round) << show(text);
    } else {
      EXPECT_EQ(round, nfc(text)) << show(text);
    }
  }
}

TEST(Tokenizer, StreamingDecodeEqualsDecodeAndNeverSplitsACharacter) {
  const nlohmann::json cases = golden()["cases"];
  for (const auto& c : cases) {
    const std::vector<int32_t> ids = c["ids"].get<std::vector<int32_t>>();
    StreamDecoder stream(qwen2(), /*skip_special=*/false);
    std::string joined;
    for (int32_t id : ids) {
      const std::string chunk = stream.push(id);
      EXPECT_EQ(utf8_lossy(chunk), chunk) << "half a character emitted for " << show(c["text"]);
      joined += chunk;
    }
    joined += stream.finish();
    EXPECT_EQ(joined, qwen2().decode(ids)) << show(c["text"]);
  }
}

TEST(Tokenizer, StreamingHoldsBytesOfASplitCharacter) {
  // "😀" is four bytes; byte-level tokens 'ð', 'Ł', 'ĺ', 'Ģ' are its single bytes.
  const std::string emoji = "\xF0\x9F\x98\x80";
  StreamDecoder stream(qwen2());
  const std::vector<int32_t> ids = {qwen2().token_id("\xC3\xB0"), qwen2().token_id("\xC5\x81"),
                                    qwen2().token_id("\xC4\xBA"), qwen2().token_id("\xC4\xA2")};
  for (int32_t id : ids) ASSERT_GE(id, 0);
  EXPECT_EQ(stream.push(ids[0]), "");
  EXPECT_EQ(stream.push(ids[1]), "");
  EXPECT_EQ(stream.push(ids[2]), "");
  EXPECT_EQ(stream.push(ids[3]), emoji);
  EXPECT_EQ(stream.finish(), "");
  // A character cut off at the end comes out as U+FFFD.
  StreamDecoder cut(qwen2());
  EXPECT_EQ(cut.push(ids[0]), "");
  EXPECT_EQ(cut.finish(), "\xEF\xBF\xBD");
}

TEST(Tokenizer, SpecialTokensMatchedInTextAndSkippable) {
  const int32_t im_start = qwen2().token_id("<|im_start|>");
  const int32_t im_end = qwen2().token_id("<|im_end|>");
  EXPECT_EQ(im_start, 151644);
  EXPECT_EQ(im_end, 151645);
  EXPECT_TRUE(qwen2().is_special(im_end));
  const std::vector<int32_t> ids = qwen2().encode("<|im_start|>user\nhi<|im_end|>");
  ASSERT_GE(ids.size(), 3u);
  EXPECT_EQ(ids.front(), im_start);
  EXPECT_EQ(ids.back(), im_end);
  EXPECT_EQ(qwen2().decode(ids, /*skip_special=*/true), "user\nhi");
  EXPECT_EQ(qwen2().vocab_size(), 151665);
}

TEST(Tokenizer, InvalidUtf8InputIsRepairedNotRejected) {
  const std::vector<int32_t> ids = qwen2().encode("a\xFF" "b");
  EXPECT_EQ(qwen2().decode(ids), "a\xEF\xBF\xBD" "b");
}

std::string minimal_tokenizer(const std::string& patch_key, const std::string& patch_value) {
  nlohmann::json j = deskpilot::testing::read_json(kDir + "qwen2/tokenizer.json");
  nlohmann::json vocab = nlohmann::json::object();
  for (const auto& [k, v] : j["model"]["vocab"].items())
    if (v.get<int>() < 256) vocab[k] = v;
  j["model"]["vocab"] = vocab;
  j["model"]["merges"] = nlohmann::json::array();
  j["added_tokens"] = nlohmann::json::array();
  if (!patch_key.empty()) j[nlohmann::json::json_pointer(patch_key)] = nlohmann::json::parse(patch_value);
  return j.dump();
}

TEST(Tokenizer, ByteTokensAloneStillRoundTrip) {
  std::string error;
  auto t = Tokenizer::from_json(minimal_tokenizer("", ""), "bytes.json", &error);
  ASSERT_NE(t, nullptr) << error;
  const std::string text = "héllo 世界 😀";
  EXPECT_EQ(t->encode(text).size(), text.size());  // one token per byte without merges
  EXPECT_EQ(t->decode(t->encode(text)), text);
}

TEST(Tokenizer, UnsupportedFilesAreRefusedWithFieldNamed) {
  struct Case {
    std::string key, value, expect;
  };
  const std::vector<Case> cases = {
      {"/model/type", "\"WordPiece\"", "model.type"},
      {"/normalizer", "{\"type\": \"NFKC\"}", "normalizer"},
      {"/pre_tokenizer", "{\"type\": \"Whitespace\"}", "pre_tokenizer"},
      {"/decoder", "{\"type\": \"WordPiece\"}", "decoder"},
      {"/model/merges", "[[\"a\", \"zz\"]]", "model.merges[0]"},
      {"/model/merges", "[42]", "model.merges[0]"},
      {"/model/vocab", "{\"a\": 0}", "no token for byte"},
      {"/added_tokens", "[{\"id\": 300, \"content\": \"<x>\", \"lstrip\": true}]", "added_tokens[0]"},
      {"/added_tokens", "[{\"id\": 300}]", "added_tokens[0]"},
  };
  for (const Case& c : cases) {
    std::string error;
    EXPECT_EQ(Tokenizer::from_json(minimal_tokenizer(c.key, c.value), "tok.json", &error), nullptr) << c.key;
    EXPECT_NE(error.find("tok.json: "), std::string::npos) << error;
    EXPECT_NE(error.find(c.expect), std::string::npos) << error;
  }
  std::string error;
  EXPECT_EQ(Tokenizer::from_json("{not json", "tok.json", &error), nullptr);
  EXPECT_NE(error.find("not JSON"), std::string::npos) << error;
  EXPECT_EQ(Tokenizer::from_json(R"({"model": {"vocab": {"a": 1E999}}})", "tok.json", &error), nullptr);
  EXPECT_NE(error.find("not JSON"), std::string::npos) << error;
  EXPECT_EQ(Tokenizer::load(kDir + "missing.json", &error), nullptr);
  EXPECT_NE(error.find("missing.json: cannot open"), std::string::npos) << error;
}

TEST(Pretokenize, SplitsLikeTheQwen2Regex) {
  const auto pieces = [](const std::string& text) {
    std::vector<std::string> out;
    for (auto [b, e] : qwen2_pretokenize(text)) out.push_back(text.substr(b, e - b));
    return out;
  };
  using V = std::vector<std::string>;
  EXPECT_EQ(pieces("Hello world"), (V{"Hello", " world"}));
  EXPECT_EQ(pieces("it's 2026!"), (V{"it", "'s", " ", "2", "0", "2", "6", "!"}));
  EXPECT_EQ(pieces("a  b"), (V{"a", " ", " b"}));
  EXPECT_EQ(pieces("x \n\n y"), (V{"x", " \n\n", " y"}));
  EXPECT_EQ(pieces("end   "), (V{"end", "   "}));
  EXPECT_EQ(pieces("f(x);\n"), (V{"f", "(x", ");\n"}));
}

TEST(Unicode, LossyReplacesMaximalSubparts) {
  EXPECT_EQ(utf8_lossy("ok"), "ok");
  EXPECT_EQ(utf8_lossy("\xE2\x82" "A"), "\xEF\xBF\xBD" "A");  // truncated 3-byte sequence: one U+FFFD
  EXPECT_EQ(utf8_lossy("\xC0\xAF"), "\xEF\xBF\xBD\xEF\xBF\xBD");  // overlong: each byte
  EXPECT_EQ(utf8_lossy("\xED\xA0\x80"), "\xEF\xBF\xBD\xEF\xBF\xBD\xEF\xBF\xBD");  // surrogate
  EXPECT_EQ(utf8_emittable_prefix("ab\xF0\x9F"), 2u);
  EXPECT_EQ(utf8_emittable_prefix("ab\xFF"), 3u);
  EXPECT_EQ(nfc("Cafe\xCC\x81"), "Caf\xC3\xA9");
}

}  // namespace
}  // namespace deskpilot::engine
