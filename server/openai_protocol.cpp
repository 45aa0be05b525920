#include "server/openai_protocol.h"

#include <nlohmann/json.hpp>

#include "base/base64.h"
#include "base/json_reader.h"
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

using base::json_kind;
using base::JsonNode;

// A number field within [lo, hi] (absent or null: left as it is).
void number(const JsonNode& body, const char* key, double lo, double hi, double* out) {
  if (!body.has(key)) return;
  const JsonNode v = body[key];
  const double d = v.number();
  if (d < lo || d > hi) v.fail("must be between " + json(lo).dump() + " and " + json(hi).dump());
  *out = d;
}

// One image part's data: URL, its base64 decoded and its header checked
// against the limits (its pixels are decoded later, see decode_images).
EncodedImage image_at(const JsonNode& part, const ServerLimits& limits) {
  const JsonNode image_url = part["image_url"];
  std::string url;
  if (image_url["url"].json().is_string())
    url = image_url["url"].string();
  else if (image_url.json().is_string())
    url = image_url.string();
  else
    image_url.fail("expected {\"url\": \"data:image/png;base64,...\"}");
  const JsonNode at(image_url.json(), image_url.path_of("url"));
  const size_t comma = url.find(',');
  if (url.rfind("data:", 0) != 0 || comma == std::string::npos ||
      url.substr(0, comma).find(";base64") == std::string::npos)
    at.fail("only data:image/...;base64 URLs are accepted (the server fetches nothing)");
  auto bytes = base::base64_decode(std::string_view(url).substr(comma + 1));
  if (!bytes) at.fail("the base64 data does not decode");
  const auto size = multimodal::image_header_size(*bytes);
  if (!size) at.fail("not a PNG or JPEG image");
  if (size->width <= 0 || size->height <= 0 || size->width * size->height > limits.max_image_pixels)
    at.fail("the image is " + std::to_string(size->width) + "x" + std::to_string(size->height) +
            ", over the limit of " + std::to_string(limits.max_image_pixels) + " pixels");
  EncodedImage image;
  image.param = at.path();
  image.bytes = std::move(*bytes);
  image.size = *size;
  return image;
}

multimodal::ChatTurn turn_at(const JsonNode& msg, const ServerLimits& limits, size_t m,
                             std::vector<EncodedImage>* images) {
  if (!msg.json().is_object()) msg.fail("expected an object, got " + json_kind(msg.json()));
  if (!msg["role"].json().is_string()) msg["role"].fail("expected a string");
  multimodal::ChatTurn turn;
  turn.role = msg["role"].string();
  if (turn.role != "system" && turn.role != "user" && turn.role != "assistant")
    msg["role"].fail("expected system, user or assistant, got '" + turn.role + "'");
  const JsonNode content = msg["content"];
  if (content.json().is_string()) {
    turn.content.push_back({content.string(), nullptr});
  } else if (content.json().is_array()) {
    for (size_t c = 0; c < content.size(); ++c) {
      const JsonNode part = content[c];
      if (!part["type"].json().is_string())
        part.fail("expected {\"type\": \"text\" | \"image_url\", ...}");
      const std::string type = part["type"].string();
      if (type == "text") {
        if (!part["text"].json().is_string()) part["text"].fail("expected a string");
        turn.content.push_back({part["text"].string(), nullptr});
      } else if (type == "image_url") {
        if (static_cast<int>(images->size()) >= limits.max_images)
          part.fail("more than " + std::to_string(limits.max_images) + " images in one request");
        images->push_back(image_at(part, limits));
        images->back().message = m;
        images->back().part = turn.content.size();
        turn.content.push_back({"", nullptr});
      } else {
        part["type"].fail("expected text or image_url, got '" + type + "'");
      }
    }
  } else if (!(content.json().is_null() && turn.role == "assistant")) {
    content.fail("expected a string or an array of parts, got " + json_kind(content.json()));
  }
  return turn;
}

ChatCompletionRequest request_at(const JsonNode& body, const ServerLimits& limits) {
  if (!body.json().is_object()) body.fail("expected a JSON object, got " + json_kind(body.json()));
  ChatCompletionRequest r;
  if (body.contains("model")) {
    if (!body["model"].json().is_string()) body["model"].fail("expected a string");
    r.model = body["model"].string();
  }
  if (!body.contains("messages")) body["messages"].fail("required");
  const JsonNode messages = body["messages"];
  if (!messages.json().is_array() || messages.size() == 0) messages.fail("expected a non-empty array");
  for (size_t m = 0; m < messages.size(); ++m) r.messages.push_back(turn_at(messages[m], limits, m, &r.encoded_images));
  r.images = static_cast<int>(r.encoded_images.size());

  double d = static_cast<double>(limits.default_max_tokens);
  for (const char* key : {"max_tokens", "max_completion_tokens"}) number(body, key, 1, static_cast<double>(limits.max_tokens), &d);
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
    number(body, f.key, f.lo, f.hi, f.out);
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
  number(body, "n", 1, 1, &d);
  if (body.has("stop")) {
    const JsonNode stop = body["stop"];
    if (stop.json().is_string()) {
      r.options.stop.push_back(stop.string());
    } else if (stop.json().is_array() && stop.size() <= 4) {
      for (const json& x : stop.json()) {
        if (!x.is_string()) stop.fail("expected strings");
        r.options.stop.push_back(x.get<std::string>());
      }
    } else {
      stop.fail("expected a string or up to 4 strings");
    }
  }
  if (body.has("stream")) r.stream = body["stream"].boolean();
  if (body["stream_options"].json().is_object())
    r.include_usage = body["stream_options"].json().value("include_usage", false);
  return r;
}

}  // namespace

std::string ApiError::json() const {
  nlohmann::json j = {{"error",
                       {{"message", message},
                        {"type", type},
                        {"param", param.empty() ? nlohmann::json(nullptr) : nlohmann::json(param)},
                        {"code", code.empty() ? nlohmann::json(nullptr) : nlohmann::json(code)}}}};
  return base::json_text(j);
}

std::variant<ChatCompletionRequest, ApiError> parse_chat_completion(std::string_view text, const ServerLimits& limits) {
  json body;
  try {
    body = base::parse_json(text);
  } catch (const base::JsonError& e) {
    const std::string prefix = "invalid JSON ";  // "... at byte N: ..."
    return bad("", "the body is not valid JSON " +
                       (e.message.rfind(prefix, 0) == 0 ? e.message.substr(prefix.size()) : e.message));
  }
  try {
    return request_at(JsonNode(body, ""), limits);
  } catch (const base::JsonError& e) {  // the field at fault is the error's param
    return bad(e.path, e.message);
  }
}

std::optional<ApiError> decode_images(ChatCompletionRequest& r, const ServerLimits& limits) {
  int64_t bytes = 0;
  for (const EncodedImage& image : r.encoded_images) {
    bytes += image.size.width * image.size.height * 3;
    if (bytes > limits.max_decoded_bytes) {
      ApiError e = bad(image.param, "the images up to this one take " + std::to_string(bytes) +
                                        " bytes decoded, over the limit of " + std::to_string(limits.max_decoded_bytes));
      e.code = "image_too_large";
      return e;
    }
  }
  for (EncodedImage& image : r.encoded_images) {
    std::string error;
    auto decoded = multimodal::decode_rgb_image(image.bytes, limits.max_image_pixels, &error);
    if (!decoded) return bad(image.param, error);
    r.messages[image.message].content[image.part].image =
        std::make_shared<const multimodal::RgbImage>(std::move(*decoded));
    std::string().swap(image.bytes);
  }
  return std::nullopt;
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
  return base::json_text(j);
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
  return base::json_text(j);
}

std::string usage_chunk_json(const std::string& id, int64_t created, const std::string& model,
                             const GenerateResult& result) {
  json j = {{"id", id},          {"object", "chat.completion.chunk"}, {"created", created},
            {"model", model},    {"choices", json::array()},          {"usage", usage(result)}};
  return base::json_text(j);
}

}  // namespace deskpilot::server
