// A chat model behind an OpenAI-compatible HTTP endpoint (vLLM, SGLang,
// `deskpilot serve`, any /v1/chat/completions): screenshots go as base64 PNG
// data URLs, the answer streams back as server-sent events. Boost.Beast,
// synchronous, one connection per call; http:// and https:// (OpenSSL).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <string_view>

#include "policies/chat_model.h"

namespace deskpilot::policies {

struct HttpChatOptions {
  std::string endpoint;    // http://host:port[/v1] or the full .../v1/chat/completions URL
  std::string model_name;  // "model" in the request
  std::string api_key;     // Authorization: Bearer KEY when set
  double connect_timeout_s = 10;
  double timeout_s = 300;  // the whole answer
  int retries = 3;         // connection failures, 429 and 5xx; 4xx are final
  double backoff_s = 0.5;  // doubled after each retry
  bool stream = true;
  // Pieces of text as they arrive (streaming only).
  std::function<void(std::string_view)> on_text;
};

struct ParsedUrl {
  bool tls = false;
  std::string host, port, target;  // target: "/v1/chat/completions"
};

// nullopt and *error for anything but http(s)://host[:port][/path]. The
// path is completed to /v1/chat/completions as OpenAI clients do with a
// base URL.
std::optional<ParsedUrl> parse_endpoint(const std::string& url, std::string* error);

// The request body (pure, for tests): OpenAI's chat format with image_url parts.
std::string chat_request_body(const ChatRequest& request, const std::string& model_name, bool stream);

class HttpChatModel final : public ChatModel {
 public:
  static std::unique_ptr<HttpChatModel> create(HttpChatOptions options, std::string* error);
  bool complete(const ChatRequest& request, ChatReply* reply, std::string* error) override;
  std::string name() const override { return options_.model_name; }

 private:
  HttpChatModel(HttpChatOptions options, ParsedUrl url) : options_(std::move(options)), url_(std::move(url)) {}
  HttpChatOptions options_;
  ParsedUrl url_;
};

}  // namespace deskpilot::policies
