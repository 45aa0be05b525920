// `deskpilot serve`: an OpenAI-compatible HTTP server over Boost.Asio and
// Boost.Beast for one in-process model.
//
//   POST /v1/chat/completions  text and image_url (data:) parts, stream
//                              (server-sent events) or not, the usual
//                              sampling parameters; concurrent requests are
//                              decoded together (engine/batch_scheduler.h)
//   GET  /v1/models            the one model
//   GET  /health               {"status": "ok"} and the scheduler's counters
//
// One thread accepts; each connection is served by its own thread with
// synchronous Beast calls (keep-alive, read/write timeouts), at most
// max_connections at once (503 beyond). Limits on body size, images, pixels
// and tokens are answered with 4xx in OpenAI's error shape. Loopback by
// default; with an API key every /v1 request needs "Authorization: Bearer KEY".
#pragma once

#include <atomic>
#include <memory>
#include <string>

#include "engine/batch_scheduler.h"
#include "engine/model.h"
#include "server/openai_protocol.h"

namespace deskpilot::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;               // 0: any free port (see port())
  std::string api_key;           // empty: none needed
  std::string model_name;        // what /v1/models lists; empty: the folder name
  ServerLimits limits;
  engine::BatchOptions batch;
  int max_connections = 64;
  double idle_timeout_s = 60;    // a keep-alive connection with no request closes
  bool log_requests = true;      // one line per request on stderr
};

class OpenAiServer {
 public:
  // Binds and starts serving. nullptr and *error when the address is taken or invalid.
  static std::unique_ptr<OpenAiServer> start(const engine::Model& model, ServerOptions options, std::string* error);
  ~OpenAiServer();  // stop()

  int port() const;
  const std::string& model_name() const;
  // Stops accepting, lets the requests in flight end, joins every thread.
  void stop();
  engine::BatchStats stats() const;

 private:
  struct Impl;
  explicit OpenAiServer(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpilot::server
