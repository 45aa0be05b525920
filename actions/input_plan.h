// Action (in screen pixels) -> the exact sequence of input events that
// performs it. Pure: the libxdo executor sends these events, the dry-run
// executor prints them, the recording executor keeps them for tests.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "actions/action.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::actions {

enum class InputEventKind {
  kMouseMove,   // x, y
  kButtonDown,  // button: 1 left, 2 middle, 3 right, 4-7 wheel up/down/left/right
  kButtonUp,
  kKeyDown,     // key: canonical name (keys.h)
  kKeyUp,
  kText,        // text: UTF-8 to type
  kSleep,       // milliseconds
};

struct InputEvent {
  InputEventKind kind = InputEventKind::kSleep;
  int x = 0;
  int y = 0;
  int button = 0;
  std::string key;
  std::string text;
  int64_t milliseconds = 0;
  friend bool operator==(const InputEvent&, const InputEvent&) = default;
};

struct InputPlanOptions {
  multimodal::Size screen{1920, 1080};  // points outside are refused, not clamped
  int drag_steps = 10;              // intermediate motion events of a drag
};

struct InputPlan {
  std::vector<InputEvent> events;
  std::string error;   // set when the action cannot run on a desktop
  bool ok() const { return error.empty(); }
};

InputPlan plan_input(const Action& screen_action, const InputPlanOptions& options = {});

// One line per event, as the dry-run executor prints it: "move 960 540".
std::string describe_event(const InputEvent& e);

}  // namespace deskpilot::actions
