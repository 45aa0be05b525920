// The UI-TARS response parser: model text in, typed actions out.
//
// It accepts everything the official parser (ui_tars.action_parser.
// parse_action_to_structure_output) accepts and gives its result, and a
// documented superset where the intent is plain (docs/actions.md):
//   - "Thought:", "Reflection: ... Action_Summary: ...", "Action_Summary:";
//     a leading <think>...</think> block is kept as `reasoning`;
//   - only the text after the last "Action:" (also "Action:" with no space
//     and the full-width "Action："); several calls one after another;
//   - points and boxes as (x,y), (x1,y1,x2,y2), <|box_start|>(x,y)<|box_end|>,
//     <point>x y</point>, <bbox>x1 y1 x2 y2</bbox>, [x,y], [x1,y1,x2,y2], x, y
//     (a box means its centre); point=, start_point=, end_point= aliases;
//   - type(content=...) with escaped or unescaped quotes and \n escapes;
//   - a missing closing parenthesis at the end.
// Coordinates stay in model space; coords.h maps them to the screen.
// Unparseable text yields a ParseError (reason and byte position), never a
// crash: the agent loop can show it to the model and retry.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>
#include <variant>

#include "actions/action.h"

namespace deskpilot::actions {

struct ParseError {
  std::string reason;   // what was expected, with the offending text
  size_t position = 0;  // byte offset into the model output
  std::string message() const;  // "position N: reason"
};

struct ParseResult {
  ParsedResponse response;  // valid when ok()
  std::optional<ParseError> error;
  bool ok() const { return !error.has_value(); }
};

ParseResult parse_response(std::string_view text);

// Just the action part: one or more calls such as "click(start_box='(1,2)')".
// `base` is added to error positions (the offset of `calls` in a larger text).
ParseResult parse_action_calls(std::string_view calls, size_t base = 0);

}  // namespace deskpilot::actions
