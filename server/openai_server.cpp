#include "server/openai_server.h"

#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <list>
#include <mutex>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

#include "base/clock.h"
#include "base/run_op.h"
#include "multimodal/chat_prompt.h"

namespace deskpilot::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

// One connection: its socket lives on its own io_context, run by its thread.
struct Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  std::atomic<bool> finished{false};
  std::thread thread;
};

// What the scheduler thread hands to the connection thread of one request.
struct Channel {
  std::mutex m;
  std::condition_variable cv;
  std::deque<std::string> pieces;
  bool done = false;
  std::optional<engine::GenerateResult> result;
  std::string error;
};

}  // namespace

struct OpenAiServer::Impl {
  const engine::Model& model;
  ServerOptions options;
  std::string model_name;
  std::unique_ptr<engine::BatchScheduler> scheduler;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex connections_mutex;
  std::list<std::unique_ptr<Connection>> live;  // finished ones are joined at the next accept and at stop
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> next_id{1};
  int port = 0;

  Impl(const engine::Model& m, ServerOptions o) : model(m), options(std::move(o)) {}

  void log(const char* method, const std::string& target, unsigned status, double ms, const std::string& note) {
    if (!options.log_requests) return;
    std::fprintf(stderr, "deskpilot serve: %s %s -> %u (%.0f ms)%s%s\n", method, target.c_str(), status, ms,
                 note.empty() ? "" : " ", note.c_str());
  }

  // Joins the threads of connections that ended.
  void reap() {
    for (auto it = live.begin(); it != live.end();) {
      if ((*it)->finished) {
        (*it)->thread.join();
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }

  void accept_next() {
    auto conn = std::make_unique<Connection>();
    Connection* c = conn.get();
    acceptor.async_accept(c->io, [this, conn = std::move(conn)](beast::error_code ec, tcp::socket socket) mutable {
      if (ec || stopping) return;
      conn->stream.socket() = std::move(socket);
      {
        std::lock_guard<std::mutex> lock(connections_mutex);
        reap();
        if (static_cast<int>(live.size()) >= options.max_connections) {
          // Too many at once: a short 503 here, without a thread.
          ApiError e = error(503, "server_error", "too many connections (" + std::to_string(options.max_connections) +
                                                      "); try again later");
          send_error(*conn, e, false);
          beast::error_code ignored;
          conn->stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
        } else {
          Connection* raw = conn.get();
          live.push_back(std::move(conn));
          raw->thread = std::thread([this, raw] {
            serve_connection(*raw);
            raw->finished = true;
          });
        }
      }
      accept_next();
    });
  }

  bool send_json(Connection& c, unsigned status, const std::string& body, bool keep_alive) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "deskpilot");
    res.set(http::field::content_type, "application/json");
    res.body() = body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    c.stream.expires_after(std::chrono::seconds(30));
    return !base::run_op(c.io, [&](auto handler) { http::async_write(c.stream, res, std::move(handler)); });
  }

  bool send_error(Connection& c, const ApiError& e, bool keep_alive) {
    return send_json(c, static_cast<unsigned>(e.status), e.json(), keep_alive);
  }

  static ApiError error(int status, std::string type, std::string message, std::string code = "") {
    ApiError e;
    e.status = status;
    e.type = std::move(type);
    e.message = std::move(message);
    e.code = std::move(code);
    return e;
  }

  // After refusing a body unread: stop sending, then read and drop what the
  // client is still sending (for at most 2 s), so that closing does not
  // reset the connection before it has read our answer.
  void linger(Connection& c) {
    beast::error_code ec;
    c.stream.socket().shutdown(tcp::socket::shutdown_send, ec);
    c.stream.expires_after(std::chrono::seconds(2));
    std::vector<char> sink(64 * 1024);
    while (!ec) {
      ec = base::run_op(c.io, [&](auto handler) { c.stream.async_read_some(asio::buffer(sink), std::move(handler)); });
    }
  }

  void serve_connection(Connection& c) {
    beast::flat_buffer buffer;
    while (!stopping) {
      http::request_parser<http::string_body> parser;
      parser.body_limit(static_cast<uint64_t>(options.limits.max_body_bytes));
      parser.header_limit(64 * 1024);
      c.stream.expires_after(std::chrono::milliseconds(static_cast<int64_t>(options.idle_timeout_s * 1000)));
      const beast::error_code ec =
          base::run_op(c.io, [&](auto handler) { http::async_read(c.stream, buffer, parser, std::move(handler)); });
      if (ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
          ec == asio::error::eof || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor)
        break;
      if (ec == http::error::body_limit) {
        send_error(c,
                   error(413, "invalid_request_error",
                         "the body is over the limit of " + std::to_string(options.limits.max_body_bytes) + " bytes"),
                   false);
        log("POST", std::string(parser.get().target()), 413, 0, "");
        linger(c);
        break;
      }
      if (ec) {
        send_error(c, error(400, "invalid_request_error", "malformed HTTP request: " + ec.message()), false);
        break;
      }
      const http::request<http::string_body>& req = parser.get();
      if (!handle(c, req)) break;
      if (!req.keep_alive()) break;
    }
    beast::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.stream.socket().close(ignored);
  }

  // One request as the handlers see it: where it came from, for the log line.
  struct Request {
    Connection& c;
    const http::request<http::string_body>& req;
    std::string method, target, path;
    bool keep;
    base::Clock::time_point t0 = base::Clock::now();
    double ms() const { return base::ms_since(t0); }
  };

  // Every error reply: the log line, then the JSON error.
  bool reply_error(Request& r, const ApiError& e) {
    log(r.method.c_str(), r.target, static_cast<unsigned>(e.status), r.ms(), e.message);
    return send_error(r.c, e, r.keep);
  }

  // false: close the connection.
  bool handle(Connection& c, const http::request<http::string_body>& req) {
    const std::string target(req.target());
    Request r{c, req, std::string(req.method_string()), target, target.substr(0, target.find('?')), req.keep_alive()};
    if (r.path == "/health") return handle_health(r);
    if (r.path.rfind("/v1/", 0) == 0 && !options.api_key.empty() &&
        std::string(req[http::field::authorization]) != "Bearer " + options.api_key) {
      return reply_error(r, error(401, "authentication_error", "missing or wrong API key (Authorization: Bearer KEY)",
                                  "invalid_api_key"));
    }
    if (r.path == "/v1/models") return handle_models(r);
    if (r.path == "/v1/chat/completions") return handle_chat(r);
    return reply_error(r, error(404, "invalid_request_error", "no such endpoint: " + r.path, "not_found"));
  }

  bool handle_health(Request& r) {
    const engine::BatchStats s = scheduler->stats();
    nlohmann::json j = {{"status", "ok"},          {"model", model_name},
                        {"active", s.active},      {"queued", s.queued},
                        {"requests_done", s.requests_done}, {"decode_steps", s.decode_steps},
                        {"decoded_rows", s.decoded_rows},   {"max_batch_seen", s.max_batch_seen},
                        {"prefill_ms", s.prefill_ms},       {"decode_ms", s.decode_ms}};
    return send_json(r.c, 200, j.dump(), r.keep);
  }

  bool handle_models(Request& r) {
    if (r.req.method() != http::verb::get)
      return reply_error(r, error(405, "invalid_request_error", "use GET for /v1/models"));
    nlohmann::json j = {{"object", "list"},
                        {"data",
                         {{{"id", model_name},
                           {"object", "model"},
                           {"created", unix_now()},
                           {"owned_by", "deskpilot"},
                           {"root", model.dir()}}}}};
    return send_json(r.c, 200, j.dump(), r.keep);
  }

  bool handle_chat(Request& r) {
    if (r.req.method() != http::verb::post)
      return reply_error(r, error(405, "invalid_request_error", "use POST for /v1/chat/completions"));
    auto parsed = parse_chat_completion(r.req.body(), options.limits);
    if (auto* e = std::get_if<ApiError>(&parsed)) return reply_error(r, *e);
    ChatCompletionRequest& request = std::get<ChatCompletionRequest>(parsed);
    if (!request.model.empty() && request.model != model_name) {
      ApiError e = error(404, "invalid_request_error", "model '" + request.model +
                                                           "' is not served here; this server has '" + model_name + "'",
                         "model_not_found");
      e.param = "model";
      return reply_error(r, e);
    }
    std::string err;
    auto prompt = multimodal::build_chat_prompt(model, request.messages, &err);
    if (!prompt) return reply_error(r, error(400, "invalid_request_error", err));
    const auto prompt_tokens = static_cast<int64_t>(prompt->ids.size());
    if (prompt_tokens > options.limits.max_prompt_tokens ||
        prompt_tokens + request.options.max_tokens > model.lm().config().max_position_embeddings) {
      return reply_error(r, error(400, "invalid_request_error",
                                  "the prompt has " + std::to_string(prompt_tokens) + " tokens (with max_tokens " +
                                      std::to_string(request.options.max_tokens) + "); the limit is " +
                                      std::to_string(std::min(options.limits.max_prompt_tokens,
                                                              model.lm().config().max_position_embeddings)),
                                  "context_length_exceeded"));
    }
    return generate(r, request, std::move(*prompt), prompt_tokens);
  }

  // The answer, whole or as server-sent events.
  bool generate(Request& rq, const ChatCompletionRequest& r, engine::Prompt prompt, int64_t prompt_tokens) {
    Connection& c = rq.c;
    const bool keep = rq.keep;
    std::string err;
    auto channel = std::make_shared<Channel>();
    auto cancelled = std::make_shared<std::atomic<bool>>(false);
    engine::BatchCallbacks cb;
    if (r.stream) {
      cb.on_text = [channel](std::string_view t) {
        std::lock_guard<std::mutex> lock(channel->m);
        channel->pieces.emplace_back(t);
        channel->cv.notify_one();
      };
    }
    cb.on_done = [channel](const engine::GenerateResult* result, const std::string& e) {
      std::lock_guard<std::mutex> lock(channel->m);
      if (result) channel->result = *result;
      channel->error = e;
      channel->done = true;
      channel->cv.notify_one();
    };
    if (!scheduler->submit(std::move(prompt), r.options, cb, cancelled, &err)) {
      return reply_error(rq, error(503, "server_error", err));
    }
    const std::string id = "chatcmpl-" + std::to_string(next_id++);
    const int64_t created = unix_now();
    const auto wait_done = [&] {
      std::unique_lock<std::mutex> lock(channel->m);
      channel->cv.wait(lock, [&] { return channel->done; });
    };

    if (!r.stream) {
      wait_done();
      if (!channel->result) {
        return reply_error(rq, error(500, "server_error", channel->error));
      }
      log(rq.method.c_str(), rq.target, 200, rq.ms(),
          std::to_string(prompt_tokens) + "+" + std::to_string(channel->result->generated_ids.size()) + " tokens");
      return send_json(c, 200, completion_json(id, created, model_name, *channel->result), keep);
    }

    // Server-sent events over a chunked response.
    http::response<http::empty_body> res{http::status::ok, 11};
    res.set(http::field::server, "deskpilot");
    res.set(http::field::content_type, "text/event-stream");
    res.set(http::field::cache_control, "no-cache");
    res.keep_alive(keep);
    res.chunked(true);
    http::response_serializer<http::empty_body> sr{res};
    beast::error_code ec;
    c.stream.expires_after(std::chrono::seconds(30));
    ec = base::run_op(c.io, [&](auto handler) { http::async_write_header(c.stream, sr, std::move(handler)); });
    const auto event = [&](const std::string& data) {
      if (ec) return;
      const std::string line = "data: " + data + "\n\n";
      c.stream.expires_after(std::chrono::seconds(30));
      ec = base::run_op(c.io, [&](auto handler) {
        asio::async_write(c.stream, http::make_chunk(asio::buffer(line)), std::move(handler));
      });
    };
    const std::string role = "assistant", empty;
    event(chunk_json(id, created, model_name, &role, &empty, nullptr));
    while (true) {
      std::deque<std::string> pieces;
      bool done;
      {
        std::unique_lock<std::mutex> lock(channel->m);
        channel->cv.wait(lock, [&] { return channel->done || !channel->pieces.empty(); });
        pieces.swap(channel->pieces);
        done = channel->done;
      }
      for (const std::string& p : pieces) event(chunk_json(id, created, model_name, nullptr, &p, nullptr));
      if (ec) cancelled->store(true);  // the client went away: free its place in the batch
      if (done) break;
    }
    if (channel->result) {
      event(chunk_json(id, created, model_name, nullptr, nullptr, &channel->result->finish_reason));
      if (r.include_usage) event(usage_chunk_json(id, created, model_name, *channel->result));
    } else {
      event(error(500, "server_error", channel->error).json());
    }
    event("[DONE]");
    if (!ec) {
      c.stream.expires_after(std::chrono::seconds(30));
      ec = base::run_op(c.io, [&](auto handler) { asio::async_write(c.stream, http::make_chunk_last(), std::move(handler)); });
    }
    log(rq.method.c_str(), rq.target, 200, rq.ms(),
        "stream" + std::string(channel->result ? ", " + std::to_string(channel->result->generated_ids.size()) + " tokens"
                                               : ": " + channel->error));
    return !ec;
  }
};

OpenAiServer::OpenAiServer(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}

std::unique_ptr<OpenAiServer> OpenAiServer::start(const engine::Model& model, ServerOptions options, std::string* error) {
  auto impl = std::make_unique<Impl>(model, std::move(options));
  impl->model_name = impl->options.model_name.empty() ? std::filesystem::path(model.dir()).filename().string()
                                                      : impl->options.model_name;
  beast::error_code ec;
  const auto address = asio::ip::make_address(impl->options.host, ec);
  if (ec) {
    *error = "host '" + impl->options.host + "': " + ec.message();
    return nullptr;
  }
  const tcp::endpoint endpoint(address, static_cast<unsigned short>(impl->options.port));
  impl->acceptor.open(endpoint.protocol(), ec);
  if (!ec) impl->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) impl->acceptor.bind(endpoint, ec);
  if (!ec) impl->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) {
    *error = "cannot listen on " + impl->options.host + ":" + std::to_string(impl->options.port) + ": " + ec.message();
    return nullptr;
  }
  impl->port = impl->acceptor.local_endpoint().port();
  impl->scheduler = std::make_unique<engine::BatchScheduler>(model, impl->options.batch);
  impl->accept_next();
  Impl* raw = impl.get();
  impl->accept_thread = std::thread([raw] { raw->io.run(); });
  return std::unique_ptr<OpenAiServer>(new OpenAiServer(std::move(impl)));
}

OpenAiServer::~OpenAiServer() { stop(); }

int OpenAiServer::port() const { return impl_->port; }
const std::string& OpenAiServer::model_name() const { return impl_->model_name; }
engine::BatchStats OpenAiServer::stats() const { return impl_->scheduler->stats(); }

void OpenAiServer::stop() {
  if (!impl_ || impl_->stopping.exchange(true)) return;
  asio::post(impl_->io, [this] {
    beast::error_code ignored;
    impl_->acceptor.close(ignored);
  });
  impl_->accept_thread.join();
  // Connections end their request in flight; idle ones are waiting in a
  // read, which closing the socket (on the connection's own io_context) ends.
  std::list<std::unique_ptr<Connection>> live;
  {
    std::lock_guard<std::mutex> lock(impl_->connections_mutex);
    live.swap(impl_->live);
  }
  for (auto& c : live) {
    asio::post(c->io, [conn = c.get()] { conn->stream.cancel(); });
  }
  for (auto& c : live) c->thread.join();
  impl_->scheduler.reset();
}

}  // namespace deskpilot::server
