#include "server/router.h"

#include <algorithm>
#include <filesystem>

#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/json_reader.h"
#include "base/text.h"
#include "server/beast_request.h"
#include "multimodal/chat_prompt.h"

namespace deskpilot::server {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using json = nlohmann::json;

// Compares a secret in a time that depends on the lengths only, not on
// where the first difference is.
bool same_secret(std::string_view a, std::string_view b) {
  volatile unsigned char diff = a.size() == b.size() ? 0 : 1;
  const size_t n = std::max(a.size(), b.size());
  for (size_t i = 0; i < n; ++i) {
    const unsigned char x = i < a.size() ? static_cast<unsigned char>(a[i]) : 0;
    const unsigned char y = i < b.size() ? static_cast<unsigned char>(b[i]) : 0;
    diff = diff | static_cast<unsigned char>(x ^ y);
  }
  return diff == 0;
}

// "application/json; charset=utf-8" -> "application/json".
std::string media_type(std::string_view content_type) {
  std::string_view t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

ApiError api_error(int status, std::string type, std::string message, std::string code) {
  ApiError e;
  e.status = status;
  e.type = std::move(type);
  e.message = std::move(message);
  e.code = std::move(code);
  return e;
}

Reply error_reply(const ApiError& e) { return {e.status, e.json(), e.message}; }

std::variant<HttpRequest, ApiError> parse_http_request(std::string_view bytes, const ServerLimits& limits) {
  http::request_parser<http::string_body> parser;
  parser.header_limit(64 * 1024);
  parser.body_limit(static_cast<uint64_t>(limits.max_body_bytes));
  parser.eager(true);
  beast::error_code ec;
  size_t used = 0;
  while (used < bytes.size() && !parser.is_done()) {
    const size_t n = parser.put(boost::asio::buffer(bytes.data() + used, bytes.size() - used), ec);
    if (ec == http::error::need_more) break;
    if (ec == http::error::body_limit)
      return api_error(413, "invalid_request_error",
                       "the body is over the limit of " + std::to_string(limits.max_body_bytes) + " bytes");
    if (ec) return api_error(400, "invalid_request_error", "malformed HTTP request: " + ec.message());
    if (n == 0) break;
    used += n;
  }
  if (!parser.is_done()) return api_error(400, "invalid_request_error", "incomplete HTTP request");
  return to_http_request(parser.release());
}

Router::Router(const engine::Model& model, const ServerOptions& options, std::string model_name,
               std::function<engine::BatchStats()> stats)
    : model_(model), options_(options), model_name_(std::move(model_name)), stats_(std::move(stats)) {}

std::variant<Reply, Generation> Router::route(const HttpRequest& request) const {
  try {
    return route_checked(request);
  } catch (const std::exception& e) {
    return error_reply(api_error(500, "server_error", std::string("internal error: ") + base::printable(e.what())));
  } catch (...) {
    return error_reply(api_error(500, "server_error", "internal error"));
  }
}

std::variant<Reply, Generation> Router::route_checked(const HttpRequest& request) const {
  const std::string path = request.target.substr(0, request.target.find('?'));
  // The key before the route, so that nothing about the server is told
  // without it; /health stays open for load balancers and probes.
  if (path != "/health" && !options_.api_key.empty() &&
      !same_secret(request.authorization, "Bearer " + options_.api_key)) {
    return error_reply(api_error(401, "authentication_error", "missing or wrong API key (Authorization: Bearer KEY)",
                                 "invalid_api_key"));
  }
  if (path == "/health") return health();
  if (path == "/v1/models") {
    if (request.method != "GET") return error_reply(api_error(405, "invalid_request_error", "use GET for /v1/models"));
    return models();
  }
  if (path == "/v1/chat/completions") {
    if (request.method != "POST")
      return error_reply(api_error(405, "invalid_request_error", "use POST for /v1/chat/completions"));
    // JSON only: a browser page can POST text/plain cross-site without asking
    // (no CORS preflight), never application/json.
    if (media_type(request.content_type) != "application/json")
      return error_reply(api_error(415, "invalid_request_error",
                                   "the body must be sent with Content-Type: application/json (got '" +
                                       base::printable(request.content_type, 80) + "')"));
    return chat(request);
  }
  return error_reply(
      api_error(404, "invalid_request_error", "no such endpoint: " + base::printable(path, 120), "not_found"));
}

Reply Router::health() const {
  const engine::BatchStats s = stats_ ? stats_() : engine::BatchStats{};
  json j = {{"status", "ok"},          {"model", model_name_},
            {"active", s.active},      {"queued", s.queued},
            {"requests_done", s.requests_done}, {"decode_steps", s.decode_steps},
            {"decoded_rows", s.decoded_rows},   {"max_batch_seen", s.max_batch_seen},
            {"prefill_ms", s.prefill_ms},       {"decode_ms", s.decode_ms}};
  return {200, base::json_text(j), ""};
}

Reply Router::models() const {
  // The folder's name, not its path: the server's file system is its own.
  json j = {{"object", "list"},
            {"data",
             {{{"id", model_name_},
               {"object", "model"},
               {"created", base::unix_seconds()},
               {"owned_by", "deskpilot"},
               {"root", std::filesystem::path(model_.dir()).filename().string()}}}}};
  return {200, base::json_text(j), ""};
}

int64_t Router::image_tokens(multimodal::Size size) const {
  const multimodal::SmartResizeParams p = multimodal::processor_resize(model_.files().preprocessor);
  const multimodal::SmartResizeResult r = multimodal::smart_resize(size, p);
  if (!r.size) return 0;  // refused later, by the processor, with its reason
  return (r.size->width / p.factor) * (r.size->height / p.factor);
}

std::variant<Reply, Generation> Router::chat(const HttpRequest& http_request) const {
  auto parsed = parse_chat_completion(http_request.body, options_.limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return error_reply(*e);
  Generation g;
  g.request = std::move(std::get<ChatCompletionRequest>(parsed));
  ChatCompletionRequest& request = g.request;
  if (!request.model.empty() && request.model != model_name_) {
    ApiError e = api_error(404, "invalid_request_error",
                           "model '" + request.model + "' is not served here; this server has '" + model_name_ + "'",
                           "model_not_found");
    e.param = "model";
    return error_reply(e);
  }
  const int64_t context = model_.lm().config().max_position_embeddings;
  const int64_t limit = std::min(options_.limits.max_prompt_tokens, context - request.options.max_tokens);
  const auto too_long = [&](const std::string& what) {
    return error_reply(api_error(400, "invalid_request_error",
                                 what + " (with max_tokens " + std::to_string(request.options.max_tokens) +
                                     "); the limit is " +
                                     std::to_string(std::min(options_.limits.max_prompt_tokens, context)),
                                 "context_length_exceeded"));
  };
  if (!request.encoded_images.empty()) {
    if (!model_.vision()) {
      ApiError e = api_error(400, "invalid_request_error",
                             request.encoded_images[0].param + ": the model " + model_name_ +
                                 " has no vision tower, so it cannot take images");
      e.param = request.encoded_images[0].param;
      return error_reply(e);
    }
    // The images' share of the prompt from their headers, before decoding.
    int64_t tokens = 0;
    for (const EncodedImage& image : request.encoded_images) tokens += image_tokens(image.size);
    if (tokens > limit) return too_long("the images alone take " + std::to_string(tokens) + " tokens");
    if (auto e = decode_images(request, options_.limits)) return error_reply(*e);
  }
  std::string err;
  auto prompt = multimodal::build_chat_prompt(model_, request.messages, &err);
  if (!prompt) return error_reply(api_error(400, "invalid_request_error", err));
  g.prompt_tokens = static_cast<int64_t>(prompt->ids.size());
  if (g.prompt_tokens > limit) return too_long("the prompt has " + std::to_string(g.prompt_tokens) + " tokens");
  g.prompt = std::move(*prompt);
  return g;
}

}  // namespace deskpilot::server
