#include "server/openai_protocol.h"

#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "multimodal/image_io.h"

namespace deskpilot::server {
namespace {

using json = nlohmann::json;
using engine::GenerateResult;
using engine::SamplingParams;

ApiError bad(std::string param, std::string message) {
  ApiError e;
  e.param = std::move(param);
  e.message = e.param.empty() ? message : e.param + ": " + message;
  return e;
}

const char* kind(const json& j) { return j.type_name(); }

// A number field within [lo, hi]; the error names it.
std::optional<ApiError> number(const json& body, const char* key, double lo, double hi, double* out) {
  if (!body.contains(key) || body[key].is_null()) return std::nullopt;
  const json& v = body[key];
  if (!v.is_number()) return bad(key, std::string("expected a number, got ") + kind(v));
  const double d = v.get<double>();
  if (d < lo || d > hi) return bad(key, "must be between " + json(lo).dump() + " and " + json(hi).dump());
  *out = d;
  return std::nullopt;
}

}  // namespace

std::string ApiError::json() const {
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", type},
                        {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                        {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
  return j.dump();
}

std::variant<ChatCompletionRequest, ApiError> parse_chat_completion(std::string_view text, const ServerLimits& limits) {
  json body;
  try {
    body = json::parse(text);
  } catch (const json::exception& e) {  // parse errors, and numbers out of range (1E999)
    return bad("", std::string("the body is not valid JSON: ") + e.what());
  }
  if (!body.is_object()) return bad("", std::string("expected a JSON object, got ") + kind(body));
  ChatCompletionRequest r;
  if (body.contains("model")) {
    if (!body["model"].is_string()) return bad("model", "expected a string");
    r.model = body["model"].get<std::string>();
  }
  if (!body.contains("messages")) return bad("messages", "required");
  const json& messages = body["messages"];
  if (!messages.is_array() || messages.empty()) return bad("messages", "expected a non-empty array");
  for (size_t m = 0; m < messages.size(); ++m) {
    const std::string where = "messages[" + std::to_string(m) + "]";
    const json& msg = messages[m];
    if (!msg.is_object()) return bad(where, std::string("expected an object, got ") + kind(msg));
    if (!msg.contains("role") || !msg["role"].is_string()) return bad(where + ".role", "expected a string");
    multimodal::ChatTurn turn;
    turn.role = msg["role"].get<std::string>();
    if (turn.role != "system" && turn.role != "user" && turn.role != "assistant")
      return bad(where + ".role", "expected system, user or assistant, got '" + turn.role + "'");
    const json content = msg.contains("content") ? msg["content"] : json(nullptr);
    if (content.is_string()) {
      turn.content.push_back({content.get<std::string>(), nullptr});
    } else if (content.is_array()) {
      for (size_t c = 0; c < content.size(); ++c) {
        const std::string pw = where + ".content[" + std::to_string(c) + "]";
        const json& part = content[c];
        if (!part.is_object() || !part.contains("type") || !part["type"].is_string())
          return bad(pw, "expected {\"type\": \"text\" | \"image_url\", ...}");
        const std::string type = part["type"].get<std::string>();
        if (type == "text") {
          if (!part.contains("text") || !part["text"].is_string()) return bad(pw + ".text", "expected a string");
          turn.content.push_back({part["text"].get<std::string>(), nullptr});
          continue;
        }
        if (type != "image_url") return bad(pw + ".type", "expected text or image_url, got '" + type + "'");
        if (++r.images > limits.max_images)
          return bad(pw, "more than " + std::to_string(limits.max_images) + " images in one request");
        std::string url;
        if (part.contains("image_url") && part["image_url"].is_object() && part["image_url"].contains("url") &&
            part["image_url"]["url"].is_string())
          url = part["image_url"]["url"].get<std::string>();
        else if (part.contains("image_url") && part["image_url"].is_string())
          url = part["image_url"].get<std::string>();
        else
          return bad(pw + ".image_url", "expected {\"url\": \"data:image/png;base64,...\"}");
        const size_t comma = url.find(',');
        if (url.rfind("data:", 0) != 0 || comma == std::string::npos ||
            url.substr(0, comma).find(";base64") == std::string::npos)
          return bad(pw + ".image_url.url", "only data:image/...;base64 URLs are accepted (the server fetches nothing)");
        auto bytes = base::base64_decode(std::string_view(url).substr(comma + 1));
        if (!bytes) return bad(pw + ".image_url.url", "the base64 data does not decode");
        std::string error;
        auto image = multimodal::decode_rgb_image(*bytes, limits.max_image_pixels, &error);
        if (!image) return bad(pw + ".image_url.url", error);
        turn.content.push_back({"", std::make_shared<const multimodal::RgbImage>(std::move(*image))});
      }
    } else if (!(content.is_null() && turn.role == "assistant")) {
      return bad(where + ".content", std::string("expected a string or an array of parts, got ") + kind(content));
    }
    r.messages.push_back(std::move(turn));
  }

  double d = static_cast<double>(limits.default_max_tokens);
  for (const char* key : {"max_tokens", "max_completion_tokens"})
    if (auto e = number(body, key, 1, static_cast<double>(limits.max_tokens), &d)) return *e;
  r.options.max_tokens = static_cast<int64_t>(d);
  // The sampling numbers: field, accepted range, default (OpenAI's or vLLM's).
  struct Field {
    const char* key;
    double lo, hi, fallback;
    double* out;
  };
  double temperature, top_p, top_k, frequency, presence, repetition, seed;
  const Field fields[] = {{"temperature", 0, 2, 1.0, &temperature},
                          {"top_p", 0, 1, 1.0, &top_p},
                          {"top_k", -1, 1e6, 0, &top_k},
                          {"frequency_penalty", -2, 2, 0, &frequency},
                          {"presence_penalty", -2, 2, 0, &presence},
                          {"repetition_penalty", 0.01, 10, 1, &repetition},
                          {"seed", -9.2e18, 9.2e18, 0, &seed}};
  for (const Field& f : fields) {
    *f.out = f.fallback;
    if (auto e = number(body, f.key, f.lo, f.hi, f.out)) return *e;
  }
  SamplingParams& s = r.options.sampling;
  s.temperature = temperature;
  s.top_p = top_p;
  s.top_k = top_k < 0 ? 0 : static_cast<int64_t>(top_k);  // vLLM: -1 means off
  s.frequency_penalty = frequency;
  s.presence_penalty = presence;
  s.repetition_penalty = repetition;
  s.seed = static_cast<uint64_t>(static_cast<int64_t>(seed));
  d = 1;
  if (auto e = number(body, "n", 1, 1, &d)) return *e;
  if (body.contains("stop") && !body["stop"].is_null()) {
    const json& stop = body["stop"];
    if (stop.is_string()) {
      r.options.stop.push_back(stop.get<std::string>());
    } else if (stop.is_array() && stop.size() <= 4) {
      for (const json& x : stop) {
        if (!x.is_string()) return bad("stop", "expected strings");
        r.options.stop.push_back(x.get<std::string>());
      }
    } else {
      return bad("stop", "expected a string or up to 4 strings");
    }
  }
  if (body.contains("stream") && !body["stream"].is_null()) {
    if (!body["stream"].is_boolean()) return bad("stream", "expected true or false");
    r.stream = body["stream"].get<bool>();
  }
  if (body.contains("stream_options") && body["stream_options"].is_object())
    r.include_usage = body["stream_options"].value("include_usage", false);
  return r;
}

namespace {

json usage(const GenerateResult& r) {
  const auto p = static_cast<int64_t>(r.prompt_ids.size()), c = static_cast<int64_t>(r.generated_ids.size());
  return {{"prompt_tokens", p}, {"completion_tokens", c}, {"total_tokens", p + c}};
}

}  // namespace

std::string completion_json(const std::string& id, int64_t created, const std::string& model,
                            const GenerateResult& result) {
  json j = {{"id", id},
            {"object", "chat.completion"},
            {"created", created},
            {"model", model},
            {"choices",
             {{{"index", 0},
               {"message", {{"role", "assistant"}, {"content", result.text}}},
               {"finish_reason", result.finish_reason}}}},
            {"usage", usage(result)}};
  return j.dump();
}

std::string chunk_json(const std::string& id, int64_t created, const std::string& model, const std::string* role,
                       const std::string* content, const std::string* finish_reason) {
  json delta = json::object();
  if (role) delta["role"] = *role;
  if (content) delta["content"] = *content;
  json j = {{"id", id},
            {"object", "chat.completion.chunk"},
            {"created", created},
            {"model", model},
            {"choices",
             {{{"index", 0},
               {"delta", delta},
               {"finish_reason", finish_reason ? json(*finish_reason) : json(nullptr)}}}}};
  return j.dump();
}

std::string usage_chunk_json(const std::string& id, int64_t created, const std::string& model,
                             const GenerateResult& result) {
  json j = {{"id", id},          {"object", "chat.completion.chunk"}, {"created", created},
            {"model", model},    {"choices", json::array()},          {"usage", usage(result)}};
  return j.dump();
}

}  // namespace deskpilot::server
