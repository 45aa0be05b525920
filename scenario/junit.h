// JUnit XML for CI servers: one <testcase> per scenario, a <failure> with
// the first failure and every part that failed.
#pragma once

#include <string>
#include <vector>

#include "scenario/runner.h"

namespace deskpilot::scenario {

// `invalid`: files that could not be loaded, as (file, error), reported as <error>.
std::string junit_xml(const std::vector<ScenarioResult>& results,
                      const std::vector<std::pair<std::string, std::string>>& invalid);

}  // namespace deskpilot::scenario
