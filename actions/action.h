// The closed, typed set of GUI actions that a UI-TARS model can ask for.
//
// An Action carries the numbers as they stand in some coordinate space:
// straight out of the parser they are model coordinates (see coords.h), after
// map_action_to_screen() they are screen pixels, which is what executors take.
// One struct for both keeps the parser, formatter and executors simple; the
// space is always stated by whoever hands an Action over.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace deskpilot::actions {

enum class ActionType {
  kClick,        // click(start_box)                 left button
  kLeftDouble,   // left_double(start_box)
  kRightSingle,  // right_single(start_box)
  kHover,        // hover(start_box)                  move only
  kDrag,         // drag(start_box, end_box)          press, move, release
  kHotkey,       // hotkey(key='ctrl c')              chord: down in order, up reversed
  kPress,        // press(key=...) / keydown          key down only
  kRelease,      // release(key=...) / keyup          key up only
  kType,         // type(content='...')               trailing \n means submit
  kScroll,       // scroll(start_box?, direction, amount?)
  kWait,         // wait()                            pause, then look again
  kFinished,     // finished(content='...')           task done
  kCallUser,     // call_user(content?)               hand over to the person
  // Mobile actions: they parse, but a desktop executor rejects them.
  kLongPress,    // long_press(start_box, time?)
  kOpenApp,      // open_app(app_name)
  kPressHome,    // press_home()
  kPressBack,    // press_back()
};

enum class ScrollDirection { kUp, kDown, kLeft, kRight };

struct Point {
  double x = 0.0;
  double y = 0.0;
  friend bool operator==(const Point&, const Point&) = default;
};

// Defaults the reference agents use when the model leaves them out.
inline constexpr int kDefaultScrollAmount = 5;       // pyautogui.scroll(5) in ui-tars
inline constexpr double kDefaultWaitSeconds = 5.0;   // UI-TARS: "Sleep for 5s"
inline constexpr double kDefaultLongPressSeconds = 1.0;

struct Action {
  ActionType type = ActionType::kWait;
  std::optional<Point> start;         // target: click/hover/scroll/long_press, drag start
  std::optional<Point> end;           // drag end
  std::string text;                   // type: text (without the submit newline);
                                      // finished/call_user: content; open_app: app name
  bool submit = false;                // type: press Return afterwards
  std::vector<std::string> keys;      // hotkey/press/release: canonical key names (keys.h)
  ScrollDirection direction = ScrollDirection::kDown;
  int amount = kDefaultScrollAmount;  // scroll: wheel clicks
  double seconds = 0.0;               // wait and long_press duration

  friend bool operator==(const Action&, const Action&) = default;
};

// The UI-TARS function name of a type ("click", "left_double", ...).
std::string_view action_type_name(ActionType type);
// Name -> type, aliases included (left_single, select, keydown, keyup, move_to).
std::optional<ActionType> action_type_from_name(std::string_view name);
bool is_mobile_action(ActionType type);

std::string_view scroll_direction_name(ScrollDirection d);
std::optional<ScrollDirection> scroll_direction_from_name(std::string_view name);

// The model's whole answer for one step.
struct ParsedResponse {
  std::optional<std::string> thought;     // "Thought:" (or Action_Summary: text)
  std::optional<std::string> reflection;  // "Reflection:" text
  std::optional<std::string> reasoning;   // a leading <think>...</think> block
  std::vector<Action> actions;
};

}  // namespace deskpilot::actions
