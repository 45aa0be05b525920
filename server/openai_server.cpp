#include "server/openai_server.h"

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <deque>
#include <filesystem>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/clock.h"
#include "base/run_op.h"
#include "base/text.h"
#include "server/beast_request.h"
#include "server/router.h"

namespace deskpilot::server {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = asio::ip::tcp;

std::chrono::milliseconds ms(double seconds) { return std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)); }

// Where a connection is, for making room: only an idle one (waiting for
// the first byte of its next request) may be closed by the acceptor.
enum Phase : int { kIdle, kReading, kBusy, kEvicted };

// One connection: its socket lives on its own io_context, run by its thread.
struct Connection {
  asio::io_context io;
  beast::tcp_stream stream{io};
  std::string client;              // the remote address
  bool health_only = false;        // admitted beyond max_connections: GET /health or 503
  std::atomic<int> phase{kIdle};
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

// True when the client closed its end or reset the connection. A peek, so
// that a pipelined next request stays where it is.
bool peer_gone(Connection& c) {
  char b;
  const ssize_t n = ::recv(c.stream.socket().native_handle(), &b, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;
  if (n == 0) return true;
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

// Runs one read under a deadline that, unlike Beast's own expiry (which
// closes the socket), leaves the connection open to answer 408.
template <typename Start>
beast::error_code read_within(Connection& c, std::chrono::milliseconds limit, bool* timed_out, Start&& start) {
  asio::steady_timer timer(c.io, limit);
  *timed_out = false;
  timer.async_wait([&](beast::error_code ec) {
    if (ec) return;
    *timed_out = true;
    beast::error_code ignored;
    c.stream.socket().cancel(ignored);
  });
  c.stream.expires_never();
  return base::run_op(c.io, [&](auto handler) {
    start([&timer, h = std::move(handler)](beast::error_code ec, auto&&... rest) mutable {
      timer.cancel();  // so that run_op's io.run() returns now
      h(ec, rest...);
    });
  });
}

bool ordinary_end(const beast::error_code& ec) {
  return ec == http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::connection_reset ||
         ec == asio::error::eof || ec == asio::error::operation_aborted || ec == asio::error::bad_descriptor ||
         ec == http::error::partial_message;
}

}  // namespace

struct OpenAiServer::Impl {
  const engine::Model& model;
  ServerOptions options;
  std::string model_name;
  std::unique_ptr<engine::BatchScheduler> scheduler;
  std::unique_ptr<Router> router;
  asio::io_context io;
  tcp::acceptor acceptor{io};
  std::thread accept_thread;
  std::mutex connections_mutex;
  std::list<std::unique_ptr<Connection>> live;  // finished ones are joined at the next accept and at stop
  std::map<std::string, int> per_client;        // live connections by remote address
  int regular = 0, health_only = 0;             // live connections of each kind
  std::atomic<bool> stopping{false};
  std::atomic<int64_t> next_id{1};
  int port = 0;

  Impl(const engine::Model& m, ServerOptions o) : model(m), options(std::move(o)) {}

  void log(const std::string& method, const std::string& target, unsigned status, double ms, const std::string& note) {
    if (!options.log_requests) return;
    std::fprintf(stderr, "deskpilot serve: %s %s -> %u (%.0f ms)%s%s\n", base::printable(method, 16).c_str(),
                 base::printable(target, 120).c_str(), status, ms, note.empty() ? "" : " ",
                 base::printable(note, 300).c_str());
  }

  // Joins the threads of connections that ended. Under connections_mutex.
  void reap() {
    for (auto it = live.begin(); it != live.end();) {
      if ((*it)->finished) {
        (*it)->thread.join();
        if (--per_client[(*it)->client] == 0) per_client.erase((*it)->client);
        --((*it)->health_only ? health_only : regular);
        it = live.erase(it);
      } else {
        ++it;
      }
    }
  }

  // Closes one idle keep-alive connection to make room. Under connections_mutex.
  bool evict_idle() {
    for (auto& c : live) {
      int idle = kIdle;
      if (!c->health_only && c->phase.compare_exchange_strong(idle, kEvicted)) {
        asio::post(c->io, [conn = c.get()] { conn->stream.cancel(); });
        return true;
      }
    }
    return false;
  }

  // A short refusal on the accept thread (small enough for the socket's buffer).
  void refuse(Connection& c, const std::string& why) {
    send_json(c, 503, api_error(503, "server_error", why + "; try again later").json(), false, 2);
    log("-", "(connection from " + c.client + ")", 503, 0, why);
    beast::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  }

  void accept_next() {
    auto conn = std::make_unique<Connection>();
    Connection* c = conn.get();
    acceptor.async_accept(c->io, [this, conn = std::move(conn)](beast::error_code ec, tcp::socket socket) mutable {
      if (ec || stopping) return;
      conn->stream.socket() = std::move(socket);
      beast::error_code ignored;
      // Each streamed token is a small write: without this, Nagle's
      // algorithm holds it until the client acknowledges the previous one,
      // which a delayed ACK can make 40 ms or more per token.
      conn->stream.socket().set_option(tcp::no_delay(true), ignored);
      const auto remote = conn->stream.socket().remote_endpoint(ignored);
      conn->client = ignored ? std::string("?") : remote.address().to_string();
      {
        std::lock_guard<std::mutex> lock(connections_mutex);
        reap();
        bool admit = true;
        if (per_client[conn->client] >= options.max_connections_per_client) {
          refuse(*conn, "too many connections from " + conn->client + " (" +
                            std::to_string(options.max_connections_per_client) + ")");
          admit = false;
        } else if (regular >= options.max_connections && !evict_idle()) {
          if (health_only < options.health_reserve) {
            conn->health_only = true;
          } else {
            refuse(*conn, "too many connections (" + std::to_string(options.max_connections) + ")");
            admit = false;
          }
        }
        if (per_client[conn->client] == 0 && !admit) per_client.erase(conn->client);
        if (admit) {
          ++per_client[conn->client];
          ++(conn->health_only ? health_only : regular);
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

  bool send_json(Connection& c, int status, const std::string& body, bool keep_alive, double timeout_s = 30) {
    http::response<http::string_body> res{static_cast<http::status>(status), 11};
    res.set(http::field::server, "deskpilot");
    res.set(http::field::content_type, "application/json");
    res.body() = body;
    res.keep_alive(keep_alive);
    res.prepare_payload();
    c.stream.expires_after(ms(timeout_s));
    return !base::run_op(c.io, [&](auto handler) { http::async_write(c.stream, res, std::move(handler)); });
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
    try {
      serve_requests(c);
    } catch (const std::exception& e) {  // nothing a client sends may end the server
      log("-", "(connection from " + c.client + ")", 500, 0, std::string("internal error: ") + e.what());
    }
    beast::error_code ignored;
    c.stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
    c.stream.socket().close(ignored);
  }

  // Reads one request under the deadlines. nullopt: close the connection
  // (after answering what deserves an answer).
  std::optional<HttpRequest> read_request(Connection& c, beast::flat_buffer& buffer) {
    const double header_s = c.health_only ? std::min(2.0, options.header_timeout_s) : options.header_timeout_s;
    if (buffer.size() == 0) {  // idle until the first byte
      c.phase = kIdle;
      c.stream.expires_after(ms(c.health_only ? header_s : options.idle_timeout_s));
      beast::error_code ec;
      size_t n = 0;
      ec = base::run_op(c.io, [&](auto handler) {
        c.stream.async_read_some(buffer.prepare(4096), [&n, h = std::move(handler)](beast::error_code e, size_t got) mutable {
          n = got;
          h(e, got);
        });
      });
      if (ec) return std::nullopt;
      buffer.commit(n);
      int idle = kIdle;
      if (!c.phase.compare_exchange_strong(idle, kReading)) return std::nullopt;  // evicted meanwhile
    } else {
      c.phase = kReading;  // a pipelined request is already here
    }
    http::request_parser<http::string_body> parser;
    parser.body_limit(static_cast<uint64_t>(options.limits.max_body_bytes));
    parser.header_limit(64 * 1024);
    bool late = false;
    beast::error_code ec = read_within(c, ms(header_s), &late, [&](auto handler) {
      http::async_read_header(c.stream, buffer, parser, std::move(handler));
    });
    if (!ec && !parser.is_done()) {
      ec = read_within(c, ms(options.body_timeout_s), &late,
                       [&](auto handler) { http::async_read(c.stream, buffer, parser, std::move(handler)); });
    }
    if (ec == http::error::body_limit) {
      const ApiError e = api_error(413, "invalid_request_error", "the body is over the limit of " +
                                                                     std::to_string(options.limits.max_body_bytes) +
                                                                     " bytes");
      send_json(c, e.status, e.json(), false);
      log(std::string(parser.get().method_string()), std::string(parser.get().target()), 413, 0, e.message);
      linger(c);
      return std::nullopt;
    }
    if (late) {
      const ApiError e = api_error(408, "invalid_request_error", "the request did not arrive in time");
      send_json(c, e.status, e.json(), false, 2);
      log("-", "(connection from " + c.client + ")", 408, 0, e.message);
      linger(c);  // at most 2 s more, so that the answer is read before the close
      return std::nullopt;
    }
    if (ordinary_end(ec)) return std::nullopt;
    if (ec) {
      const ApiError e = api_error(400, "invalid_request_error", "malformed HTTP request: " + ec.message());
      send_json(c, e.status, e.json(), false, 2);
      log("-", "(connection from " + c.client + ")", 400, 0, e.message);
      linger(c);
      return std::nullopt;
    }
    return to_http_request(parser.release());
  }

  void serve_requests(Connection& c) {
    beast::flat_buffer buffer;
    while (!stopping) {
      std::optional<HttpRequest> req = read_request(c, buffer);
      if (!req) return;
      c.phase = kBusy;
      const auto t0 = base::Clock::now();
      const std::string path = req->target.substr(0, req->target.find('?'));
      if (c.health_only && path != "/health") {
        const ApiError e =
            api_error(503, "server_error", "too many connections (" + std::to_string(options.max_connections) +
                                               "); try again later");
        send_json(c, e.status, e.json(), false, 2);
        log(req->method, req->target, 503, base::ms_since(t0), e.message);
        return;
      }
      std::variant<Reply, Generation> routed = router->route(*req);
      const bool keep = req->keep_alive && !c.health_only;
      if (auto* reply = std::get_if<Reply>(&routed)) {
        if (reply->status >= 400) log(req->method, req->target, static_cast<unsigned>(reply->status), base::ms_since(t0), reply->note);
        if (!send_json(c, reply->status, reply->body, keep)) return;
      } else if (!generate(c, *req, std::get<Generation>(routed), keep, t0)) {
        return;
      }
      if (!keep) return;
    }
  }

  // The answer, whole or as server-sent events; false: close the connection.
  bool generate(Connection& c, const HttpRequest& hr, Generation& g, bool keep, base::Clock::time_point t0) {
    const ChatCompletionRequest& r = g.request;
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
    const int64_t prompt_tokens = g.prompt_tokens;
    if (!scheduler->submit(std::move(g.prompt), r.options, cb, cancelled, &err)) {
      const ApiError e = api_error(503, "server_error", err);
      log(hr.method, hr.target, 503, base::ms_since(t0), err);
      return send_json(c, e.status, e.json(), keep);
    }
    const std::string id = "chatcmpl-" + std::to_string(next_id++);
    const int64_t created = base::unix_seconds();
    // Waits for text or the end, watching the client: one that went away
    // frees its place in the batch (the scheduler polls `cancelled`).
    const auto wait = [&](std::deque<std::string>* pieces) {
      std::unique_lock<std::mutex> lock(channel->m);
      while (!channel->done && channel->pieces.empty()) {
        if (channel->cv.wait_for(lock, std::chrono::milliseconds(50)) == std::cv_status::timeout && !cancelled->load() &&
            peer_gone(c))
          cancelled->store(true);
      }
      if (pieces) pieces->swap(channel->pieces);
      return channel->done;
    };

    if (!r.stream) {
      while (!wait(nullptr)) {
      }
      if (cancelled->load()) {
        log(hr.method, hr.target, 499, base::ms_since(t0), "the client went away; generation stopped");
        return false;
      }
      if (!channel->result) {
        const ApiError e = api_error(500, "server_error", channel->error);
        log(hr.method, hr.target, 500, base::ms_since(t0), e.message);
        return send_json(c, e.status, e.json(), keep);
      }
      log(hr.method, hr.target, 200, base::ms_since(t0),
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
      const bool done = wait(&pieces);
      for (const std::string& p : pieces) event(chunk_json(id, created, model_name, nullptr, &p, nullptr));
      if (ec) cancelled->store(true);  // the client went away
      if (done) break;
    }
    if (channel->result) {
      event(chunk_json(id, created, model_name, nullptr, nullptr, &channel->result->finish_reason));
      if (r.include_usage) event(usage_chunk_json(id, created, model_name, *channel->result));
    } else {
      event(api_error(500, "server_error", channel->error).json());
    }
    event("[DONE]");
    if (!ec) {
      c.stream.expires_after(std::chrono::seconds(30));
      ec = base::run_op(c.io, [&](auto handler) { asio::async_write(c.stream, http::make_chunk_last(), std::move(handler)); });
    }
    log(hr.method, hr.target, cancelled->load() ? 499 : 200, base::ms_since(t0),
        "stream" + std::string(channel->result ? ", " + std::to_string(channel->result->generated_ids.size()) + " tokens"
                                               : ": " + channel->error));
    return !ec && !cancelled->load();
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
  Impl* raw = impl.get();
  impl->router = std::make_unique<Router>(model, impl->options, impl->model_name, [raw] { return raw->scheduler->stats(); });
  impl->accept_next();
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
