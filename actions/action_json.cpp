#include "actions/action_json.h"

#include <cmath>

namespace deskpilot::actions {
namespace {

// As the reference's pyautogui converter: round(v, 3).
double rounded(double v) { return std::round(v * 1000.0) / 1000.0; }

nlohmann::ordered_json optional_text(const std::optional<std::string>& s) {
  return s ? nlohmann::ordered_json(*s) : nlohmann::ordered_json(nullptr);
}

}  // namespace

nlohmann::ordered_json action_to_json(const Action& a) {
  nlohmann::ordered_json j;
  j["type"] = std::string(action_type_name(a.type));
  if (a.start) {
    j["x"] = rounded(a.start->x);
    j["y"] = rounded(a.start->y);
  }
  if (a.end) {
    j["end_x"] = rounded(a.end->x);
    j["end_y"] = rounded(a.end->y);
  }
  switch (a.type) {
    case ActionType::kType:
      j["text"] = a.text;
      j["submit"] = a.submit;
      break;
    case ActionType::kHotkey:
    case ActionType::kPress:
    case ActionType::kRelease:
      j["keys"] = a.keys;
      break;
    case ActionType::kScroll:
      j["direction"] = std::string(scroll_direction_name(a.direction));
      j["amount"] = a.amount;
      break;
    case ActionType::kFinished:
    case ActionType::kCallUser:
      j["content"] = a.text;
      break;
    case ActionType::kOpenApp:
      j["app_name"] = a.text;
      break;
    case ActionType::kWait:
    case ActionType::kLongPress:
      j["seconds"] = a.seconds;
      break;
    default:
      break;
  }
  return j;
}

nlohmann::ordered_json response_to_json(const ParsedResponse& r) {
  nlohmann::ordered_json j;
  j["thought"] = optional_text(r.thought);
  j["reflection"] = optional_text(r.reflection);
  j["reasoning"] = optional_text(r.reasoning);
  j["actions"] = nlohmann::ordered_json::array();
  for (const auto& a : r.actions) j["actions"].push_back(action_to_json(a));
  return j;
}

}  // namespace deskpilot::actions
