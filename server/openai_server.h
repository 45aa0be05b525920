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
// synchronous Beast calls under deadlines (server_options.h: connections per
// client, idle/header/body timeouts, room kept for /health). What to answer
// is decided by the Router (router.h); this file moves the bytes, and
// cancels a request whose client goes away, streaming or not. Loopback by
// default; with an API key every path but /health needs
// "Authorization: Bearer KEY".
#pragma once

#include <memory>
#include <string>

#include "engine/batch_scheduler.h"
#include "engine/model.h"
#include "server/server_options.h"

namespace deskpilot::server {

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
