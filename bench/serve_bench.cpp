// Load test of the OpenAI-compatible server on loopback: N clients (the real
// HTTP chat model of policies/, half of them streaming) send chat requests
// for a bounded time while one more client sends malformed and oversized
// bodies, which must all get 4xx while the others are served. Run twice in
// the same process: with continuous batching (--max-batch B) and, as the
// reference, one request at a time (max batch 1). Prints one line per run:
//   serve max_batch=B clients=N seconds=S requests=R rps=... tokens_per_s=...
//        p50_ms=... p99_ms=... errors=0 bad_4xx=K/K mean_batch=... peak_rss_mb=...
// and the ratio of the two throughputs.
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "base/clock.h"
#include "server/openai_server.h"
#include "policies/http_chat_model.h"

namespace {

namespace beast = boost::beast;
namespace http = beast::http;
using tcp = boost::asio::ip::tcp;
using namespace deskpilot;
using clock_type = deskpilot::base::Clock;

double rss_mb() {
  std::ifstream in("/proc/self/status");
  for (std::string line; std::getline(in, line);)
    if (line.rfind("VmRSS:", 0) == 0) return std::stod(line.substr(6)) / 1024.0;
  return 0;
}

unsigned raw_status(int port, const std::string& body) {
  try {
    boost::asio::io_context io;
    tcp::socket socket(io);
    socket.connect(tcp::endpoint(boost::asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
    http::request<http::string_body> req{http::verb::post, "/v1/chat/completions", 11};
    req.set(http::field::host, "127.0.0.1");
    req.body() = body;
    req.prepare_payload();
    http::write(socket, req);
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(socket, buffer, res);
    return res.result_int();
  } catch (...) {
    return 0;
  }
}

struct RunResult {
  int64_t requests = 0, errors = 0, tokens = 0, bad_sent = 0, bad_4xx = 0;
  double seconds = 0, p50 = 0, p99 = 0, peak_rss = 0, mean_batch = 0;
  double prefill_s = 0, decode_s = 0, sample_s = 0, step_ms = 0;  // where the scheduler's time went
  std::string first_error;
};

RunResult run(const engine::Model& model, int max_batch, int clients, double seconds, int max_tokens) {
  server::ServerOptions o;
  o.port = 0;
  o.log_requests = false;
  o.batch.max_batch = max_batch;
  o.limits.max_body_bytes = 1 << 20;
  std::string error;
  auto server = server::OpenAiServer::start(model, o, &error);
  if (!server) {
    std::fprintf(stderr, "serve_bench: %s\n", error.c_str());
    std::exit(1);
  }
  RunResult r;
  std::mutex m;
  std::vector<double> latencies;
  std::atomic<bool> done{false};
  const auto start = clock_type::now();
  const auto deadline = start + std::chrono::duration<double>(seconds);
  std::vector<std::thread> threads;
  for (int c = 0; c < clients; ++c) {
    threads.emplace_back([&, c] {
      policies::HttpChatOptions h;
      h.endpoint = "http://127.0.0.1:" + std::to_string(server->port()) + "/v1";
      h.model_name = server->model_name();
      h.stream = c % 2 == 0;
      h.retries = 0;
      std::string e;
      auto client = policies::HttpChatModel::create(h, &e);
      for (int i = 0; clock_type::now() < deadline; ++i) {
        policies::ChatRequest req;
        req.messages.push_back({"user", {{"Client " + std::to_string(c) + " asks question " + std::to_string(i) +
                                              ": what should the agent click next on this screen?",
                                          nullptr}}});
        req.max_tokens = max_tokens;
        req.sampling.temperature = 0.7;
        req.sampling.seed = static_cast<uint64_t>(c * 1000 + i + 1);
        policies::ChatReply reply;
        const auto t0 = clock_type::now();
        const bool ok = client->complete(req, &reply, &e);
        const double ms = deskpilot::base::ms_since(t0);
        std::lock_guard<std::mutex> lock(m);
        if (ok) {
          ++r.requests;
          r.tokens += reply.completion_tokens;
          latencies.push_back(ms);
        } else {
          ++r.errors;
          if (r.first_error.empty()) r.first_error = e;
        }
      }
    });
  }
  // The bad client: malformed JSON, an oversized body, a bad parameter.
  threads.emplace_back([&] {
    const std::string big((1 << 20) + 1000, 'x');
    for (int i = 0; clock_type::now() < deadline; ++i) {
      const std::string body = i % 3 == 0 ? "{not json" : i % 3 == 1 ? big : R"({"messages": [], "temperature": 7})";
      const unsigned status = raw_status(server->port(), body);
      std::lock_guard<std::mutex> lock(m);
      ++r.bad_sent;
      if (status >= 400 && status < 500) ++r.bad_4xx;
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  });
  std::thread monitor([&] {
    while (!done) {
      const double mb = rss_mb();
      {
        std::lock_guard<std::mutex> lock(m);
        r.peak_rss = std::max(r.peak_rss, mb);
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
  });
  for (auto& t : threads) t.join();
  r.seconds = deskpilot::base::seconds_since(start);
  done = true;
  monitor.join();
  const engine::BatchStats st = server->stats();
  r.mean_batch = st.decode_steps ? static_cast<double>(st.decoded_rows) / st.decode_steps : 0;
  r.prefill_s = st.prefill_ms / 1000;
  r.decode_s = st.decode_ms / 1000;
  r.sample_s = st.sample_ms / 1000;
  r.step_ms = st.decode_steps ? st.decode_ms / st.decode_steps : 0;
  server->stop();
  std::sort(latencies.begin(), latencies.end());
  if (!latencies.empty()) {
    r.p50 = latencies[latencies.size() / 2];
    r.p99 = latencies[std::min(latencies.size() - 1, latencies.size() * 99 / 100)];
  }
  return r;
}

void print(int max_batch, int clients, const RunResult& r) {
  std::printf(
      "serve max_batch=%d clients=%d seconds=%.1f requests=%lld rps=%.2f tokens_per_s=%.1f p50_ms=%.0f p99_ms=%.0f "
      "errors=%lld bad_4xx=%lld/%lld mean_batch=%.2f peak_rss_mb=%.0f prefill_s=%.1f decode_s=%.1f sample_s=%.1f "
      "step_ms=%.1f\n",
      max_batch, clients, r.seconds, static_cast<long long>(r.requests), r.requests / r.seconds, r.tokens / r.seconds,
      r.p50, r.p99, static_cast<long long>(r.errors), static_cast<long long>(r.bad_4xx),
      static_cast<long long>(r.bad_sent), r.mean_batch, r.peak_rss, r.prefill_s, r.decode_s, r.sample_s, r.step_ms);
  if (!r.first_error.empty()) std::printf("  first error: %s\n", r.first_error.c_str());
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 2) {
    std::fprintf(stderr, "usage: bench_serve MODEL_DIR [clients=8] [seconds=20] [max_tokens=32] [max_batch=8]\n");
    return 2;
  }
  const int clients = argc > 2 ? std::atoi(argv[2]) : 8;
  const double seconds = argc > 3 ? std::atof(argv[3]) : 20;
  const int max_tokens = argc > 4 ? std::atoi(argv[4]) : 32;
  const int max_batch = argc > 5 ? std::atoi(argv[5]) : 8;
  std::string error;
  auto model = engine::Model::load(argv[1], &error);
  if (!model) {
    std::fprintf(stderr, "bench_serve: %s\n", error.c_str());
    return 1;
  }
  const RunResult batched = run(*model, max_batch, clients, seconds, max_tokens);
  print(max_batch, clients, batched);
  const RunResult serial = run(*model, 1, clients, seconds, max_tokens);
  print(1, clients, serial);
  std::printf("continuous batching: %.2fx the requests/s of one-at-a-time, p99 %.2fx; errors %lld; bad requests answered 4xx: %lld/%lld\n",
              (batched.requests / batched.seconds) / std::max(1e-9, serial.requests / serial.seconds),
              batched.p99 / std::max(1e-9, serial.p99), static_cast<long long>(batched.errors + serial.errors),
              static_cast<long long>(batched.bad_4xx + serial.bad_4xx),
              static_cast<long long>(batched.bad_sent + serial.bad_sent));
  return batched.errors + serial.errors == 0 && batched.bad_4xx == batched.bad_sent && serial.bad_4xx == serial.bad_sent
             ? 0
             : 1;
}
