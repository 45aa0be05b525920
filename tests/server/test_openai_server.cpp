// `deskpilot serve` over real HTTP on loopback with a tiny checkpoint: the
// HTTP chat model (policies/) gets exactly what the in-process engine gives,
// streamed or not, with screenshots; concurrent requests share decode steps;
// bad and oversized requests get 4xx in OpenAI's shape while the others
// keep being served.
#include "server/openai_server.h"

#include <gtest/gtest.h>

#include <future>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "policies/engine_chat_model.h"
#include "policies/http_chat_model.h"
#include "tests/golden_util.h"

namespace deskpilot::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using engine::BatchOptions;
using engine::GenerateResult;
using engine::Model;
using engine::SamplingParams;

const std::string kModel = deskpilot::testing::kGoldenDir + "models/qwen25vl-untied";

struct RawReply {
  unsigned status = 0;
  std::string body;
};

// One plain HTTP exchange (the test's own client, independent of policies/).
RawReply raw(int port, http::verb verb, const std::string& target, const std::string& body,
             const std::string& auth = "") {
  boost::asio::io_context io;
  tcp::socket socket(io);
  socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  http::request<http::string_body> req{verb, target, 11};
  req.set(http::field::host, "127.0.0.1");
  req.set(http::field::content_type, "application/json");
  if (!auth.empty()) req.set(http::field::authorization, auth);
  req.body() = body;
  req.prepare_payload();
  beast::error_code ec;
  http::write(socket, req, ec);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(1 << 30);
  http::read(socket, buffer, parser, ec);
  return {parser.get().result_int(), parser.get().body()};
}

std::shared_ptr<const multimodal::RgbImage> picture(uint8_t shade) {
  multimodal::RgbImage img{56, 84, std::vector<uint8_t>(56 * 84 * 3)};
  for (size_t i = 0; i < img.pixels.size(); ++i) img.pixels[i] = static_cast<uint8_t>(shade + i * 7);
  return std::make_shared<const multimodal::RgbImage>(std::move(img));
}

policies::ChatRequest request(const std::string& text, std::shared_ptr<const multimodal::RgbImage> image, int64_t max_tokens) {
  policies::ChatRequest r;
  r.messages.push_back({"system", {{"You are a helpful assistant.", nullptr}}});
  policies::ChatTurn user{"user", {}};
  if (image) user.content.push_back({"", image});
  user.content.push_back({text, nullptr});
  r.messages.push_back(user);
  r.max_tokens = max_tokens;
  return r;
}

class OpenAiServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    model_ = Model::load(kModel, &error);
    ASSERT_NE(model_, nullptr) << error;
    ServerOptions o;
    o.port = 0;
    o.log_requests = false;
    o.limits.max_body_bytes = 1 << 20;
    o.batch.max_batch = 4;
    server_ = OpenAiServer::start(*model_, o, &error);
    ASSERT_NE(server_, nullptr) << error;
  }
  std::unique_ptr<policies::HttpChatModel> client(bool stream) {
    policies::HttpChatOptions h;
    h.endpoint = "http://127.0.0.1:" + std::to_string(server_->port()) + "/v1";
    h.model_name = server_->model_name();
    h.stream = stream;
    std::string error;
    auto c = policies::HttpChatModel::create(h, &error);
    EXPECT_NE(c, nullptr) << error;
    return c;
  }
  std::unique_ptr<Model> model_;
  std::unique_ptr<OpenAiServer> server_;
};

TEST_F(OpenAiServerTest, HttpAnswersEqualTheInProcessEngine) {
  policies::EngineChatModel local(*model_);
  auto streamed = client(true), whole = client(false);
  for (const auto& r : {request("Open the terminal", nullptr, 12), request("What is on the screen?", picture(3), 12)}) {
    policies::ChatReply expected, a, b;
    std::string error;
    ASSERT_TRUE(local.complete(r, &expected, &error)) << error;
    ASSERT_TRUE(streamed->complete(r, &a, &error)) << error;
    ASSERT_TRUE(whole->complete(r, &b, &error)) << error;
    EXPECT_EQ(a.text, expected.text);
    EXPECT_EQ(b.text, expected.text);
    EXPECT_EQ(a.prompt_tokens, expected.prompt_tokens);  // usage: include_usage in the stream
    EXPECT_EQ(b.completion_tokens, expected.completion_tokens);
  }
}

TEST_F(OpenAiServerTest, ConcurrentClientsAreBatchedAndEachGetsItsOwnAnswer) {
  policies::EngineChatModel local(*model_);
  const int kClients = 6;
  std::vector<policies::ChatRequest> requests;
  std::vector<std::string> expected;
  for (int i = 0; i < kClients; ++i) {
    requests.push_back(request("request number " + std::to_string(i), i % 2 ? picture(static_cast<uint8_t>(i)) : nullptr,
                               24));
    policies::ChatReply reply;
    std::string error;
    ASSERT_TRUE(local.complete(requests.back(), &reply, &error)) << error;
    expected.push_back(reply.text);
  }
  std::vector<std::future<std::string>> answers;
  for (int i = 0; i < kClients; ++i) {
    answers.push_back(std::async(std::launch::async, [&, i] {
      auto c = client(i % 2 == 0);
      policies::ChatReply reply;
      std::string error;
      return c->complete(requests[i], &reply, &error) ? reply.text : "error: " + error;
    }));
  }
  for (int i = 0; i < kClients; ++i) EXPECT_EQ(answers[i].get(), expected[i]) << i;
  EXPECT_GE(server_->stats().max_batch_seen, 2);
  EXPECT_EQ(server_->stats().requests_done, kClients);
}

TEST_F(OpenAiServerTest, BadRequestsGet4xxWhileOthersAreServed) {
  const int port = server_->port();
  // A long answer in flight the whole time.
  auto busy = std::async(std::launch::async, [&] {
    auto c = client(true);
    policies::ChatReply reply;
    std::string error;
    return c->complete(request("keep going", nullptr, 3000), &reply, &error) ? reply.completion_tokens : -1;
  });
  while (server_->stats().active == 0) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  RawReply r = raw(port, http::verb::post, "/v1/chat/completions", "{broken");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["type"], "invalid_request_error");
  r = raw(port, http::verb::post, "/v1/chat/completions", std::string((1 << 20) + 1000, 'x'));
  EXPECT_EQ(r.status, 413u);
  EXPECT_NE(r.body.find("over the limit"), std::string::npos);
  r = raw(port, http::verb::post, "/v1/chat/completions",
          R"({"model": "gpt-9", "messages": [{"role": "user", "content": "hi"}]})");
  EXPECT_EQ(r.status, 404u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["error"]["code"], "model_not_found");
  r = raw(port, http::verb::post, "/v1/chat/completions",
          R"({"messages": [{"role": "user", "content": "hi"}], "max_tokens": 100000})");
  EXPECT_EQ(r.status, 400u);
  EXPECT_EQ(raw(port, http::verb::get, "/v1/chat/completions", "").status, 405u);
  EXPECT_EQ(raw(port, http::verb::get, "/nowhere", "").status, 404u);
  r = raw(port, http::verb::get, "/v1/models", "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["data"][0]["id"], server_->model_name());
  r = raw(port, http::verb::get, "/health", "");
  EXPECT_EQ(r.status, 200u);
  EXPECT_EQ(nlohmann::json::parse(r.body)["active"], 1);  // the long answer was going on all along
  EXPECT_GT(busy.get(), 0);
}

TEST(OpenAiServerAuth, ApiKeyIsRequiredOnV1) {
  std::string error;
  auto model = Model::load(kModel, &error);
  ASSERT_NE(model, nullptr) << error;
  ServerOptions o;
  o.port = 0;
  o.api_key = "sekrit";
  o.log_requests = false;
  auto server = OpenAiServer::start(*model, o, &error);
  ASSERT_NE(server, nullptr) << error;
  EXPECT_EQ(raw(server->port(), http::verb::get, "/v1/models", "").status, 401u);
  EXPECT_EQ(raw(server->port(), http::verb::get, "/v1/models", "", "Bearer nope").status, 401u);
  EXPECT_EQ(raw(server->port(), http::verb::get, "/v1/models", "", "Bearer sekrit").status, 200u);
  EXPECT_EQ(raw(server->port(), http::verb::get, "/health", "").status, 200u);
  policies::HttpChatOptions h;
  h.endpoint = "http://127.0.0.1:" + std::to_string(server->port());
  h.model_name = server->model_name();
  h.api_key = "sekrit";
  auto c = policies::HttpChatModel::create(h, &error);
  policies::ChatReply reply;
  EXPECT_TRUE(c->complete(request("hi", nullptr, 3), &reply, &error)) << error;
  h.api_key = "wrong";
  c = policies::HttpChatModel::create(h, &error);
  EXPECT_FALSE(c->complete(request("hi", nullptr, 3), &reply, &error));
  EXPECT_NE(error.find("HTTP 401"), std::string::npos) << error;
  // Taken port: a clear error.
  o.port = server->port();
  EXPECT_EQ(OpenAiServer::start(*model, o, &error), nullptr);
  EXPECT_NE(error.find("cannot listen on 127.0.0.1:" + std::to_string(o.port)), std::string::npos) << error;
}

TEST(HttpChatModel, UnreachableServerIsRetriedThenReported) {
  // A port that was free a moment ago.
  boost::asio::io_context io;
  tcp::acceptor probe(io, tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), 0));
  const int port = probe.local_endpoint().port();
  probe.close();
  policies::HttpChatOptions h;
  h.endpoint = "http://127.0.0.1:" + std::to_string(port) + "/v1/chat/completions";
  h.model_name = "m";
  h.retries = 2;
  h.backoff_s = 0.01;
  std::string error;
  auto c = policies::HttpChatModel::create(h, &error);
  ASSERT_NE(c, nullptr) << error;
  policies::ChatReply reply;
  EXPECT_FALSE(c->complete(request("hi", nullptr, 3), &reply, &error));
  EXPECT_NE(error.find("cannot connect to 127.0.0.1:" + std::to_string(port)), std::string::npos) << error;
  EXPECT_FALSE(policies::parse_endpoint("ftp://x", &error));
  EXPECT_NE(error.find("expected http://"), std::string::npos);
  EXPECT_EQ(policies::parse_endpoint("http://h:81", &error)->target, "/v1/chat/completions");
  EXPECT_EQ(policies::parse_endpoint("https://h/api/v1/", &error)->target, "/api/v1/chat/completions");
  EXPECT_EQ(policies::parse_endpoint("https://h/api/v1/", &error)->port, "443");
  EXPECT_FALSE(policies::parse_endpoint("http://h:port/v1", &error));
}

}  // namespace
}  // namespace deskpilot::server
