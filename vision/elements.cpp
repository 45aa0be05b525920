#include "vision/elements.h"

#include <algorithm>
#include <cmath>

#include <opencv2/imgproc.hpp>

namespace deskpilot::vision {
namespace {

bool near_same(const Rect& a, const Rect& b) {
  return std::abs(a.x - b.x) <= 3 && std::abs(a.y - b.y) <= 3 && std::abs(a.width - b.width) <= 6 &&
         std::abs(a.height - b.height) <= 6;
}

bool contains(const Rect& outer, const Rect& inner, int slack = 2) {
  return inner.x >= outer.x - slack && inner.y >= outer.y - slack &&
         inner.x + inner.width <= outer.x + outer.width + slack && inner.y + inner.height <= outer.y + outer.height + slack;
}

}  // namespace

std::vector<Element> detect_elements(const cv::Mat& bgr) {
  std::vector<Element> out;
  if (bgr.empty()) return out;
  cv::Mat gray, edges;
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  // Outlines of widgets are faint (a grey line on white): a low threshold.
  cv::Canny(gray, edges, 20, 60);
  cv::dilate(edges, edges, cv::getStructuringElement(cv::MORPH_RECT, {3, 3}));
  std::vector<std::vector<cv::Point>> contours;
  cv::findContours(edges, contours, cv::RETR_LIST, cv::CHAIN_APPROX_SIMPLE);
  for (const auto& c : contours) {
    const cv::Rect r = cv::boundingRect(c);
    if (r.width < 16 || r.height < 10) continue;
    // Rectangular: the contour fills most of its bounding box's outline.
    std::vector<cv::Point> poly;
    cv::approxPolyDP(c, poly, 0.02 * cv::arcLength(c, true), true);
    const double area = std::fabs(cv::contourArea(c));
    if (poly.size() < 4 || poly.size() > 8 || area < 0.8 * r.width * r.height) continue;
    Rect box{r.x, r.y, r.width, r.height};
    bool dup = false;
    for (const Element& e : out) dup = dup || near_same(e.box, box);
    if (!dup) out.push_back({box});
  }
  std::sort(out.begin(), out.end(), [](const Element& a, const Element& b) {
    return a.box.y != b.box.y ? a.box.y < b.box.y : a.box.x < b.box.x;
  });
  return out;
}

std::optional<Rect> field_for_label(const std::vector<Element>& elements, const Rect& label, int max_distance) {
  std::optional<Rect> best;
  double best_score = 1e18;
  const int label_cx = label.x + label.width / 2, label_cy = label.y + label.height / 2;
  for (const Element& e : elements) {
    const Rect& b = e.box;
    // A field is a line of text high: not a dialog or a panel.
    if (b.height > std::max(4 * label.height, 80) || b.height < label.height || b.width < 2 * b.height) continue;
    double score = 1e18;
    if (contains(b, label)) {
      score = 0;  // the label is its placeholder or current text
    } else if (b.y <= label_cy && label_cy <= b.y + b.height && b.x >= label.x + label.width - 4) {
      score = 1 + (b.x - (label.x + label.width));  // to the right on the same row
    } else if (b.y >= label.y + label.height - 4 && b.x <= label_cx + max_distance && b.x + b.width >= label.x) {
      // below: a field on the label's own row wins over the next row's
      score = 40 + (b.y - (label.y + label.height)) + 0.25 * std::abs(b.x - label.x);
    }
    if (score <= max_distance && score < best_score) {
      best_score = score;
      best = b;
    }
  }
  return best;
}

}  // namespace deskpilot::vision
