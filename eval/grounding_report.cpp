#include "eval/grounding_report.h"

#include <algorithm>
#include <cstdio>
#include <fstream>
#include <sstream>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

#include "base/text.h"
#include "base/base64.h"

namespace deskpilot::eval {
namespace {

std::string esc(const std::string& s) { return base::xml_escape(s); }

std::string pct(const Accuracy& a) {
  if (a.total == 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f%%", 100.0 * a.value());
  return b;
}

// Bars of text / icon / all accuracy per group, as inline SVG.
std::string chart(const GroundingSummary& s) {
  const int bar = 14, gap = 10, label_w = 140, width = 520;
  std::ostringstream svg;
  const int rows = static_cast<int>(s.group_all.size()) + 1;
  svg << "<svg xmlns='http://www.w3.org/2000/svg' width='" << width + label_w + 60 << "' height='"
      << rows * (3 * bar + gap) + 10 << "' font-family='sans-serif' font-size='12'>";
  int y = 5;
  const auto draw = [&](const std::string& name, const Accuracy* t, const Accuracy* i, const Accuracy& a) {
    svg << "<text x='0' y='" << y + bar + 4 << "'>" << esc(name) << "</text>";
    int k = 0;
    for (const auto& [acc, color] : {std::pair{t, "#4e79a7"}, std::pair{i, "#f28e2b"}, std::pair{&a, "#59a14f"}}) {
      const int yy = y + k++ * bar;
      if (!acc || acc->total == 0) continue;
      svg << "<rect x='" << label_w << "' y='" << yy << "' width='" << static_cast<int>(acc->value() * width)
          << "' height='" << bar - 2 << "' fill='" << color << "'/><text x='"
          << label_w + static_cast<int>(acc->value() * width) + 4 << "' y='" << yy + bar - 4 << "'>" << pct(*acc)
          << "</text>";
    }
    y += 3 * bar + gap;
  };
  for (const auto& [g, a] : s.group_all)
    draw(g, s.group_text.count(g) ? &s.group_text.at(g) : nullptr, s.group_icon.count(g) ? &s.group_icon.at(g) : nullptr,
         a);
  draw("overall", &s.text, &s.icon, s.overall);
  svg << "</svg>";
  return svg.str();
}

// The screenshot, at most 560 px wide, with the box and the point drawn; empty if unreadable.
std::string miss_image(const GroundingResult& r) {
  cv::Mat img = cv::imread(r.image, cv::IMREAD_COLOR);
  if (img.empty()) return "";
  const double scale = std::min(1.0, 560.0 / img.cols);
  if (scale < 1.0) cv::resize(img, img, cv::Size(), scale, scale, cv::INTER_AREA);
  cv::rectangle(img, cv::Point(static_cast<int>(r.x1 * scale), static_cast<int>(r.y1 * scale)),
                cv::Point(static_cast<int>(r.x2 * scale), static_cast<int>(r.y2 * scale)), cv::Scalar(0, 180, 0), 2);
  if (r.point) {
    const cv::Point p(static_cast<int>(r.point->x * scale), static_cast<int>(r.point->y * scale));
    cv::circle(img, p, 6, cv::Scalar(0, 0, 230), 2);
    cv::drawMarker(img, p, cv::Scalar(0, 0, 230), cv::MARKER_CROSS, 10, 1);
  }
  std::vector<uchar> png;
  if (!cv::imencode(".png", img, png)) return "";
  return "data:image/png;base64," + base::base64_encode(std::string(png.begin(), png.end()));
}

}  // namespace

std::string render_grounding_report(const std::string& title, const GroundingSummary& summary,
                                    const std::vector<GroundingResult>& results, size_t max_misses) {
  std::ostringstream h;
  h << "<!doctype html><html><head><meta charset='utf-8'><title>" << esc(title)
    << "</title><style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
       "td,th{border:1px solid #ccc;padding:4px 8px;text-align:right}td:first-child,th:first-child{text-align:left}"
       ".miss{display:inline-block;vertical-align:top;width:580px;margin:0 1em 1em 0}"
       ".miss img{max-width:560px;border:1px solid #ccc}.raw{font-family:monospace;white-space:pre-wrap;color:#555}"
       "</style></head><body><h1>"
    << esc(title) << "</h1>";
  h << "<table><tr><th>group</th><th>text</th><th>icon</th><th>all</th><th>samples</th></tr>";
  for (const auto& [g, a] : summary.group_all)
    h << "<tr><td>" << esc(g) << "</td><td>" << (summary.group_text.count(g) ? pct(summary.group_text.at(g)) : "-")
      << "</td><td>" << (summary.group_icon.count(g) ? pct(summary.group_icon.at(g)) : "-") << "</td><td>" << pct(a)
      << "</td><td>" << a.total << "</td></tr>";
  h << "<tr><th>overall</th><th>" << pct(summary.text) << "</th><th>" << pct(summary.icon) << "</th><th>"
    << pct(summary.overall) << "</th><th>" << summary.overall.total << "</th></tr></table>";
  h << "<p>Answers without a point: " << summary.overall.wrong_format
    << ". Bars: <span style='color:#4e79a7'>text</span>, <span style='color:#f28e2b'>icon</span>, "
       "<span style='color:#59a14f'>all</span>.</p>"
    << chart(summary);
  size_t misses = 0;
  for (const GroundingResult& r : results) misses += r.correctness != "correct";
  h << "<h2>Misses (" << misses << (misses > max_misses ? ", the first " + std::to_string(max_misses) + " drawn" : "")
    << ")</h2><p>Target box in green, the predicted point in red.</p>";
  size_t drawn = 0;
  for (const GroundingResult& r : results) {
    if (r.correctness == "correct" || drawn >= max_misses) continue;
    ++drawn;
    const std::string img = miss_image(r);
    h << "<div class='miss'><b>" << esc(r.id) << "</b> (" << esc(r.ui_type) << ", " << esc(r.group) << ", "
      << esc(r.correctness) << ")<br>" << esc(r.instruction) << "<br>";
    if (img.empty()) h << "<i>image unreadable: " << esc(r.image) << "</i>";
    else h << "<img src='" << img << "'>";
    h << "<div class='raw'>" << esc(r.raw) << "</div></div>";
  }
  h << "</body></html>\n";
  return h.str();
}

bool write_grounding_report(const std::string& path, const std::string& title, const GroundingSummary& summary,
                            const std::vector<GroundingResult>& results, std::string* error) {
  std::ofstream out(path, std::ios::binary);
  out << render_grounding_report(title, summary, results);
  if (!out) {
    *error = path + ": cannot write";
    return false;
  }
  return true;
}

}  // namespace deskpilot::eval
