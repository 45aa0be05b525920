#include "actions/action.h"

#include <array>
#include <utility>

namespace deskpilot::actions {
namespace {

struct TypeName {
  std::string_view name;
  ActionType type;
};

// Canonical names first: action_type_name() returns the first match.
constexpr std::array kTypeNames = {
    TypeName{"click", ActionType::kClick},
    TypeName{"left_double", ActionType::kLeftDouble},
    TypeName{"right_single", ActionType::kRightSingle},
    TypeName{"hover", ActionType::kHover},
    TypeName{"drag", ActionType::kDrag},
    TypeName{"hotkey", ActionType::kHotkey},
    TypeName{"press", ActionType::kPress},
    TypeName{"release", ActionType::kRelease},
    TypeName{"type", ActionType::kType},
    TypeName{"scroll", ActionType::kScroll},
    TypeName{"wait", ActionType::kWait},
    TypeName{"finished", ActionType::kFinished},
    TypeName{"call_user", ActionType::kCallUser},
    TypeName{"long_press", ActionType::kLongPress},
    TypeName{"open_app", ActionType::kOpenApp},
    TypeName{"press_home", ActionType::kPressHome},
    TypeName{"press_back", ActionType::kPressBack},
    // Aliases the reference parsers and pyautogui converter accept.
    TypeName{"left_single", ActionType::kClick},
    TypeName{"select", ActionType::kDrag},
    TypeName{"keydown", ActionType::kPress},
    TypeName{"keyup", ActionType::kRelease},
    TypeName{"move_to", ActionType::kHover},
    TypeName{"mouse_move", ActionType::kHover},
};

constexpr std::array<std::pair<std::string_view, ScrollDirection>, 4> kDirections = {{
    {"up", ScrollDirection::kUp},
    {"down", ScrollDirection::kDown},
    {"left", ScrollDirection::kLeft},
    {"right", ScrollDirection::kRight},
}};

}  // namespace

std::string_view action_type_name(ActionType type) {
  for (const auto& t : kTypeNames) {
    if (t.type == type) return t.name;
  }
  return "unknown";
}

std::optional<ActionType> action_type_from_name(std::string_view name) {
  for (const auto& t : kTypeNames) {
    if (t.name == name) return t.type;
  }
  return std::nullopt;
}

bool is_mobile_action(ActionType type) {
  return type == ActionType::kLongPress || type == ActionType::kOpenApp ||
         type == ActionType::kPressHome || type == ActionType::kPressBack;
}

std::string_view scroll_direction_name(ScrollDirection d) {
  for (const auto& [name, dir] : kDirections) {
    if (dir == d) return name;
  }
  return "down";
}

std::optional<ScrollDirection> scroll_direction_from_name(std::string_view name) {
  for (const auto& [n, dir] : kDirections) {
    if (n == name) return dir;
  }
  return std::nullopt;
}

}  // namespace deskpilot::actions
