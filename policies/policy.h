// What decides the next action. The agent loop (agent/agent_loop.h) gives a
// policy the screen as it is now; the policy answers with a thought and the
// actions to carry out, in screen pixels. Policies keep their own history
// between reset() calls.
//
//   UITarsPolicy   a UI-TARS model (in-process engine or HTTP endpoint)
//   ScriptedPolicy a fixed list of steps (scenarios, tests)
//   OcrPolicy      Tesseract words and OpenCV elements ground simple
//                  instructions; needs no weights (the embedded default)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "actions/action.h"

namespace deskpilot::policies {

struct Observation {
  cv::Mat screenshot;  // (height, width) 8-bit BGR, screen pixels as captured
  int step = 1;        // 1-based
};

struct Decision {
  std::vector<actions::Action> actions;  // in screen pixels; finished()/call_user() end or pause the run
  std::string thought;                   // what the policy says it is doing
  std::string model_text;                // the model's answer as it came (empty without a model)
  bool ok = true;                        // false: the run fails with `error` (unparseable answer, loop, no plan)
  std::string error;
  int attempts = 1;                      // model calls made for this step
  int64_t prompt_tokens = 0, completion_tokens = 0;
  std::string note;                      // e.g. "loop nudge": said to the model this step
};

class Policy {
 public:
  virtual ~Policy() = default;
  virtual std::string name() const = 0;
  // A new task; history is forgotten.
  virtual void reset(const std::string& instruction) = 0;
  // false and *error only when the policy cannot work at all (model server
  // down, OCR engine missing); a bad step is decision->ok = false.
  virtual bool decide(const Observation& observation, Decision* decision, std::string* error) = 0;
};

}  // namespace deskpilot::policies
