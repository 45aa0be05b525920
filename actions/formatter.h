// Action -> canonical UI-TARS text, for history turns and scenario files.
//
// The inverse of the parser: parse_action_calls(format_action(a)) gives back
// `a` exactly for every representable action (numbers are written in their
// shortest round-trip form). Not representable in UI-TARS syntax, because the
// reference parser strips it: leading white space in a text argument, a
// typed text that ends in a newline without submit, and an empty typed text
// with submit (see action_format_error).
#pragma once

#include <optional>
#include <string>

#include "actions/action.h"

namespace deskpilot::actions {

enum class FormatStyle {
  kPlain,     // start_box='(x,y)'                        (UI-TARS v1 after box tokens are stripped)
  kBoxToken,  // start_box='<|box_start|>(x,y)<|box_end|>'  (UI-TARS v1 as generated)
  kPoint,     // point='<point>x y</point>'               (UI-TARS-1.5)
};

// Why `a` cannot be written so that it parses back to itself, or nullopt.
std::optional<std::string> action_format_error(const Action& a);

// One call, e.g. "click(start_box='(100,200)')". Coordinates as they are in
// `a` (model space for history turns).
std::string format_action(const Action& a, FormatStyle style = FormatStyle::kPlain);

// A whole assistant turn: "Thought: ...\nAction: a1\n\na2".
std::string format_response(const ParsedResponse& r, FormatStyle style = FormatStyle::kPlain);

// Shortest text that reads back as the same double ("150", "150.5").
std::string format_number(double v);

}  // namespace deskpilot::actions
