#include "policies/uitars_policy.h"

#include "actions/formatter.h"
#include "actions/parser.h"

namespace deskpilot::policies {

namespace {

uint64_t pixels_hash(const vision::RgbImage& img) {
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
                                            const std::vector<std::shared_ptr<const vision::RgbImage>>& screenshots,
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

void UITarsPolicy::reset(const std::string& instruction) {
  instruction_ = instruction;
  screenshots_.clear();
  answers_.clear();
  screen_hashes_.clear();
  action_keys_.clear();
}

bool UITarsPolicy::step(std::shared_ptr<const vision::RgbImage> screenshot, StepDecision* decision,
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
  if (repeats + 1 >= options_.loop_nudge_after)
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
  answers_.push_back(decision->answer);
  action_keys_.push_back(decision->ok ? action_key(decision->response) : std::string());
  return true;
}

}  // namespace deskpilot::policies
