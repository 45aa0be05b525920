// The one JSON reader: paths in errors from either kind of root, typed
// getters, fallbacks, unknown keys, and parse errors named by byte.
#include <gtest/gtest.h>

#include "base/json_reader.h"

using deskpilot::base::JsonNode;
using deskpilot::base::read_json_document;

namespace {

// The error read_json_document reports for `text` when `read` runs over it.
template <typename Read>
std::string error_of(const std::string& text, const std::string& root, Read&& read) {
  std::string error;
  EXPECT_FALSE(read_json_document(text, "f.json", root, &error, read));
  return error;
}

}  // namespace

TEST(JsonReader, ErrorsNameTheFileAndThePathFromARootNamedDollar) {
  const auto read = [](const JsonNode& root) {
    root.object().only_keys({"steps"});
    const JsonNode steps = root.need("steps");
    steps.array();
    for (size_t i = 0; i < steps.size(); ++i) steps[i].need("click")["x"].number_in(0, 10);
    return 0;
  };
  EXPECT_EQ(error_of(R"([1])", "$", read), "f.json: $: expected an object, got an array");
  EXPECT_EQ(error_of(R"({"step": 1})", "$", read), "f.json: $: unknown key 'step' (expected steps)");
  EXPECT_EQ(error_of(R"({})", "$", read), "f.json: $: missing 'steps'");
  EXPECT_EQ(error_of(R"({"steps": [{"click": {"x": 1}}, {}]})", "$", read), "f.json: $.steps[1]: missing 'click'");
  EXPECT_EQ(error_of(R"({"steps": [{"click": {"x": 11}}]})", "$", read),
            "f.json: $.steps[0].click.x: expected a number from 0.000000 to 10.000000");
  EXPECT_EQ(error_of(R"({"steps": [{"click": {"x": "1"}}]})", "$", read),
            "f.json: $.steps[0].click.x: expected a number, got \"1\"");
}

TEST(JsonReader, AnUnnamedRootGivesDottedFieldNamesAndFallbacks) {
  struct Out {
    int64_t size;
    double scale;
    bool flag;
    std::string name;
    std::vector<int64_t> list;
  };
  const auto read = [](const JsonNode& root) {
    const JsonNode inner = root.has("inner") ? JsonNode(root["inner"].object()) : root;
    return Out{inner.integer("size", std::nullopt, 1), inner.number("scale", 0.5), inner.boolean("flag", true),
               inner.string("name", "none"), inner.integers("list")};
  };
  std::string error;
  auto ok = read_json_document(R"({"inner": {"size": 3, "scale": null, "list": [1, 2]}})", "c.json", "", &error, read);
  ASSERT_TRUE(ok) << error;
  EXPECT_EQ(ok->size, 3);
  EXPECT_EQ(ok->scale, 0.5);  // null is as absent
  EXPECT_TRUE(ok->flag);
  EXPECT_EQ(ok->name, "none");
  EXPECT_EQ(ok->list, (std::vector<int64_t>{1, 2}));
  EXPECT_EQ(error_of(R"({"inner": {}})", "", read), "f.json: inner.size: missing");
  EXPECT_EQ(error_of(R"({"size": 0})", "", read), "f.json: size: expected at least 1, got 0");
  EXPECT_EQ(error_of(R"({"size": "big"})", "", read), "f.json: size: expected an integer, got \"big\"");
  EXPECT_EQ(error_of(R"({"size": 1, "flag": 1})", "", read), "f.json: flag: expected true or false, got 1");
  EXPECT_EQ(error_of(R"({"size": 1, "list": [1, "x"]})", "", read),
            "f.json: list: expected a list of integers, got [1,\"x\"]");
  EXPECT_EQ(error_of(R"({"inner": 5})", "", read), "f.json: inner: expected an object, got a number");
}

TEST(JsonReader, ParseErrorsSayWhereAndOutOfRangeNumbersAreRefused) {
  const auto read = [](const JsonNode&) { return 0; };
  EXPECT_EQ(error_of(R"({"a": 1,)", "$", read).rfind("f.json: invalid JSON at byte 9: ", 0), 0u);
  EXPECT_EQ(error_of(R"({"a": 1E999})", "$", read).rfind("f.json: invalid JSON", 0), 0u);
  EXPECT_EQ(error_of("\xff", "$", read).rfind("f.json: invalid JSON at byte 1: ", 0), 0u);
}
