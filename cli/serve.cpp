#include "cli/serve.h"
#include "cli/common.h"

#include <csignal>
#include <cstdio>
#include <iostream>

#include "engine/device.h"
#include "server/openai_server.h"

namespace deskpilot::cli {
namespace {

struct ServeOptions {
  std::string model_dir, mmproj, quantize;
  std::string device = "auto";
  server::ServerOptions server;
  int max_body_mb = 32;
  int max_decoded_mb = 192;
};

int serve(ServeOptions o) {
  std::string error;
  o.server.limits.max_body_bytes = static_cast<int64_t>(o.max_body_mb) << 20;
  o.server.limits.max_decoded_bytes = static_cast<int64_t>(o.max_decoded_mb) << 20;
  auto model = model_for_command(o.model_dir, o.device, o.mmproj, o.quantize);
  if (!model) return 2;
  // SIGINT/SIGTERM end the server after the requests in flight.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);  // before any thread starts: they inherit it
  auto server = server::OpenAiServer::start(*model, o.server, &error);
  if (!server) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::printf("deskpilot serve: %s on http://%s:%d/v1 (max batch %d, %s)\n", server->model_name().c_str(),
              o.server.host.c_str(), server->port(), o.server.batch.max_batch,
              engine::device_description(model->device()).c_str());
  std::fflush(stdout);
  int sig = 0;
  sigwait(&signals, &sig);
  std::fprintf(stderr, "deskpilot serve: %s, stopping\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
  server->stop();
  return 0;
}

}  // namespace

void add_serve_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<ServeOptions>();
  CLI::App* cmd = app.add_subcommand("serve", "Serve a model over an OpenAI-compatible HTTP API");
  cmd->add_option("--model", o->model_dir, "Checkpoint: a Hugging Face folder, or a GGUF file (or folder of them)")
      ->required();
  cmd->add_option("--mmproj", o->mmproj, "GGUF: the vision tower's mmproj file (default: the one beside --model)");
  cmd->add_option("--quantize", o->quantize, "Quantize the text weights on load: q8_0, q4_k_m, q5_k_m, q6_k, ...");
  cmd->add_option("--device", o->device, "cpu, cuda or auto (the GPU when there is one)")->capture_default_str();
  cmd->add_option("--host", o->server.host, "Address to listen on (loopback by default)")->capture_default_str();
  cmd->add_option("--port", o->server.port, "Port (0: any free one, printed)")->check(CLI::Range(0, 65535))
      ->capture_default_str();
  cmd->add_option("--api-key", o->server.api_key, "Require Authorization: Bearer KEY on every path but /health");
  cmd->add_option("--served-model-name", o->server.model_name, "Name in /v1/models (default: the folder name)");
  cmd->add_option("--max-batch", o->server.batch.max_batch, "Requests decoded together")
      ->check(CLI::Range(1, 256))->capture_default_str();
  cmd->add_option("--max-queue", o->server.batch.max_queue, "Requests waiting beyond the batch (503 above)")
      ->check(CLI::Range(0, 100000))->capture_default_str();
  cmd->add_option("--max-connections", o->server.max_connections, "Connections at once (503 above)")
      ->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--max-connections-per-client", o->server.max_connections_per_client,
                  "Connections at once from one address (503 above)")
      ->check(CLI::Range(1, 10000))->capture_default_str();
  cmd->add_option("--idle-timeout", o->server.idle_timeout_s, "Seconds a keep-alive connection waits for a request")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->add_option("--header-timeout", o->server.header_timeout_s,
                  "Seconds from a request's first byte to the end of its header (408 after)")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->add_option("--body-timeout", o->server.body_timeout_s, "Seconds for the body after the header (408 after)")
      ->check(CLI::Range(0.1, 3600.0))->capture_default_str();
  cmd->add_option("--max-body-mb", o->max_body_mb, "Request body limit in MiB (413 above)")
      ->check(CLI::Range(1, 4096))->capture_default_str();
  cmd->add_option("--max-images", o->server.limits.max_images, "Images per request")->capture_default_str();
  cmd->add_option("--max-image-pixels", o->server.limits.max_image_pixels, "Pixels per image, before decoding")
      ->capture_default_str();
  cmd->add_option("--max-decoded-mb", o->max_decoded_mb, "A request's images decoded, in MiB (from their headers)")
      ->check(CLI::Range(1, 65536))->capture_default_str();
  cmd->add_option("--max-prompt-tokens", o->server.limits.max_prompt_tokens, "Prompt tokens, images expanded")
      ->capture_default_str();
  cmd->add_option("--max-tokens-limit", o->server.limits.max_tokens, "Largest max_tokens a request may ask")
      ->capture_default_str();
  cmd->add_flag("--quiet", [o](int64_t) { o->server.log_requests = false; }, "No line per request on stderr");
  cmd->callback([o, exit_code] { *exit_code = serve(*o); });
}

}  // namespace deskpilot::cli
