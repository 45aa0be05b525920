#include "actions/formatter.h"

#include <charconv>

#include "actions/text_util.h"

namespace deskpilot::actions {
namespace {

std::string quoted(std::string_view text) { return "'" + encode_python_string(text) + "'"; }

std::string point_arg(std::string_view key, Point p, FormatStyle style) {
  const std::string x = format_number(p.x);
  const std::string y = format_number(p.y);
  switch (style) {
    case FormatStyle::kPlain:
      return std::string(key) + "='(" + x + "," + y + ")'";
    case FormatStyle::kBoxToken:
      return std::string(key) + "='<|box_start|>(" + x + "," + y + ")<|box_end|>'";
    case FormatStyle::kPoint: {
      std::string name = key == "end_box" ? "end_point" : key == "start_box" ? "point" : std::string(key);
      return name + "='<point>" + x + " " + y + "</point>'";
    }
  }
  return {};
}

// Space-separated names; the plus key is written "plus" because a bare '+'
// between names reads back as a separator ("ctrl + c").
std::string join_keys(const std::vector<std::string>& keys) {
  std::string out;
  for (const auto& k : keys) {
    if (!out.empty()) out.push_back(' ');
    out += k == "+" ? "plus" : k;
  }
  return out;
}

}  // namespace

std::string format_number(double v) {
  char buf[64];
  auto [ptr, ec] = std::to_chars(buf, buf + sizeof(buf), v);
  if (ec != std::errc()) return "0";
  return std::string(buf, ptr);
}

std::optional<std::string> action_format_error(const Action& a) {
  if (!a.text.empty() && python_space_length(a.text) > 0) {
    return "text starting with white space cannot be written in UI-TARS syntax";
  }
  if (a.type == ActionType::kType && !a.submit && !a.text.empty() && a.text.back() == '\n') {
    return "typed text ending in a newline reads back as submit";
  }
  if (a.type == ActionType::kType && a.submit && a.text.empty()) {
    // type(content='\n') strips to nothing in the reference; say hotkey(key='enter').
    return "an empty typed text with submit reads back as nothing";
  }
  if (a.type == ActionType::kDrag && a.start.has_value() != a.end.has_value()) {
    return "drag needs both start and end";
  }
  return std::nullopt;
}

std::string format_action(const Action& a, FormatStyle style) {
  std::string out(action_type_name(a.type));
  std::string args;
  auto add = [&](const std::string& arg) {
    if (!args.empty()) args += ", ";
    args += arg;
  };
  if (a.start) add(point_arg("start_box", *a.start, style));
  if (a.type == ActionType::kDrag && a.end) add(point_arg("end_box", *a.end, style));
  switch (a.type) {
    case ActionType::kHotkey:
    case ActionType::kPress:
    case ActionType::kRelease:
      add("key=" + quoted(join_keys(a.keys)));
      break;
    case ActionType::kType:
      add("content=" + quoted(a.submit ? a.text + "\n" : a.text));
      break;
    case ActionType::kScroll:
      add("direction='" + std::string(scroll_direction_name(a.direction)) + "'");
      if (a.amount != kDefaultScrollAmount) add("amount='" + std::to_string(a.amount) + "'");
      break;
    case ActionType::kWait:
      if (a.seconds != kDefaultWaitSeconds) add("time='" + format_number(a.seconds) + "'");
      break;
    case ActionType::kLongPress:
      if (a.seconds != kDefaultLongPressSeconds) add("time='" + format_number(a.seconds) + "'");
      break;
    case ActionType::kFinished:
    case ActionType::kCallUser:
      if (!a.text.empty()) add("content=" + quoted(a.text));
      break;
    case ActionType::kOpenApp:
      add("app_name=" + quoted(a.text));
      break;
    default:
      break;
  }
  return out + "(" + args + ")";
}

std::string format_response(const ParsedResponse& r, FormatStyle style) {
  std::string out;
  if (r.reasoning) out += "<think>\n" + *r.reasoning + "\n</think>\n";
  if (r.reflection) {
    out += "Reflection: " + *r.reflection + "\nAction_Summary: " + r.thought.value_or("") + "\n";
  } else if (r.thought) {
    out += "Thought: " + *r.thought + "\n";
  }
  out += "Action: ";
  for (size_t i = 0; i < r.actions.size(); ++i) {
    if (i > 0) out += "\n\n";
    out += format_action(r.actions[i], style);
  }
  return out;
}

}  // namespace deskpilot::actions
