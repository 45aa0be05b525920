// Classical element detection with OpenCV: rectangular outlines on a
// screenshot (text fields, buttons, list boxes), found from edges and
// contours. No model: good enough to find the input box next to a label.
#pragma once

#include <optional>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/capture.h"

namespace deskpilot::vision {

struct Element {
  Rect box;  // screenshot pixels
};

// Axis-aligned rectangles at least 16x10 pixels, nested duplicates merged,
// sorted top to bottom, left to right.
std::vector<Element> detect_elements(const cv::Mat& bgr);

// The input field that belongs to a label: a box containing it (placeholder
// text), else the nearest box to its right on the same row or below it,
// within `max_distance` pixels. Boxes much larger than a field (dialogs,
// panels) are not considered.
std::optional<Rect> field_for_label(const std::vector<Element>& elements, const Rect& label, int max_distance = 300);

}  // namespace deskpilot::vision
