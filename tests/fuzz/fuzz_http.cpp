// libFuzzer target: any bytes as one HTTP request to `deskpilot serve`,
// through the request parser (Beast, under the server's limits) and the
// router (authentication, routes, content type, the chat request down to
// its prompt with a tiny checkpoint). Nothing may crash, hang, trip a
// sanitizer or answer 500; every refusal is JSON that says why; what is
// accepted fits the limits.
#include <cstdint>
#include <cstdlib>
#include <memory>
#include <string>
#include <string_view>
#include <variant>

#include <nlohmann/json.hpp>

#include "base/text.h"
#include "server/router.h"

using namespace deskpilot;

namespace {

struct Fixture {
  std::unique_ptr<engine::Model> model;
  server::ServerOptions open, keyed;
  std::unique_ptr<server::Router> open_router, keyed_router;
};

Fixture& fixture() {
  static Fixture* f = [] {
    auto* x = new Fixture;
    std::string error;
    x->model = engine::Model::load(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen25vl-untied", &error);
    if (!x->model) {
      std::fprintf(stderr, "fuzz_http: %s\n", error.c_str());
      std::abort();
    }
    for (server::ServerOptions* o : {&x->open, &x->keyed}) {
      o->limits.max_body_bytes = 64 << 10;
      o->limits.max_images = 2;
      o->limits.max_image_pixels = 256 * 256;
      o->limits.max_decoded_bytes = 128 * 128 * 3 * 2;
    }
    x->keyed.api_key = "k3y";
    x->open_router = std::make_unique<server::Router>(*x->model, x->open, "tiny", nullptr);
    x->keyed_router = std::make_unique<server::Router>(*x->model, x->keyed, "tiny", nullptr);
    return x;
  }();
  return *f;
}

void check(const std::variant<server::Reply, server::Generation>& routed, const server::ServerOptions& o) {
  if (const auto* reply = std::get_if<server::Reply>(&routed)) {
    if (reply->status >= 500) std::abort();  // a client's bytes are never the server's fault
    if (base::invalid_utf8_at(reply->body) != std::string_view::npos) std::abort();
    const auto j = nlohmann::json::parse(reply->body);  // throws (and so fails) when not JSON
    if (reply->status >= 400 && j["error"]["message"].get<std::string>().empty()) std::abort();
    return;
  }
  const auto& g = std::get<server::Generation>(routed);
  if (g.prompt_tokens <= 0 || g.prompt_tokens > o.limits.max_prompt_tokens) std::abort();
  if (g.request.images > o.limits.max_images) std::abort();
  for (const auto& m : g.request.messages)
    for (const auto& part : m.content)
      if (part.image && part.image->width * part.image->height * 3 > o.limits.max_decoded_bytes) std::abort();
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  Fixture& f = fixture();
  const std::string_view bytes(reinterpret_cast<const char*>(data), size);
  auto parsed = server::parse_http_request(bytes, f.open.limits);
  if (auto* e = std::get_if<server::ApiError>(&parsed)) {
    if (e->message.empty() || (e->status != 400 && e->status != 413)) std::abort();
    if (base::invalid_utf8_at(e->json()) != std::string_view::npos) std::abort();
    return 0;
  }
  const auto& request = std::get<server::HttpRequest>(parsed);
  if (request.body.size() > static_cast<size_t>(f.open.limits.max_body_bytes)) std::abort();
  check(f.open_router->route(request), f.open);
  check(f.keyed_router->route(request), f.keyed);
  return 0;
}
