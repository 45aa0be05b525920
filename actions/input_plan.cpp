#include "actions/input_plan.h"

#include <algorithm>
#include <cmath>

#include "actions/formatter.h"

namespace deskpilot::actions {
namespace {

constexpr int kButtonLeft = 1;
constexpr int kButtonRight = 3;

InputEvent move(int x, int y) {
  InputEvent e;
  e.kind = InputEventKind::kMouseMove;
  e.x = x;
  e.y = y;
  return e;
}
InputEvent button(InputEventKind kind, int b) {
  InputEvent e;
  e.kind = kind;
  e.button = b;
  return e;
}
InputEvent key(InputEventKind kind, const std::string& name) {
  InputEvent e;
  e.kind = kind;
  e.key = name;
  return e;
}

// A screen point to integer pixels; refused when outside the screen.
bool to_pixel(Point p, const InputPlanOptions& o, int* x, int* y, std::string* error) {
  const double w = static_cast<double>(o.screen.width);
  const double h = static_cast<double>(o.screen.height);
  if (!(p.x >= 0.0 && p.x < w && p.y >= 0.0 && p.y < h)) {
    *error = "point (" + format_number(p.x) + ", " + format_number(p.y) + ") is outside the " +
             std::to_string(o.screen.width) + "x" + std::to_string(o.screen.height) + " screen";
    return false;
  }
  // Round to the nearest pixel; a point just inside the edge stays inside.
  *x = std::min(static_cast<int>(std::floor(p.x + 0.5)), static_cast<int>(o.screen.width) - 1);
  *y = std::min(static_cast<int>(std::floor(p.y + 0.5)), static_cast<int>(o.screen.height) - 1);
  return true;
}

}  // namespace

InputPlan plan_input(const Action& a, const InputPlanOptions& o) {
  InputPlan plan;
  auto& ev = plan.events;
  if (is_mobile_action(a.type)) {
    plan.error = std::string(action_type_name(a.type)) +
                 " is a mobile action; a desktop executor cannot perform it";
    return plan;
  }
  int x = 0, y = 0;
  auto target = [&](const std::optional<Point>& p, const char* what) {
    if (!p) {
      plan.error = std::string(action_type_name(a.type)) + " needs " + what;
      return false;
    }
    return to_pixel(*p, o, &x, &y, &plan.error);
  };
  auto click = [&](int b, int times) {
    ev.push_back(move(x, y));
    for (int i = 0; i < times; ++i) {
      ev.push_back(button(InputEventKind::kButtonDown, b));
      ev.push_back(button(InputEventKind::kButtonUp, b));
    }
  };
  switch (a.type) {
    case ActionType::kClick:
      if (target(a.start, "a target point")) click(kButtonLeft, 1);
      break;
    case ActionType::kLeftDouble:
      if (target(a.start, "a target point")) click(kButtonLeft, 2);
      break;
    case ActionType::kRightSingle:
      if (target(a.start, "a target point")) click(kButtonRight, 1);
      break;
    case ActionType::kHover:
      if (target(a.start, "a target point")) ev.push_back(move(x, y));
      break;
    case ActionType::kDrag: {
      if (!target(a.start, "a start point")) break;
      const int x0 = x, y0 = y;
      if (!target(a.end, "an end point")) break;
      const int x1 = x, y1 = y;
      ev.push_back(move(x0, y0));
      ev.push_back(button(InputEventKind::kButtonDown, kButtonLeft));
      // Intermediate motion: toolkits start a drag only after the pointer moved.
      for (int i = 1; i < o.drag_steps; ++i) {
        const double t = static_cast<double>(i) / o.drag_steps;
        ev.push_back(move(static_cast<int>(std::lround(x0 + (x1 - x0) * t)),
                          static_cast<int>(std::lround(y0 + (y1 - y0) * t))));
      }
      ev.push_back(move(x1, y1));
      ev.push_back(button(InputEventKind::kButtonUp, kButtonLeft));
      break;
    }
    case ActionType::kScroll: {
      if (a.start) {
        if (!target(a.start, "a target point")) break;
        ev.push_back(move(x, y));
      }
      // X wheel buttons: 4 up, 5 down, 6 left, 7 right.
      int b = 5;
      switch (a.direction) {
        case ScrollDirection::kUp: b = 4; break;
        case ScrollDirection::kDown: b = 5; break;
        case ScrollDirection::kLeft: b = 6; break;
        case ScrollDirection::kRight: b = 7; break;
      }
      for (int i = 0; i < a.amount; ++i) {
        ev.push_back(button(InputEventKind::kButtonDown, b));
        ev.push_back(button(InputEventKind::kButtonUp, b));
      }
      break;
    }
    case ActionType::kHotkey:
      for (const auto& k : a.keys) ev.push_back(key(InputEventKind::kKeyDown, k));
      for (auto it = a.keys.rbegin(); it != a.keys.rend(); ++it) ev.push_back(key(InputEventKind::kKeyUp, *it));
      break;
    case ActionType::kPress:
      for (const auto& k : a.keys) ev.push_back(key(InputEventKind::kKeyDown, k));
      break;
    case ActionType::kRelease:
      for (auto it = a.keys.rbegin(); it != a.keys.rend(); ++it) ev.push_back(key(InputEventKind::kKeyUp, *it));
      break;
    case ActionType::kType:
      if (!a.text.empty()) {
        InputEvent t;
        t.kind = InputEventKind::kText;
        t.text = a.text;
        ev.push_back(std::move(t));
      }
      if (a.submit) {
        ev.push_back(key(InputEventKind::kKeyDown, "enter"));
        ev.push_back(key(InputEventKind::kKeyUp, "enter"));
      }
      break;
    case ActionType::kWait: {
      InputEvent s;
      s.kind = InputEventKind::kSleep;
      s.milliseconds = static_cast<int64_t>(std::llround(a.seconds * 1000.0));
      ev.push_back(s);
      break;
    }
    case ActionType::kFinished:
    case ActionType::kCallUser:
      break;  // no input: the agent loop ends or hands over
    default:
      break;
  }
  if (!plan.error.empty()) plan.events.clear();
  return plan;
}

std::string describe_event(const InputEvent& e) {
  switch (e.kind) {
    case InputEventKind::kMouseMove:
      return "move " + std::to_string(e.x) + " " + std::to_string(e.y);
    case InputEventKind::kButtonDown:
      return "button " + std::to_string(e.button) + " down";
    case InputEventKind::kButtonUp:
      return "button " + std::to_string(e.button) + " up";
    case InputEventKind::kKeyDown:
      return "key " + e.key + " down";
    case InputEventKind::kKeyUp:
      return "key " + e.key + " up";
    case InputEventKind::kText: {
      std::string shown;
      for (char c : e.text) shown += c == '\n' ? std::string("\\n") : std::string(1, c);
      return "type \"" + shown + "\"";
    }
    case InputEventKind::kSleep:
      return "sleep " + std::to_string(e.milliseconds) + " ms";
  }
  return "?";
}

}  // namespace deskpilot::actions
