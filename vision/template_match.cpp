#include "vision/template_match.h"

#include <cmath>

#include <opencv2/imgproc.hpp>

namespace deskpilot::vision {

std::optional<TemplateMatch> find_template(const cv::Mat& frame, const cv::Mat& templ) {
  if (templ.empty() || frame.empty() || templ.cols > frame.cols || templ.rows > frame.rows) return std::nullopt;
  cv::Scalar mean, stddev;
  cv::meanStdDev(templ, mean, stddev);
  const bool flat = stddev[0] == 0 && stddev[1] == 0 && stddev[2] == 0;
  // A one-colour template has no variance, where the correlation coefficient
  // is undefined: score it by normalised squared difference instead.
  cv::Mat scores;  // (frame.rows - templ.rows + 1, frame.cols - templ.cols + 1)
  cv::matchTemplate(frame, templ, scores, flat ? cv::TM_SQDIFF_NORMED : cv::TM_CCOEFF_NORMED);
  double min_v = 0, max_v = 0;
  cv::Point min_at, max_at;
  cv::minMaxLoc(scores, &min_v, &max_v, &min_at, &max_at);
  const cv::Point at = flat ? min_at : max_at;
  double score = flat ? 1.0 - min_v : max_v;
  if (!std::isfinite(score)) score = 0;
  return TemplateMatch{{at.x, at.y, templ.cols, templ.rows}, score};
}

}  // namespace deskpilot::vision
