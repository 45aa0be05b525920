// What `deskpilot serve` is told: where to listen, who may ask, and the
// limits that keep one client from taking the server from the others.
#pragma once

#include <string>

#include "engine/batch_scheduler.h"
#include "server/openai_protocol.h"

namespace deskpilot::server {

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8000;               // 0: any free port (see port())
  std::string api_key;           // empty: none needed; else every path but /health
  std::string model_name;        // what /v1/models lists; empty: the folder name
  ServerLimits limits;
  engine::BatchOptions batch;
  // Connections. A client (remote address) holds at most
  // max_connections_per_client of the max_connections; when all are taken,
  // an idle keep-alive connection is closed to make room, and beyond that
  // health_reserve more are admitted to answer GET /health only (503 for
  // anything else).
  int max_connections = 64;
  int max_connections_per_client = 32;
  int health_reserve = 4;
  // Deadlines that a slow or trickling client cannot stretch: a keep-alive
  // connection waits idle_timeout_s for its next request; once its first
  // byte is in, the header must be in within header_timeout_s and the body
  // within body_timeout_s after it.
  double idle_timeout_s = 60;
  double header_timeout_s = 10;
  double body_timeout_s = 30;
  bool log_requests = true;      // one line per request on stderr
};

}  // namespace deskpilot::server
