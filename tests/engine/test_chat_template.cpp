// The Qwen2-VL chat template against transformers' Qwen2VLProcessor
// (scripts/golden/chat_template_cases.py): the rendered text and, after the
// image placeholders are expanded, the token ids.
#include "engine/chat_template.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>

#include "engine/tokenizer.h"
#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

const std::string kGolden = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/";

nlohmann::json load_cases() { return deskpilot::testing::read_json(kGolden + "chat_template/cases.json"); }

TEST(ChatTemplate, RendersLikeTheTransformersProcessor) {
  std::string error;
  auto tokenizer = Tokenizer::load(kGolden + "tokenizer/qwen2/tokenizer.json", &error);
  ASSERT_NE(tokenizer, nullptr) << error;
  const nlohmann::json golden = load_cases();
  const int64_t merge = golden["merge_size"];
  ASSERT_GE(golden["cases"].size(), 10u);
  for (const auto& c : golden["cases"]) {
    SCOPED_TRACE(c["messages"].dump().substr(0, 120));
    auto messages = parse_chat_messages(c["messages"], &error);
    ASSERT_TRUE(messages) << error;
    ChatTemplateOptions options;
    options.add_generation_prompt = c["options"].value("add_generation_prompt", true);
    options.add_vision_id = c["options"].value("add_vision_id", false);
    const std::string rendered = render_chat(*messages, options);
    EXPECT_EQ(rendered, c["rendered"].get<std::string>());

    std::vector<int64_t> tokens_per_image;
    for (const auto& g : c["image_grid_thw"])
      tokens_per_image.push_back(g[0].get<int64_t>() * g[1].get<int64_t>() * g[2].get<int64_t>() / (merge * merge));
    auto expanded = expand_image_pads(rendered, tokens_per_image, &error);
    ASSERT_TRUE(expanded) << error;
    EXPECT_EQ(tokenizer->encode(*expanded), c["input_ids"].get<std::vector<int32_t>>());
  }
}

TEST(ChatTemplate, PlaceholderCountMustMatchImages) {
  std::string error;
  EXPECT_FALSE(expand_image_pads("<|image_pad|><|image_pad|>", {4}, &error));
  EXPECT_NE(error.find("2 image placeholders but 1 images"), std::string::npos) << error;
  EXPECT_EQ(*expand_image_pads("a<|image_pad|>b", {3}, &error), "a<|image_pad|><|image_pad|><|image_pad|>b");
}

TEST(ChatTemplate, BadMessagesNameTheField) {
  std::string error;
  EXPECT_FALSE(parse_chat_messages(nlohmann::json::parse(R"([{"content": "x"}])"), &error));
  EXPECT_EQ(error, "messages[0].role: expected a string");
  EXPECT_FALSE(parse_chat_messages(nlohmann::json::parse(R"([{"role": "user", "content": 5}])"), &error));
  EXPECT_EQ(error, "messages[0].content: expected a string or an array of parts");
  EXPECT_FALSE(
      parse_chat_messages(nlohmann::json::parse(R"([{"role": "user", "content": [{"text": 1}]}])"), &error));
  EXPECT_EQ(error, "messages[0].content[0].text: expected a string");
}

}  // namespace
}  // namespace deskpilot::engine
