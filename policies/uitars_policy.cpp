#include "policies/uitars_policy.h"

#include <cctype>
#include <string>

#include "actions/formatter.h"
#include "actions/parser.h"
#include "multimodal/image_io.h"

namespace deskpilot::policies {

namespace {

uint64_t pixels_hash(const multimodal::RgbImage& img) {
  uint64_t h = 1469598103934665603ull;
  for (uint8_t b : img.pixels) h = (h ^ b) * 1099511628211ull;
  return h ^ static_cast<uint64_t>(img.width * 31 + img.height);
}

// What the step did, for spotting repeats: the formatted actions.
std::string action_key(const actions::ParsedResponse& r) {
  std::string key;
  for (const actions::Action& a : r.actions) key += actions::format_action(a) + "\n";
  return key;
}

}  // namespace

std::vector<ChatTurn> build_uitars_messages(const std::string& prompt,
                                            const std::vector<std::shared_ptr<const multimodal::RgbImage>>& screenshots,
                                            const std::vector<std::string>& answers, int history_n) {
  std::vector<ChatTurn> m;
  m.push_back({"system", {{"You are a helpful assistant.", nullptr}}});
  m.push_back({"user", {{prompt, nullptr}}});
  const auto steps = static_cast<int64_t>(answers.size());
  for (int64_t i = 0; i < steps; ++i) {
    if (i + history_n > steps) m.push_back({"user", {{"", screenshots[i]}}});
    m.push_back({"assistant", {{answers[i], nullptr}}});
  }
  m.push_back({"user", {{"", screenshots.back()}}});
  return m;
}

namespace {

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

// start_box='(12,34)' -> start_box='<|box_start|>(12,34)<|box_end|>' (digits only, no spaces).
std::string wrap_boxes(const std::string& action) {
  std::string out;
  size_t i = 0;
  while (i < action.size()) {
    size_t key_len = 0;
    for (const char* key : {"start_box='(", "end_box='("}) {
      const size_t n = std::char_traits<char>::length(key);
      if (action.compare(i, n, key) == 0) key_len = n;
    }
    if (key_len == 0) {
      out.push_back(action[i++]);
      continue;
    }
    size_t j = i + key_len;
    const size_t x0 = j;
    while (j < action.size() && std::isdigit(static_cast<unsigned char>(action[j]))) ++j;
    const bool x_ok = j > x0 && j < action.size() && action[j] == ',';
    const size_t y0 = ++j;
    while (j < action.size() && std::isdigit(static_cast<unsigned char>(action[j]))) ++j;
    if (x_ok && j > y0 && action.compare(j, 2, ")'") == 0) {
      out += action.substr(i, key_len - 1) + "<|box_start|>" + action.substr(i + key_len - 1, j + 1 - (i + key_len - 1)) +
             "<|box_end|>'";
      i = j + 2;
    } else {
      out += action.substr(i, key_len);
      i += key_len;
    }
  }
  return out;
}

}  // namespace

std::string restore_box_tokens(const std::string& answer) {
  const std::string marker = "Action: ";
  const size_t first = answer.find(marker);
  if (first == std::string::npos || answer.find("start_box=") == std::string::npos) return answer;
  std::string out = answer.substr(0, first) + marker;
  std::vector<std::string> parts;
  for (size_t at = first; at != std::string::npos;) {
    const size_t start = at + marker.size();
    const size_t next = answer.find(marker, start);
    parts.push_back(wrap_boxes(trim(answer.substr(start, next == std::string::npos ? std::string::npos : next - start))));
    at = next;
  }
  for (size_t i = 0; i < parts.size(); ++i) out += (i ? "\n\n" : "") + parts[i];
  return out;
}

actions::ModelType default_model_type(PromptStyle style) {
  return style == PromptStyle::kComputerV1 ? actions::ModelType::kQwen2vl : actions::ModelType::kQwen25vl;
}

multimodal::SmartResizeParams UITarsPolicy::resize_params() const {
  if (auto r = model_.image_resize()) return *r;
  return options_.resize;
}

bool UITarsPolicy::decide(const Observation& observation, Decision* decision, std::string* error) {
  *decision = Decision();
  const multimodal::Size captured{observation.screenshot.cols, observation.screenshot.rows};
  const multimodal::SmartResizeParams params = resize_params();
  actions::CoordinateMapping mapping;
  mapping.model_type = options_.model_type.value_or(default_model_type(options_.style));
  mapping.screenshot = captured;
  mapping.screen = captured;
  mapping.resize = params;
  std::string map_error;
  const auto mapper = actions::CoordinateMapper::create(mapping, &map_error);
  if (!mapper) {
    decision->ok = false;
    decision->error = "screenshot " + std::to_string(captured.width) + "x" + std::to_string(captured.height) + ": " +
                      map_error;
    return true;
  }
  // The image the model sees: smart-resized here, so that the server's
  // processor keeps it as it is and the mapping below is exact.
  auto rgb = std::make_shared<multimodal::RgbImage>(multimodal::rgb_from_bgr(observation.screenshot));
  const multimodal::Size seen = *multimodal::smart_resize(captured, params).size;
  if (seen.width != captured.width || seen.height != captured.height)
    *rgb = multimodal::resize_bicubic_pillow(*rgb, seen.width, seen.height);

  StepDecision step_decision;
  if (!step(rgb, &step_decision, error)) return false;
  decision->model_text = step_decision.answer;
  decision->attempts = step_decision.attempts;
  decision->prompt_tokens = step_decision.prompt_tokens;
  decision->completion_tokens = step_decision.completion_tokens;
  if (step_decision.nudged) decision->note = "loop nudge: the last actions did not change the screen";
  decision->ok = step_decision.ok;
  decision->error = step_decision.error;
  if (!step_decision.ok) return true;
  decision->thought = step_decision.response.thought.value_or("");
  for (const actions::Action& a : step_decision.response.actions) decision->actions.push_back(mapper->to_screen(a));
  return true;
}

void UITarsPolicy::reset(const std::string& instruction) {
  instruction_ = instruction;
  screenshots_.clear();
  answers_.clear();
  screen_hashes_.clear();
  action_keys_.clear();
}

bool UITarsPolicy::step(std::shared_ptr<const multimodal::RgbImage> screenshot, StepDecision* decision,
                        std::string* error) {
  *decision = StepDecision();
  screenshots_.push_back(std::move(screenshot));
  screen_hashes_.push_back(pixels_hash(*screenshots_.back()));

  // Repeats: the same action with the screen unchanged, counted backwards.
  int repeats = 0;
  for (int64_t i = static_cast<int64_t>(action_keys_.size()) - 1; i >= 1; --i) {
    if (action_keys_[i] != action_keys_[i - 1] || screen_hashes_[i + 1] != screen_hashes_[i]) break;
    ++repeats;
  }
  if (repeats + 1 >= options_.loop_fail_after) {
    decision->error = "the same action repeated " + std::to_string(repeats + 1) + " times on an unchanged screen";
    return true;
  }
  std::string prompt = uitars_prompt(options_.style, instruction_, options_.language);
  decision->nudged = repeats + 1 >= options_.loop_nudge_after;
  if (decision->nudged)
    prompt += "\nNote: your last actions did not change the screen. Try something different.\n";

  ChatRequest request;
  request.messages = build_uitars_messages(prompt, screenshots_, answers_, options_.history_n);
  request.max_tokens = options_.max_tokens;
  request.sampling = options_.sampling;
  for (int attempt = 0; attempt <= options_.parse_retries; ++attempt) {
    if (attempt > 0) {
      request.sampling.temperature = options_.retry_temperature;
      request.sampling.seed += 1;
    }
    ChatReply reply;
    if (!model_.complete(request, &reply, error)) return false;
    decision->attempts = attempt + 1;
    decision->prompt_tokens += reply.prompt_tokens;
    decision->completion_tokens += reply.completion_tokens;
    decision->answer = reply.text;
    const actions::ParseResult parsed = actions::parse_response(reply.text);
    if (parsed.ok()) {
      decision->response = parsed.response;
      decision->ok = true;
      decision->error.clear();
      break;
    }
    decision->error = "cannot parse the model's answer: " + parsed.error->message();
  }
  answers_.push_back(restore_box_tokens(decision->answer));
  action_keys_.push_back(decision->ok ? action_key(decision->response) : std::string());
  return true;
}

}  // namespace deskpilot::policies
