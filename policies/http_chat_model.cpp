#include "policies/http_chat_model.h"

#include <chrono>
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/version.hpp>
#include <nlohmann/json.hpp>
#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "base/clock.h"
#include "base/base64.h"
#include "base/run_op.h"

namespace deskpilot::policies {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;

std::string png_data_url(const multimodal::RgbImage& img) {
  cv::Mat rgb(static_cast<int>(img.height), static_cast<int>(img.width), CV_8UC3,
              const_cast<uint8_t*>(img.pixels.data()));
  cv::Mat bgr;
  cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
  std::vector<uint8_t> png;
  cv::imencode(".png", bgr, png, {cv::IMWRITE_PNG_COMPRESSION, 1});
  return "data:image/png;base64," + base::base64_encode(std::string_view(reinterpret_cast<const char*>(png.data()), png.size()));
}

using base::run_op;

// The outcome of one attempt: transport failures and 429/5xx may be retried.
struct Attempt {
  bool ok = false;
  bool retry = false;
  std::string error;
};

// The answer's text and usage from a whole (non-streamed) body.
bool read_completion(const std::string& body, ChatReply* reply, std::string* error) {
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    const auto& msg = j.at("choices").at(0).at("message");
    reply->text = msg.contains("content") && msg["content"].is_string() ? msg["content"].get<std::string>() : "";
    if (j.contains("usage") && j["usage"].is_object()) {
      reply->prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
      reply->completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
    }
    return true;
  } catch (const std::exception& e) {
    *error = std::string("unexpected response: ") + e.what() + ": " + body.substr(0, 300);
    return false;
  }
}

// The server's own message from an OpenAI-shaped error body, else the body.
std::string error_message(const std::string& body) {
  try {
    const nlohmann::json j = nlohmann::json::parse(body);
    if (j.contains("error") && j["error"].is_object() && j["error"].contains("message"))
      return j["error"]["message"].get<std::string>();
    if (j.contains("message") && j["message"].is_string()) return j["message"].get<std::string>();
  } catch (...) {
  }
  return body.substr(0, 300);
}

template <typename Stream>
Attempt exchange(asio::io_context& io, Stream& stream, beast::tcp_stream& tcp_layer, const ParsedUrl& url,
                 const HttpChatOptions& o, const std::string& body, ChatReply* reply) {
  Attempt a;
  http::request<http::string_body> req{http::verb::post, url.target, 11};
  req.set(http::field::host, url.host);
  req.set(http::field::user_agent, "deskpilot");
  req.set(http::field::content_type, "application/json");
  req.set(http::field::accept, o.stream ? "text/event-stream" : "application/json");
  if (!o.api_key.empty()) req.set(http::field::authorization, "Bearer " + o.api_key);
  req.body() = body;
  req.prepare_payload();
  // One deadline for the whole exchange.
  tcp_layer.expires_after(std::chrono::milliseconds(static_cast<int64_t>(o.timeout_s * 1000)));
  beast::error_code ec = run_op(io, [&](auto h) { http::async_write(stream, req, std::move(h)); });
  if (ec) return {false, true, "sending the request: " + ec.message()};

  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  ec = run_op(io, [&](auto h) { http::async_read_header(stream, buffer, parser, std::move(h)); });
  if (ec) return {false, true, "reading the response: " + ec.message()};
  const unsigned status = parser.get().result_int();
  const bool sse = parser.get()[http::field::content_type].find("text/event-stream") != std::string_view::npos;
  size_t consumed = 0;  // bytes of the body already taken as SSE lines
  std::string text;
  bool done = false;
  auto take_lines = [&]() -> bool {
    std::string& b = parser.get().body();
    size_t nl;
    while ((nl = b.find('\n', consumed)) != std::string::npos) {
      std::string line = b.substr(consumed, nl - consumed);
      consumed = nl + 1;
      if (!line.empty() && line.back() == '\r') line.pop_back();
      if (line.rfind("data:", 0) != 0) continue;
      std::string data = line.substr(5);
      if (!data.empty() && data[0] == ' ') data.erase(0, 1);
      if (data == "[DONE]") {
        done = true;
        continue;
      }
      try {
        const nlohmann::json j = nlohmann::json::parse(data);
        if (j.contains("error")) {
          a.error = "the server stopped with an error: " + error_message(data);
          return false;
        }
        if (j.contains("choices") && j["choices"].is_array() && !j["choices"].empty()) {
          const auto& delta = j["choices"][0].value("delta", nlohmann::json::object());
          if (delta.contains("content") && delta["content"].is_string()) {
            const std::string piece = delta["content"].get<std::string>();
            text += piece;
            if (o.on_text) o.on_text(piece);
          }
        }
        if (j.contains("usage") && j["usage"].is_object()) {
          reply->prompt_tokens = j["usage"].value("prompt_tokens", int64_t{0});
          reply->completion_tokens = j["usage"].value("completion_tokens", int64_t{0});
        }
      } catch (const std::exception& e) {
        a.error = std::string("bad event from the server: ") + e.what() + ": " + data.substr(0, 200);
        return false;
      }
    }
    return true;
  };
  while (!parser.is_done()) {
    ec = run_op(io, [&](auto h) { http::async_read_some(stream, buffer, parser, std::move(h)); });
    if (ec == beast::error::timeout) return {false, false, "no complete answer within " + std::to_string(o.timeout_s) + " s"};
    if (ec) return {false, true, "reading the response: " + ec.message()};
    if (status == 200 && sse && !take_lines()) return a;
  }
  const std::string& b = parser.get().body();
  if (status != 200) {
    a.retry = status == 429 || status >= 500;
    a.error = "HTTP " + std::to_string(status) + ": " + error_message(b);
    return a;
  }
  if (sse) {
    if (!take_lines()) return a;
    if (!done) return {false, true, "the event stream ended without [DONE]"};
    reply->text = text;
  } else if (!read_completion(b, reply, &a.error)) {
    return a;
  }
  a.ok = true;
  return a;
}

Attempt attempt_once(const ParsedUrl& url, const HttpChatOptions& o, const std::string& body, ChatReply* reply) {
  try {
    asio::io_context io;
    asio::ip::tcp::resolver resolver(io);
    beast::error_code ec;
    const auto results = resolver.resolve(url.host, url.port, ec);
    if (ec) return {false, true, "cannot resolve " + url.host + ": " + ec.message()};
    const auto connect_timeout = std::chrono::milliseconds(static_cast<int64_t>(o.connect_timeout_s * 1000));
    if (!url.tls) {
      beast::tcp_stream stream(io);
      stream.expires_after(connect_timeout);
      ec = run_op(io, [&](auto h) { stream.async_connect(results, std::move(h)); });
      if (ec) return {false, true, "cannot connect to " + url.host + ":" + url.port + ": " + ec.message()};
      Attempt a = exchange(io, stream, stream, url, o, body, reply);
      stream.socket().shutdown(asio::ip::tcp::socket::shutdown_both, ec);
      return a;
    }
    asio::ssl::context ctx(asio::ssl::context::tls_client);
    ctx.set_default_verify_paths();
    ctx.set_verify_mode(asio::ssl::verify_peer);
    beast::ssl_stream<beast::tcp_stream> stream(io, ctx);
    if (!SSL_set_tlsext_host_name(stream.native_handle(), url.host.c_str()))
      return {false, false, "TLS: cannot set the server name"};
    stream.set_verify_callback(asio::ssl::host_name_verification(url.host));
    beast::get_lowest_layer(stream).expires_after(connect_timeout);
    ec = run_op(io, [&](auto h) { beast::get_lowest_layer(stream).async_connect(results, std::move(h)); });
    if (ec) return {false, true, "cannot connect to " + url.host + ":" + url.port + ": " + ec.message()};
    ec = run_op(io, [&](auto h) { stream.async_handshake(asio::ssl::stream_base::client, std::move(h)); });
    if (ec) return {false, false, "TLS handshake with " + url.host + ": " + ec.message()};
    Attempt a = exchange(io, stream, beast::get_lowest_layer(stream), url, o, body, reply);
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(2));
    run_op(io, [&](auto h) { stream.async_shutdown(std::move(h)); });
    return a;
  } catch (const std::exception& e) {
    return {false, true, e.what()};
  }
}

}  // namespace

std::optional<ParsedUrl> parse_endpoint(const std::string& url, std::string* error) {
  ParsedUrl u;
  std::string rest;
  if (url.rfind("http://", 0) == 0) {
    rest = url.substr(7);
  } else if (url.rfind("https://", 0) == 0) {
    u.tls = true;
    rest = url.substr(8);
  } else {
    *error = "endpoint '" + url + "': expected http://HOST[:PORT][/PATH] or https://...";
    return std::nullopt;
  }
  const size_t slash = rest.find('/');
  std::string authority = rest.substr(0, slash);
  std::string path = slash == std::string::npos ? "" : rest.substr(slash);
  if (authority.empty()) {
    *error = "endpoint '" + url + "': no host";
    return std::nullopt;
  }
  const size_t colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(']') == std::string::npos) {
    u.host = authority.substr(0, colon);
    u.port = authority.substr(colon + 1);
    if (u.port.empty() || u.port.find_first_not_of("0123456789") != std::string::npos || u.port.size() > 5) {
      *error = "endpoint '" + url + "': bad port '" + u.port + "'";
      return std::nullopt;
    }
  } else {
    u.host = authority;
    u.port = u.tls ? "443" : "80";
  }
  while (!path.empty() && path.back() == '/') path.pop_back();
  const std::string tail = "/chat/completions";
  if (path.size() >= tail.size() && path.compare(path.size() - tail.size(), tail.size(), tail) == 0) {
    u.target = path;
  } else if (path.size() >= 3 && path.compare(path.size() - 3, 3, "/v1") == 0) {
    u.target = path + tail;
  } else {
    u.target = path + "/v1" + tail;
  }
  return u;
}

std::string chat_request_body(const ChatRequest& request, const std::string& model_name, bool stream) {
  nlohmann::json messages = nlohmann::json::array();
  for (const ChatTurn& turn : request.messages) {
    nlohmann::json m = {{"role", turn.role}};
    if (turn.content.size() == 1 && !turn.content[0].image) {
      m["content"] = turn.content[0].text;
    } else {
      nlohmann::json parts = nlohmann::json::array();
      for (const ChatContent& c : turn.content) {
        if (c.image) {
          parts.push_back({{"type", "image_url"}, {"image_url", {{"url", png_data_url(*c.image)}}}});
        } else {
          parts.push_back({{"type", "text"}, {"text", c.text}});
        }
      }
      m["content"] = parts;
    }
    messages.push_back(m);
  }
  nlohmann::json body = {{"model", model_name}, {"messages", messages}, {"max_tokens", request.max_tokens},
                         {"temperature", request.sampling.temperature}, {"stream", stream}};
  const engine::SamplingParams& s = request.sampling;
  if (s.top_p < 1.0) body["top_p"] = s.top_p;
  if (s.top_k > 0) body["top_k"] = s.top_k;
  if (s.frequency_penalty != 0) body["frequency_penalty"] = s.frequency_penalty;
  if (s.presence_penalty != 0) body["presence_penalty"] = s.presence_penalty;
  if (s.repetition_penalty != 1.0) body["repetition_penalty"] = s.repetition_penalty;
  if (s.seed != 0) body["seed"] = s.seed;
  if (!request.stop.empty()) body["stop"] = request.stop;
  if (stream) body["stream_options"] = {{"include_usage", true}};
  return body.dump();
}

std::unique_ptr<HttpChatModel> HttpChatModel::create(HttpChatOptions options, std::string* error) {
  auto url = parse_endpoint(options.endpoint, error);
  if (!url) return nullptr;
  if (options.model_name.empty()) {
    *error = "the endpoint needs a model name (as the server lists it in /v1/models)";
    return nullptr;
  }
  return std::unique_ptr<HttpChatModel>(new HttpChatModel(std::move(options), std::move(*url)));
}

bool HttpChatModel::complete(const ChatRequest& request, ChatReply* reply, std::string* error) {
  const auto t0 = std::chrono::steady_clock::now();
  const std::string body = chat_request_body(request, options_.model_name, options_.stream);
  double backoff = options_.backoff_s;
  Attempt a;
  for (int attempt = 0; attempt <= options_.retries; ++attempt) {
    if (attempt > 0) {
      std::this_thread::sleep_for(std::chrono::duration<double>(backoff));
      backoff *= 2;
    }
    *reply = ChatReply();
    a = attempt_once(url_, options_, body, reply);
    if (a.ok || !a.retry) break;
  }
  if (!a.ok) {
    *error = options_.endpoint + ": " + a.error;
    return false;
  }
  reply->ms = base::ms_since(t0);
  return true;
}

}  // namespace deskpilot::policies
