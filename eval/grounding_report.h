// The HTML page of a grounding run: the accuracy table, a bar chart per group
// (text and icon), and the misses drawn on their screenshots (target box in
// green, predicted point in red), images embedded so the page travels alone.
#pragma once

#include <string>
#include <vector>

#include "eval/grounding_eval.h"

namespace deskpilot::eval {

// At most `max_misses` misses are drawn (the first in set order).
std::string render_grounding_report(const std::string& title, const GroundingSummary& summary,
                                    const std::vector<GroundingResult>& results, size_t max_misses = 60);

bool write_grounding_report(const std::string& path, const std::string& title, const GroundingSummary& summary,
                            const std::vector<GroundingResult>& results, std::string* error);

}  // namespace deskpilot::eval
