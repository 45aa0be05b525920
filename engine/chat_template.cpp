#include "engine/chat_template.h"

#include <nlohmann/json.hpp>

namespace deskpilot::engine {

namespace {
constexpr const char* kImagePad = "<|image_pad|>";
constexpr size_t kImagePadLen = 13;
}  // namespace

std::string render_chat(const std::vector<ChatMessage>& messages, const ChatTemplateOptions& options) {
  std::string out;
  int64_t images = 0, videos = 0;
  for (size_t i = 0; i < messages.size(); ++i) {
    const ChatMessage& m = messages[i];
    if (i == 0 && m.role != "system") out += "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n";
    out += "<|im_start|>" + m.role + "\n";
    if (m.content_is_string) {
      out += m.text + "<|im_end|>\n";
      continue;
    }
    for (const ChatPart& p : m.parts) {
      switch (p.kind) {
        case ChatPart::Kind::kImage:
          ++images;
          if (options.add_vision_id) out += "Picture " + std::to_string(images) + ": ";
          out += "<|vision_start|><|image_pad|><|vision_end|>";
          break;
        case ChatPart::Kind::kVideo:
          ++videos;
          if (options.add_vision_id) out += "Video " + std::to_string(videos) + ": ";
          out += "<|vision_start|><|video_pad|><|vision_end|>";
          break;
        case ChatPart::Kind::kText:
          out += p.text;
          break;
        case ChatPart::Kind::kOther:
          break;
      }
    }
    out += "<|im_end|>\n";
  }
  if (options.add_generation_prompt) out += "<|im_start|>assistant\n";
  return out;
}

std::optional<std::vector<ChatMessage>> parse_chat_messages(const nlohmann::json& messages, std::string* error) {
  const auto fail = [&](const std::string& what) {
    if (error) *error = what;
    return std::nullopt;
  };
  if (!messages.is_array()) return fail("messages: expected an array");
  std::vector<ChatMessage> out;
  for (size_t i = 0; i < messages.size(); ++i) {
    const nlohmann::json& m = messages[i];
    const std::string where = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return fail(where + ": expected an object");
    if (!m.contains("role") || !m["role"].is_string()) return fail(where + ".role: expected a string");
    ChatMessage msg;
    msg.role = m["role"].get<std::string>();
    if (!m.contains("content")) return fail(where + ".content: missing");
    const nlohmann::json& content = m["content"];
    if (content.is_string()) {
      msg.text = content.get<std::string>();
    } else if (content.is_array()) {
      msg.content_is_string = false;
      for (size_t k = 0; k < content.size(); ++k) {
        const nlohmann::json& part = content[k];
        const std::string pw = where + ".content[" + std::to_string(k) + "]";
        if (!part.is_object()) return fail(pw + ": expected an object");
        const std::string type = part.contains("type") && part["type"].is_string() ? part["type"].get<std::string>() : "";
        ChatPart p;
        if (type == "image" || part.contains("image") || part.contains("image_url")) {
          p.kind = ChatPart::Kind::kImage;
        } else if (type == "video" || part.contains("video")) {
          p.kind = ChatPart::Kind::kVideo;
        } else if (part.contains("text")) {
          if (!part["text"].is_string()) return fail(pw + ".text: expected a string");
          p.text = part["text"].get<std::string>();
        } else {
          p.kind = ChatPart::Kind::kOther;
        }
        msg.parts.push_back(std::move(p));
      }
    } else {
      return fail(where + ".content: expected a string or an array of parts");
    }
    out.push_back(std::move(msg));
  }
  return out;
}

int64_t count_image_pads(const std::string& rendered) {
  int64_t n = 0;
  for (size_t at = rendered.find(kImagePad); at != std::string::npos; at = rendered.find(kImagePad, at + kImagePadLen))
    ++n;
  return n;
}

std::optional<std::string> expand_image_pads(const std::string& rendered, const std::vector<int64_t>& tokens_per_image,
                                             std::string* error) {
  const int64_t pads = count_image_pads(rendered);
  if (pads != static_cast<int64_t>(tokens_per_image.size())) {
    if (error)
      *error = "the prompt has " + std::to_string(pads) + " image placeholders but " +
               std::to_string(tokens_per_image.size()) + " images were given";
    return std::nullopt;
  }
  std::string out;
  size_t from = 0, image = 0;
  for (size_t at = rendered.find(kImagePad); at != std::string::npos; at = rendered.find(kImagePad, from)) {
    out.append(rendered, from, at - from);
    for (int64_t k = 0; k < tokens_per_image[image]; ++k) out += kImagePad;
    ++image;
    from = at + kImagePadLen;
  }
  out.append(rendered, from, std::string::npos);
  return out;
}

}  // namespace deskpilot::engine
