// The UI-TARS policy: the published prompt, the history as the reference
// agents keep it, the model's answer parsed into typed actions.
//
// Conversation sent at each step (OSWorld's uitars_agent.py layout):
//   system     "You are a helpful assistant."
//   user       the prompt (uitars_prompt.h) with the instruction
//   for each earlier step i:
//     user       its screenshot, only for the last history_n - 1 steps
//     assistant  its answer, as the model wrote it
//   user       the current screenshot
// So the model sees at most history_n screenshots and every earlier answer.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/coords.h"
#include "policies/chat_model.h"
#include "policies/uitars_prompt.h"

namespace deskpilot::policies {

struct UITarsOptions {
  PromptStyle style = PromptStyle::kComputerV15;
  std::string language = "English";  // of the Thought
  int history_n = 5;                  // screenshots in the conversation
  int64_t max_tokens = 1000;
  engine::SamplingParams sampling;    // greedy by default
  double retry_temperature = 0.7;     // an unparseable answer is asked again with sampling on
  int parse_retries = 1;
  int loop_nudge_after = 3;           // the same action on an unchanged screen this often: a nudge in the prompt
  int loop_fail_after = 5;            // ... and this often: the step fails
};

struct StepDecision {
  std::string answer;                  // the model's text as it came
  actions::ParsedResponse response;    // in model coordinates
  bool ok = false;
  std::string error;                   // when !ok: parse failure or loop
  int attempts = 0;
};

// The conversation for one step; pure, for tests and the HTTP client alike.
std::vector<ChatTurn> build_uitars_messages(const std::string& prompt,
                                            const std::vector<std::shared_ptr<const vision::RgbImage>>& screenshots,
                                            const std::vector<std::string>& answers, int history_n);

class UITarsPolicy {
 public:
  UITarsPolicy(ChatModel& model, UITarsOptions options) : model_(model), options_(std::move(options)) {}

  void reset(const std::string& instruction);
  // One step: the screenshot of now in, the decision out. false and *error
  // only when the model could not be reached.
  bool step(std::shared_ptr<const vision::RgbImage> screenshot, StepDecision* decision, std::string* error);

 private:
  ChatModel& model_;
  UITarsOptions options_;
  std::string instruction_;
  std::vector<std::shared_ptr<const vision::RgbImage>> screenshots_;  // one per step, the current last
  std::vector<std::string> answers_;                                  // one per finished step
  std::vector<uint64_t> screen_hashes_;                               // per step
  std::vector<std::string> action_keys_;                              // per finished step
};

}  // namespace deskpilot::policies
