// libFuzzer target: any bytes through the UI-TARS response parser, the
// coordinate mapping, the formatter and the input planner. It must never
// crash, hang or trip a sanitizer; a parse that succeeds must format into
// text that parses back to the same actions.
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "actions/coords.h"
#include "actions/formatter.h"
#include "actions/input_plan.h"
#include "actions/parser.h"

using namespace deskpilot::actions;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  ParseResult parsed = parse_response(text);
  if (!parsed.ok()) {
    if (parsed.error->position > size) std::abort();  // positions point into the input
    return 0;
  }
  CoordinateMapping mapping;
  std::string error;
  auto mapper = CoordinateMapper::create(mapping, &error);
  for (const Action& a : parsed.response.actions) {
    if (!action_format_error(a)) {
      ParseResult again = parse_action_calls(format_action(a));
      if (!again.ok() || again.response.actions.size() != 1 || !(again.response.actions[0] == a)) {
        std::abort();  // format/parse round trip broken
      }
    }
    (void)plan_input(mapper->to_screen(a));
  }
  return 0;
}
