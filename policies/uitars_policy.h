// The UI-TARS policy: the published prompt, the history as the reference
// agents keep it, the model's answer parsed into typed actions and mapped
// to the screen.
//
// Conversation sent at each step (OSWorld's uitars_agent.py layout):
//   system     "You are a helpful assistant."
//   user       the prompt (uitars_prompt.h) with the instruction
//   for each earlier step i:
//     user       its screenshot, only for the last history_n - 1 steps
//     assistant  its answer, as the model wrote it
//   user       the current screenshot
// So the model sees at most history_n screenshots and every earlier answer.
//
// Coordinates: UI-TARS 2B/7B/72B (computer-v1) answer 0..1000 relative to
// the screenshot; UI-TARS-1.5 answers pixels of the smart-resized
// screenshot. The policy resizes every screenshot itself with the model's
// own min/max pixels (ChatModel::image_resize(), else the options) so that
// the server's processor leaves it as it is, and maps the answer back with
// the same numbers.
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "actions/action.h"
#include "actions/coords.h"
#include "policies/chat_model.h"
#include "policies/policy.h"
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
  // Coordinates: empty follows the style (computer-v1: qwen2vl, else qwen25vl).
  std::optional<actions::ModelType> model_type;
  // Screenshot size limits when the model does not say (an HTTP endpoint):
  // UI-TARS-1.5's processor (max 16384 * 28 * 28 pixels).
  multimodal::SmartResizeParams resize;
};

struct StepDecision {
  std::string answer;                  // the model's text as it came
  actions::ParsedResponse response;    // in model coordinates
  bool ok = false;
  std::string error;                   // when !ok: parse failure or loop
  int attempts = 0;
  int64_t prompt_tokens = 0, completion_tokens = 0;
  bool nudged = false;                 // the loop nudge was in the prompt
};

// The conversation for one step; pure, for tests and the HTTP client alike.
std::vector<ChatTurn> build_uitars_messages(const std::string& prompt,
                                            const std::vector<std::shared_ptr<const multimodal::RgbImage>>& screenshots,
                                            const std::vector<std::string>& answers, int history_n);

// An earlier answer as the reference agents put it back into the history:
// servers drop the special tokens when they decode, so
// start_box='(x,y)' and end_box='(x,y)' (integers, no space) get their
// <|box_start|>...<|box_end|> back, as the model wrote them; the part after
// each "Action: " is trimmed and the parts joined by blank lines (OSWorld's
// add_box_token). Text without "Action: " and "start_box=" is unchanged.
std::string restore_box_tokens(const std::string& answer);

// The coordinate convention of a prompt style: computer-v1 -> qwen2vl.
actions::ModelType default_model_type(PromptStyle style);

class UITarsPolicy final : public Policy {
 public:
  UITarsPolicy(ChatModel& model, UITarsOptions options) : model_(model), options_(std::move(options)) {}
  // Owning the model (one chat model per agent run).
  UITarsPolicy(std::shared_ptr<ChatModel> model, UITarsOptions options)
      : owned_(std::move(model)), model_(*owned_), options_(std::move(options)) {}

  std::string name() const override { return "uitars(" + model_.name() + ")"; }
  void reset(const std::string& instruction) override;
  // The screenshot resized for the model, the answer parsed and mapped to
  // the screen's pixels.
  bool decide(const Observation& observation, Decision* decision, std::string* error) override;

  // One step in model space: the image as the model is to see it in, the
  // answer parsed (model coordinates). false and *error only when the model
  // could not be reached.
  bool step(std::shared_ptr<const multimodal::RgbImage> screenshot, StepDecision* decision, std::string* error);

  // The resize the policy applies (the model's, else the options').
  multimodal::SmartResizeParams resize_params() const;

 private:
  std::shared_ptr<ChatModel> owned_;
  ChatModel& model_;
  UITarsOptions options_;
  std::string instruction_;
  std::vector<std::shared_ptr<const multimodal::RgbImage>> screenshots_;  // one per step, the current last
  std::vector<std::string> answers_;                                  // one per finished step
  std::vector<uint64_t> screen_hashes_;                               // per step
  std::vector<std::string> action_keys_;                              // per finished step
};

}  // namespace deskpilot::policies
