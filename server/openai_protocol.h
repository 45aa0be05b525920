// The OpenAI chat-completions protocol as `deskpilot serve` speaks it:
// request bodies parsed and checked against the server's limits in one
// place, errors in OpenAI's shape ({"error": {"message", "type", "param",
// "code"}}) with the HTTP status to send, and the response objects.
// Pure functions: the HTTP layer (openai_server.h) only moves bytes.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "engine/generate.h"
#include "multimodal/chat_prompt.h"

namespace deskpilot::server {

struct ServerLimits {
  int64_t max_body_bytes = 32 << 20;          // 413 above
  int max_images = 8;                         // per request
  int64_t max_image_pixels = 4096LL * 4096;   // per image, from its header, before decoding
  int64_t max_decoded_bytes = 192LL << 20;    // all of a request's images as RGB, from their headers
  int64_t max_prompt_tokens = 32768;          // after the images are expanded
  int64_t max_tokens = 4096;                  // largest max_tokens a request may ask
  int64_t default_max_tokens = 1024;          // when it does not say
};

struct ApiError {
  int status = 400;
  std::string message;
  std::string type = "invalid_request_error";
  std::string param;  // the field at fault, or empty
  std::string code;   // e.g. "context_length_exceeded"
  std::string json() const;
};

// An image part as it came: its bytes and the size its header claims. It is
// decoded (decode_images) only once the request is known to fit its limits.
struct EncodedImage {
  size_t message = 0, part = 0;  // where it goes: messages[message].content[part]
  std::string param;             // that place as a field path, for errors
  std::string bytes;             // the PNG or JPEG file
  multimodal::Size size;         // from its header
};

struct ChatCompletionRequest {
  std::string model;
  std::vector<multimodal::ChatTurn> messages;
  engine::GenerateOptions options;      // max_tokens, sampling, stop
  bool stream = false;
  bool include_usage = false;   // stream_options.include_usage
  int images = 0;
  std::vector<EncodedImage> encoded_images;  // their parts' image stays null until decode_images
};

// The body of POST /v1/chat/completions. Images must be data: URLs (PNG or
// JPEG, base64); the server fetches nothing from the network. Images are
// checked against max_images and max_image_pixels from their headers, not
// decoded.
std::variant<ChatCompletionRequest, ApiError> parse_chat_completion(std::string_view body, const ServerLimits& limits);

// Decodes the request's images into its messages, after checking that all of
// them together stay within max_decoded_bytes (from their headers: nothing
// is decoded when they do not). The error names the image at fault.
std::optional<ApiError> decode_images(ChatCompletionRequest& request, const ServerLimits& limits);

// "chat.completion" for a whole answer.
std::string completion_json(const std::string& id, int64_t created, const std::string& model,
                            const engine::GenerateResult& result);
// One "chat.completion.chunk" event: a role (first), a piece of content, or
// the finish reason (last); usage (include_usage) comes in a chunk of its own.
std::string chunk_json(const std::string& id, int64_t created, const std::string& model, const std::string* role,
                       const std::string* content, const std::string* finish_reason);
std::string usage_chunk_json(const std::string& id, int64_t created, const std::string& model,
                             const engine::GenerateResult& result);

}  // namespace deskpilot::server
