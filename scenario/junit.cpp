#include "scenario/junit.h"

#include <cstdio>

#include "base/text.h"

namespace deskpilot::scenario {

using base::xml_escape;

std::string junit_xml(const std::vector<ScenarioResult>& results,
                      const std::vector<std::pair<std::string, std::string>>& invalid) {
  int failures = 0;
  double total = 0;
  for (const auto& r : results) {
    failures += r.passed ? 0 : 1;
    total += r.seconds;
  }
  auto seconds = [](double s) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%.3f", s);
    return std::string(buf);
  };
  std::string xml = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n";
  xml += "<testsuites name=\"deskpilot\" tests=\"" + std::to_string(results.size() + invalid.size()) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(invalid.size()) +
         "\" time=\"" + seconds(total) + "\">\n";
  xml += "  <testsuite name=\"scenarios\" tests=\"" + std::to_string(results.size() + invalid.size()) +
         "\" failures=\"" + std::to_string(failures) + "\" errors=\"" + std::to_string(invalid.size()) +
         "\" time=\"" + seconds(total) + "\">\n";
  for (const auto& r : results) {
    xml += "    <testcase classname=\"" + xml_escape(r.file) + "\" name=\"" + xml_escape(r.name) + "\" time=\"" +
           seconds(r.seconds) + "\">\n";
    if (!r.passed) {
      std::string details;
      for (const auto* parts : {&r.setup, &r.steps, &r.checks, &r.teardown}) {
        for (const auto& p : *parts) {
          if (!p.ok) details += p.json_path + " " + p.description + ": " + p.error + "\n";
        }
      }
      xml += "      <failure message=\"" + xml_escape(r.error) + "\">" + xml_escape(details) + "</failure>\n";
    }
    xml += "      <system-out>" + xml_escape("results: " + r.out_dir) + "</system-out>\n";
    xml += "    </testcase>\n";
  }
  for (const auto& [file, error] : invalid) {
    xml += "    <testcase classname=\"" + xml_escape(file) + "\" name=\"" + xml_escape(file) + "\" time=\"0\">\n";
    xml += "      <error message=\"" + xml_escape(error) + "\"/>\n    </testcase>\n";
  }
  xml += "  </testsuite>\n</testsuites>\n";
  return xml;
}

}  // namespace deskpilot::scenario
