// Self-contained HTML reports from trajectories: for each step the screenshot
// it started from with its actions drawn over it (click markers, drag and
// scroll arrows, typed text and keys), a step table and timings. Images are
// embedded, so the page can be mailed or archived as one file.
#pragma once

#include <string>
#include <vector>

namespace deskpilot::agent {

struct ReportSection {
  std::string title;           // scenario name or instruction
  std::string status;          // "passed", "failed", "" (unknown)
  std::string detail;          // the first failure, or empty
  std::string trajectory_dir;  // DIR with trajectory.jsonl and the PNGs
};

// The page. Unreadable lines or images are shown as such, never fatal.
std::string render_report(const std::string& page_title, const std::vector<ReportSection>& sections);

// Writes render_report() to `path`; false and *error when it cannot.
bool write_report(const std::string& path, const std::string& page_title,
                  const std::vector<ReportSection>& sections, std::string* error);

}  // namespace deskpilot::agent
