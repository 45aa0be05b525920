// The JSON form of a parsed response, as `deskpilot parse` prints it:
// {"thought": ..., "reflection": ..., "reasoning": ..., "actions": [...]}
// with screen-pixel coordinates rounded to 1/1000 px.
#pragma once

#include <nlohmann/json.hpp>

#include "actions/action.h"

namespace deskpilot::actions {

nlohmann::ordered_json action_to_json(const Action& screen_action);
nlohmann::ordered_json response_to_json(const ParsedResponse& screen_response);

}  // namespace deskpilot::actions
