// `deskpilot serve` against hostile and careless clients, over real sockets
// on loopback: bytes that are not UTF-8, the key checked before the route,
// JSON bodies only, slow and trickling clients (from a second loopback
// address, 127.0.0.2), a full house that still answers /health, images
// refused from their headers before any pixel is decoded, and a client
// that hangs up on a non-streaming request freeing its place.
#include <gtest/gtest.h>

#include <chrono>
#include <thread>

#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/clock.h"
#include "server/openai_server.h"
#include "tests/golden_util.h"

namespace deskpilot::server {
namespace {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

const std::string kModel = deskpilot::testing::kGoldenDir + "models/qwen25vl-untied";

// A raw client socket from `from` (a loopback address).
struct RawClient {
  asio::io_context io;
  tcp::socket socket{io};
  RawClient(int port, const std::string& from = "127.0.0.1") {
    socket.open(tcp::v4());
    socket.bind(tcp::endpoint(asio::ip::make_address(from), 0));
    socket.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), static_cast<unsigned short>(port)));
  }
  void send(const std::string& bytes) {
    boost::system::error_code ec;
    asio::write(socket, asio::buffer(bytes), ec);
  }
  // Everything until the server closes (or `limit_s` passes).
  std::string read_all(double limit_s = 10) {
    std::string out;
    const auto t0 = base::Clock::now();
    socket.non_blocking(true);
    char buf[4096];
    while (base::seconds_since(t0) < limit_s) {
      boost::system::error_code ec;
      const size_t n = socket.read_some(asio::buffer(buf), ec);
      if (ec == asio::error::would_block) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
        continue;
      }
      if (ec) break;
      out.append(buf, n);
    }
    return out;
  }
};

unsigned status_of(const std::string& response) {
  return response.size() > 12 ? static_cast<unsigned>(std::stoi(response.substr(9, 3))) : 0;
}
nlohmann::json body_of(const std::string& response) {
  const size_t at = response.find("\r\n\r\n");
  return at == std::string::npos ? nlohmann::json() : nlohmann::json::parse(response.substr(at + 4));
}

std::string post(const std::string& body, const std::string& content_type = "application/json",
                 const std::string& extra = "") {
  return "POST /v1/chat/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Type: " + content_type +
         "\r\n" + extra + "Content-Length: " + std::to_string(body.size()) + "\r\n\r\n" + body;
}
std::string get(const std::string& target, const std::string& extra = "") {
  return "GET " + target + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n" + extra + "\r\n";
}
std::string exchange(int port, const std::string& request, const std::string& from = "127.0.0.1") {
  RawClient c(port, from);
  c.send(request);
  return c.read_all();
}

class Hardening : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string error;
    model_ = engine::Model::load(kModel, &error);
    ASSERT_NE(model_, nullptr) << error;
  }
  void start(ServerOptions o) {
    o.port = 0;
    o.log_requests = false;
    std::string error;
    server_ = OpenAiServer::start(*model_, o, &error);
    ASSERT_NE(server_, nullptr) << error;
  }
  int port() const { return server_->port(); }
  std::unique_ptr<engine::Model> model_;
  std::unique_ptr<OpenAiServer> server_;
};

TEST_F(Hardening, InvalidUtf8AnywhereGets4xxAndTheServerLives) {
  start({});
  std::string r = exchange(port(), get("/\xff\xfe"));
  EXPECT_EQ(status_of(r), 404u) << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("\\xff\\xfe"), std::string::npos) << r;
  r = exchange(port(), post("{\"messages\":[{\"role\":\"user\",\"content\":\"a\xff\"}]}"));
  EXPECT_EQ(status_of(r), 400u) << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("invalid UTF-8"), std::string::npos) << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("at byte 41"), std::string::npos) << r;
  // An overlong encoding and a lone surrogate (CESU) are not UTF-8 either.
  EXPECT_EQ(status_of(exchange(port(), post("{\"messages\":[{\"role\":\"user\",\"content\":\"\xc0\xaf\"}]}"))), 400u);
  EXPECT_EQ(status_of(exchange(port(), post("{\"messages\":[{\"role\":\"user\",\"content\":\"\xed\xa0\x80\"}]}"))), 400u);
  EXPECT_EQ(status_of(exchange(port(), get("/health"))), 200u);
}

TEST_F(Hardening, TheKeyIsCheckedBeforeTheRouteAndOnlyJsonIsTaken) {
  ServerOptions o;
  o.api_key = "sekrit";
  start(o);
  for (const std::string target : {"/nowhere", "/\xff", "/v1/models", "/v1/chat/completions"})
    EXPECT_EQ(status_of(exchange(port(), get(target))), 401u) << target;
  EXPECT_EQ(status_of(exchange(port(), get("/v1/models", "Authorization: Bearer sekriT\r\n"))), 401u);
  EXPECT_EQ(status_of(exchange(port(), get("/v1/models", "Authorization: Bearer sekrit2\r\n"))), 401u);
  const std::string r = exchange(port(), get("/v1/models", "Authorization: Bearer sekrit\r\n"));
  EXPECT_EQ(status_of(r), 200u);
  EXPECT_EQ(body_of(r)["data"][0]["root"], "qwen25vl-untied");  // the folder's name, not its path
  EXPECT_EQ(status_of(exchange(port(), get("/health"))), 200u);
  // What a web page can send cross-site without a preflight is refused.
  const std::string body = R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})";
  const std::string key = "Authorization: Bearer sekrit\r\n";
  for (const std::string type : {"text/plain", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x"})
    EXPECT_EQ(status_of(exchange(port(), post(body, type, key))), 415u) << type;
  EXPECT_EQ(status_of(exchange(port(), post(body, "application/json; charset=utf-8", key))), 200u);
  EXPECT_EQ(exchange(port(), post(body, "application/json", key)).find("Access-Control-Allow"), std::string::npos);
}

TEST_F(Hardening, TricklingClientsAreCutOffAndOthersAreServed) {
  ServerOptions o;
  o.max_connections = 8;
  o.max_connections_per_client = 3;
  o.header_timeout_s = 1;
  start(o);
  // Five slowloris connections from 127.0.0.2, each sending a byte of its
  // header every 100 ms: three are admitted, two refused at once.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 5; ++i) slow.push_back(std::make_unique<RawClient>(port(), "127.0.0.2"));
  const std::string header = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(200, 'a');
  std::atomic<bool> run{true};
  std::thread trickle([&] {
    for (size_t i = 0; run && i < header.size(); ++i) {
      for (auto& s : slow) s->send(std::string(1, header[i]));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  // Meanwhile an ordinary client is served.
  EXPECT_EQ(status_of(exchange(port(), get("/health"))), 200u);
  EXPECT_EQ(status_of(exchange(port(), post(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})"))), 200u);
  int refused = 0, cut_off = 0;
  const auto t0 = base::Clock::now();
  for (auto& s : slow) {
    const std::string r = s->read_all(5);
    if (status_of(r) == 503u) ++refused;
    if (status_of(r) == 408u) ++cut_off;
    if (status_of(r) != 408u && status_of(r) != 503u) ADD_FAILURE() << "got: " << r;
  }
  // Header deadline 1 s: the admitted ones are cut off although they keep sending.
  EXPECT_LT(base::seconds_since(t0), 4.0);
  run = false;
  trickle.join();
  EXPECT_EQ(refused, 2);
  EXPECT_EQ(cut_off, 3);
}

TEST_F(Hardening, AFullHouseClosesIdleConnectionsAndKeepsRoomForHealth) {
  ServerOptions o;
  o.max_connections = 3;
  o.health_reserve = 1;
  o.header_timeout_s = 5;
  start(o);
  // Three idle keep-alive connections (no byte sent): room is made by closing one.
  std::vector<std::unique_ptr<RawClient>> idle;
  for (int i = 0; i < 3; ++i) idle.push_back(std::make_unique<RawClient>(port(), "127.0.0." + std::to_string(2 + i)));
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  EXPECT_EQ(status_of(exchange(port(), post(R"({"messages":[{"role":"user","content":"hi"}],"max_tokens":2})"))), 200u);
  // Three connections in the middle of a header (not idle): only /health gets in.
  std::vector<std::unique_ptr<RawClient>> busy;
  for (int i = 0; i < 3; ++i) {
    busy.push_back(std::make_unique<RawClient>(port(), "127.0.1." + std::to_string(2 + i)));
    busy.back()->send("GET /health HTTP/1.1\r\n");
  }
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  std::string r = exchange(port(), get("/health"));
  EXPECT_EQ(status_of(r), 200u) << r;
  r = exchange(port(), get("/v1/models"));
  EXPECT_EQ(status_of(r), 503u) << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("too many connections"), std::string::npos);
}

// A PNG whose header claims width x height, with no pixel data after it:
// decoding it would fail, so an answer that is not "does not decode" shows
// that it was judged from its header alone.
std::string png_header_only(uint32_t width, uint32_t height) {
  std::string png = "\x89PNG\r\n\x1a\n";
  png += std::string("\x00\x00\x00\x0d", 4) + "IHDR";
  for (uint32_t v : {width, height})
    for (int s = 24; s >= 0; s -= 8) png.push_back(static_cast<char>((v >> s) & 0xff));
  png += std::string("\x08\x02\x00\x00\x00", 5) + std::string(4, '\0');  // 8-bit RGB; CRC not checked
  return png;
}

std::string image_request(int n, const std::string& png) {
  nlohmann::json content = nlohmann::json::array();
  for (int i = 0; i < n; ++i)
    content.push_back({{"type", "image_url"},
                       {"image_url", {{"url", "data:image/png;base64," + base::base64_encode(png)}}}});
  content.push_back({{"type", "text"}, {"text", "where?"}});
  return nlohmann::json({{"messages", {{{"role", "user"}, {"content", content}}}}, {"max_tokens", 2}}).dump();
}

TEST_F(Hardening, ImagesAreRefusedFromTheirHeadersBeforeDecoding) {
  ServerOptions o;
  o.limits.max_decoded_bytes = 3 * 1000 * 1000;
  start(o);
  // Eight 4096x4096 images: each resized to 980x980 (max_pixels 1003520), 35x35 = 1225 tokens, 9800 in all: over the context.
  std::string r = exchange(port(), post(image_request(8, png_header_only(4096, 4096))));
  EXPECT_EQ(status_of(r), 400u) << r;
  EXPECT_EQ(body_of(r)["error"]["code"], "context_length_exceeded") << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("the images alone take 9800 tokens"),
            std::string::npos)
      << r;
  // Two 1000x1000 images fit the context but not the decoded-bytes budget (3 MB).
  r = exchange(port(), post(image_request(2, png_header_only(1000, 1000))));
  EXPECT_EQ(status_of(r), 400u) << r;
  EXPECT_EQ(body_of(r)["error"]["code"], "image_too_large") << r;
  EXPECT_EQ(body_of(r)["error"]["param"], "messages[0].content[1].image_url.url") << r;
  // One of them fits both, so it is decoded, and then found to hold no pixels.
  r = exchange(port(), post(image_request(1, png_header_only(1000, 1000))));
  EXPECT_EQ(status_of(r), 400u) << r;
  EXPECT_NE(body_of(r)["error"]["message"].get<std::string>().find("does not decode"), std::string::npos) << r;
}

TEST_F(Hardening, AClientThatHangsUpOnAWholeAnswerFreesItsPlace) {
  start({});
  {
    RawClient c(port());
    c.send(post(R"({"messages":[{"role":"user","content":"go on"}],"max_tokens":3000,"temperature":0})"));
    const auto t0 = base::Clock::now();
    while (server_->stats().active == 0 && base::seconds_since(t0) < 10)
      std::this_thread::sleep_for(std::chrono::milliseconds(2));
    ASSERT_EQ(server_->stats().active, 1);
  }  // closed here, long before 3000 tokens
  const auto t0 = base::Clock::now();
  while (server_->stats().requests_cancelled == 0 && base::seconds_since(t0) < 10)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  const engine::BatchStats s = server_->stats();
  EXPECT_EQ(s.requests_cancelled, 1);
  EXPECT_EQ(s.active, 0);
  EXPECT_EQ(s.requests_done, 0);
}

}  // namespace
}  // namespace deskpilot::server
