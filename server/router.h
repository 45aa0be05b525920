// How `deskpilot serve` answers one HTTP request, decided without a socket
// (so that a fuzz target can drive it with raw bytes): authentication first,
// then the route, the body's type, and a chat request checked all the way to
// its prompt (images sized from their headers before a pixel is decoded)
// before anything is generated. Nothing here throws.
#pragma once

#include <functional>
#include <string>
#include <string_view>
#include <variant>

#include "engine/batch_scheduler.h"
#include "engine/model.h"
#include "server/openai_protocol.h"
#include "server/server_options.h"

namespace deskpilot::server {

// One request as the router sees it.
struct HttpRequest {
  std::string method;         // "GET", "POST", ...
  std::string target;         // as sent: path and query
  std::string authorization;  // the header's value, or ""
  std::string content_type;   // the header's value, or ""
  std::string body;
  bool keep_alive = true;
};

// One request from raw bytes, with the limits the connection reads under
// (64 KiB of header, limits.max_body_bytes of body); an ApiError (400, 413)
// for bytes that are malformed or do not hold a whole request.
std::variant<HttpRequest, ApiError> parse_http_request(std::string_view bytes, const ServerLimits& limits);

// An answer to send as it is.
struct Reply {
  int status = 200;
  std::string body;  // JSON
  std::string note;  // for the log line: the error's message
};

// A chat request that passed every check, to generate.
struct Generation {
  ChatCompletionRequest request;
  engine::Prompt prompt;
  int64_t prompt_tokens = 0;
};

class Router {
 public:
  // `stats` feeds /health.
  Router(const engine::Model& model, const ServerOptions& options, std::string model_name,
         std::function<engine::BatchStats()> stats);

  // A failure inside a handler becomes a 500 reply.
  std::variant<Reply, Generation> route(const HttpRequest& request) const;

  const std::string& model_name() const { return model_name_; }

 private:
  std::variant<Reply, Generation> route_checked(const HttpRequest& request) const;
  Reply health() const;
  Reply models() const;
  std::variant<Reply, Generation> chat(const HttpRequest& request) const;
  int64_t image_tokens(multimodal::Size size) const;

  const engine::Model& model_;
  const ServerOptions& options_;
  std::string model_name_;
  std::function<engine::BatchStats()> stats_;
};

// An error as the reply that carries it.
Reply error_reply(const ApiError& e);
ApiError api_error(int status, std::string type, std::string message, std::string code = "");

}  // namespace deskpilot::server
