// Request bodies of /v1/chat/completions: what is accepted, and every
// refusal names the field, in OpenAI's error shape.
#include "server/openai_protocol.h"

#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>

#include "base/base64.h"

namespace deskpilot::server {
namespace {

using base::base64_encode;

std::string png_url(int w, int h) {
  cv::Mat img(h, w, CV_8UC3, cv::Scalar(10, 20, 30));  // BGR
  std::vector<uint8_t> png;
  cv::imencode(".png", img, png);
  return "data:image/png;base64," + base64_encode(std::string(png.begin(), png.end()));
}

ApiError refused(const std::string& body, const ServerLimits& limits = {}) {
  auto r = parse_chat_completion(body, limits);
  EXPECT_TRUE(std::holds_alternative<ApiError>(r)) << body;
  return std::holds_alternative<ApiError>(r) ? std::get<ApiError>(r) : ApiError();
}

TEST(OpenAiProtocol, ParsesTextImagesAndSampling) {
  const nlohmann::json body = {
      {"model", "m"},
      {"messages",
       {{{"role", "system"}, {"content", "be brief"}},
        {{"role", "user"},
         {"content",
          {{{"type", "image_url"}, {"image_url", {{"url", png_url(30, 20)}}}}, {{"type", "text"}, {"text", "hi"}}}}},
        {{"role", "assistant"}, {"content", nullptr}}}},
      {"max_tokens", 7},  {"temperature", 0.5}, {"top_p", 0.9},  {"top_k", -1},        {"seed", 3},
      {"stop", "END"},    {"stream", true},     {"stream_options", {{"include_usage", true}}},
      {"frequency_penalty", 1}};
  auto r = parse_chat_completion(body.dump(), ServerLimits());
  ASSERT_TRUE(std::holds_alternative<ChatCompletionRequest>(r)) << std::get<ApiError>(r).message;
  ChatCompletionRequest& c = std::get<ChatCompletionRequest>(r);
  ASSERT_EQ(c.messages.size(), 3u);
  ASSERT_EQ(c.messages[1].content.size(), 2u);
  // Parsed, the image is its header's size; its pixels come with decode_images.
  ASSERT_EQ(c.encoded_images.size(), 1u);
  EXPECT_EQ(c.encoded_images[0].size, (multimodal::Size{30, 20}));
  EXPECT_EQ(c.encoded_images[0].param, "messages[1].content[0].image_url.url");
  EXPECT_EQ(c.messages[1].content[0].image, nullptr);
  ASSERT_EQ(decode_images(c, ServerLimits()), std::nullopt);
  ASSERT_NE(c.messages[1].content[0].image, nullptr);
  EXPECT_EQ(c.messages[1].content[0].image->width, 30);
  EXPECT_EQ(c.messages[1].content[0].image->pixels[0], 30);  // RGB: R first
  EXPECT_EQ(c.messages[1].content[1].text, "hi");
  EXPECT_EQ(c.images, 1);
  EXPECT_EQ(c.options.max_tokens, 7);
  EXPECT_DOUBLE_EQ(c.options.sampling.temperature, 0.5);
  EXPECT_EQ(c.options.sampling.top_k, 0);
  EXPECT_EQ(c.options.sampling.seed, 3u);
  EXPECT_DOUBLE_EQ(c.options.sampling.frequency_penalty, 1.0);
  EXPECT_EQ(c.options.stop, std::vector<std::string>{"END"});
  EXPECT_TRUE(c.stream);
  EXPECT_TRUE(c.include_usage);
}

TEST(OpenAiProtocol, RefusalsNameTheField) {
  EXPECT_NE(refused("{nope").message.find("not valid JSON"), std::string::npos);
  // Found by fuzz_requests: a number beyond a double threw past the parse-error handler.
  EXPECT_NE(refused("77777777777777777777777777777777777E7774").message.find("not valid JSON"), std::string::npos);
  EXPECT_EQ(refused("[]").status, 400);
  EXPECT_EQ(refused(R"({"messages": []})").param, "messages");
  EXPECT_EQ(refused(R"({"messages": [{"role": "robot", "content": "x"}]})").param, "messages[0].role");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": 5}]})").param, "messages[0].content");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": [{"type": "audio"}]}]})").param,
            "messages[0].content[0].type");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": "x"}], "temperature": 9})").param, "temperature");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": "many"})").param, "max_tokens");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": "x"}], "n": 2})").param, "n");
  EXPECT_EQ(refused(R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})").param, "stop");
  const ApiError remote = refused(
      R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "http://x/y.png"}}]}]})");
  EXPECT_EQ(remote.param, "messages[0].content[0].image_url.url");
  EXPECT_NE(remote.message.find("only data:"), std::string::npos);
  const ApiError garbage = refused(
      R"({"messages": [{"role": "user", "content": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}]}]})");
  EXPECT_NE(garbage.message.find("not a PNG or JPEG"), std::string::npos) << garbage.message;
  const nlohmann::json error = nlohmann::json::parse(remote.json());
  EXPECT_EQ(error["error"]["type"], "invalid_request_error");
  EXPECT_EQ(error["error"]["param"], "messages[0].content[0].image_url.url");
}

TEST(OpenAiProtocol, ImageLimitsAreCheckedBeforeDecoding) {
  ServerLimits limits;
  limits.max_images = 1;
  limits.max_image_pixels = 100 * 100;
  const auto part = [](const std::string& url) {
    return nlohmann::json{{"type", "image_url"}, {"image_url", {{"url", url}}}};
  };
  nlohmann::json body = {{"messages", {{{"role", "user"}, {"content", {part(png_url(200, 100))}}}}}};
  ApiError e = refused(body.dump(), limits);
  EXPECT_NE(e.message.find("200x100, over the limit of 10000 pixels"), std::string::npos) << e.message;
  body = {{"messages", {{{"role", "user"}, {"content", {part(png_url(10, 10)), part(png_url(10, 10))}}}}}};
  e = refused(body.dump(), limits);
  EXPECT_NE(e.message.find("more than 1 images"), std::string::npos) << e.message;
  // The decoded-bytes budget is judged from the headers, all images together.
  limits.max_images = 2;
  limits.max_decoded_bytes = 10 * 10 * 3 + 9 * 9 * 3;
  auto ok = parse_chat_completion(body.dump(), limits);
  ASSERT_TRUE(std::holds_alternative<ChatCompletionRequest>(ok));
  auto over = decode_images(std::get<ChatCompletionRequest>(ok), limits);
  ASSERT_TRUE(over.has_value());
  EXPECT_EQ(over->param, "messages[0].content[1].image_url.url");
  EXPECT_EQ(over->code, "image_too_large");
  EXPECT_EQ(std::get<ChatCompletionRequest>(ok).messages[0].content[0].image, nullptr);  // none decoded
}

}  // namespace
}  // namespace deskpilot::server
