#include "agent/report.h"

#include "base/base64.h"

#include <cstdio>
#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

#include "base/files.h"
#include "base/text.h"

namespace deskpilot::agent {
namespace {

using nlohmann::json;

std::string esc(const std::string& s) { return base::xml_escape(s); }

std::string num(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", v);
  return buf;
}

double get_number(const json& j, const char* key) {
  return j.contains(key) && j[key].is_number() ? j[key].get<double>() : 0.0;
}

std::string get_string(const json& j, const char* key) {
  return j.contains(key) && j[key].is_string() ? j[key].get<std::string>() : "";
}

// SVG drawn over a screenshot of size (w, h) for the step's actions.
std::string overlay(const json& actions, int w, int h) {
  std::ostringstream svg;
  svg << "<svg class=\"overlay\" viewBox=\"0 0 " << w << " " << h << "\" preserveAspectRatio=\"none\">";
  const double r = std::max(8.0, w / 120.0);
  const double font = std::max(14.0, w / 70.0);
  int label_row = 0;
  auto label = [&](const std::string& text) {
    svg << "<text class=\"label\" x=\"" << num(font) << "\" y=\"" << num(font * (1.6 + 1.4 * label_row++))
        << "\" font-size=\"" << num(font) << "\">" << esc(text) << "</text>";
  };
  if (!actions.is_array()) return "";
  for (const auto& a : actions) {
    const std::string type = get_string(a, "type");
    const bool has_point = a.contains("x") && a.contains("y");
    const double x = get_number(a, "x"), y = get_number(a, "y");
    if (type == "drag" && a.contains("end_x")) {
      svg << "<line class=\"drag\" x1=\"" << num(x) << "\" y1=\"" << num(y) << "\" x2=\"" << num(get_number(a, "end_x"))
          << "\" y2=\"" << num(get_number(a, "end_y")) << "\" stroke-width=\"" << num(r / 2)
          << "\" marker-end=\"url(#arrow)\"/>";
      svg << "<circle class=\"click\" cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"" << num(r) << "\"/>";
    } else if (type == "scroll") {
      const std::string dir = get_string(a, "direction");
      const double cx = has_point ? x : w / 2.0, cy = has_point ? y : h / 2.0, len = r * 5;
      const double dx = dir == "left" ? -len : dir == "right" ? len : 0;
      const double dy = dir == "up" ? -len : dir == "down" ? len : 0;
      svg << "<line class=\"scroll\" x1=\"" << num(cx) << "\" y1=\"" << num(cy) << "\" x2=\"" << num(cx + dx)
          << "\" y2=\"" << num(cy + dy) << "\" stroke-width=\"" << num(r / 2) << "\" marker-end=\"url(#arrow)\"/>";
      label("scroll " + dir + " " + std::to_string(static_cast<int>(get_number(a, "amount"))));
    } else if (has_point) {
      svg << "<circle class=\"click\" cx=\"" << num(x) << "\" cy=\"" << num(y) << "\" r=\"" << num(r) << "\"/>";
      svg << "<text class=\"label\" x=\"" << num(x + r * 1.5) << "\" y=\"" << num(y - r) << "\" font-size=\""
          << num(font) << "\">" << esc(type) << "</text>";
    }
    if (type == "type") {
      label("type \"" + get_string(a, "text") + "\"" + (a.value("submit", false) ? " ⏎" : ""));
    } else if (type == "hotkey" || type == "press" || type == "release") {
      std::string keys;
      if (a.contains("keys") && a["keys"].is_array()) {
        for (const auto& k : a["keys"]) keys += (keys.empty() ? "" : "+") + (k.is_string() ? k.get<std::string>() : "?");
      }
      label(type + " " + keys);
    } else if (type == "finished" || type == "call_user" || type == "wait") {
      label(type + (get_string(a, "content").empty() ? "" : ": " + get_string(a, "content")));
    }
  }
  svg << "<defs><marker id=\"arrow\" viewBox=\"0 0 10 10\" refX=\"5\" refY=\"5\" markerWidth=\"4\" "
         "markerHeight=\"4\" orient=\"auto-start-reverse\"><path d=\"M 0 0 L 10 5 L 0 10 z\" fill=\"#e5484d\"/>"
         "</marker></defs></svg>";
  return svg.str();
}

// Width and height from a PNG's IHDR chunk: the report embeds the bytes as
// they are and needs only the size for its overlay, not the pixels.
bool png_size(const std::string& png, int* width, int* height) {
  static const char kSignature[] = "\x89PNG\r\n\x1a\n";
  if (png.size() < 24 || png.compare(0, 8, kSignature, 8) != 0 || png.compare(12, 4, "IHDR") != 0) return false;
  auto be32 = [&](size_t at) {
    uint32_t v = 0;
    for (size_t i = 0; i < 4; ++i) v = (v << 8) | static_cast<unsigned char>(png[at + i]);
    return v;
  };
  const uint32_t w = be32(16), h = be32(20);
  if (w == 0 || h == 0 || w > 65535 || h > 65535) return false;
  *width = static_cast<int>(w);
  *height = static_cast<int>(h);
  return true;
}

struct StepView {
  json line;
  std::string image;  // data URL or empty
  int width = 0, height = 0;
};

std::vector<StepView> load_steps(const std::string& dir, std::vector<std::string>* problems) {
  std::vector<StepView> steps;
  const std::string file = dir + "/trajectory.jsonl";
  if (std::string why = base::unreadable_file_reason(file); !why.empty()) {
    problems->push_back(why);
    return steps;
  }
  std::ifstream in(file);
  int n = 0;
  for (std::string text; std::getline(in, text);) {
    ++n;
    if (text.empty()) continue;
    StepView v;
    try {
      v.line = json::parse(text);
    } catch (const json::exception&) {
      problems->push_back(dir + "/trajectory.jsonl line " + std::to_string(n) + ": not JSON (cut short?)");
      continue;
    }
    const std::string shot = get_string(v.line, "screenshot");
    if (!shot.empty()) {
      std::string bytes, ignored;
      if (base::read_file(dir + "/" + shot, &bytes, &ignored) && png_size(bytes, &v.width, &v.height)) {
        v.image = "data:image/png;base64," + base::base64_encode(bytes);
      } else {
        problems->push_back(dir + "/" + shot + ": cannot read the screenshot");
      }
    }
    steps.push_back(std::move(v));
  }
  return steps;
}

std::string actions_text(const json& actions) {
  std::string out;
  if (!actions.is_array()) return out;
  for (const auto& a : actions) {
    if (!out.empty()) out += "; ";
    out += get_string(a, "type");
    if (a.contains("x")) out += " (" + num(get_number(a, "x")) + ", " + num(get_number(a, "y")) + ")";
    if (a.contains("text")) out += " \"" + get_string(a, "text") + "\"";
    if (a.contains("keys")) out += " " + a["keys"].dump();
    if (a.contains("direction")) out += " " + get_string(a, "direction");
  }
  return out;
}

const char* kStyle = R"CSS(
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em; color: #1c2024; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; }
.passed { color: #18794e; } .failed { color: #cd2b31; }
table { border-collapse: collapse; margin: 1em 0; } td, th { border: 1px solid #ddd; padding: 4px 8px; text-align: left; vertical-align: top; }
th { background: #f6f6f6; } td.num { text-align: right; font-variant-numeric: tabular-nums; }
.bar { display: inline-block; height: 10px; margin-right: 1px; } .capture { background: #8e4ec6; } .think { background: #0090ff; }
.act { background: #e5484d; } .settle { background: #ffb224; }
.shot { position: relative; display: inline-block; max-width: 100%; border: 1px solid #ccc; }
.shot img { display: block; max-width: 100%; } .overlay { position: absolute; left: 0; top: 0; width: 100%; height: 100%; }
.click { fill: rgba(229, 72, 77, 0.35); stroke: #e5484d; stroke-width: 3; }
.drag, .scroll { stroke: #e5484d; } .label { fill: #e5484d; paint-order: stroke; stroke: white; stroke-width: 4px; font-weight: 600; }
pre { background: #f6f6f6; padding: 0.5em; white-space: pre-wrap; }
)CSS";

}  // namespace

std::string render_report(const std::string& page_title, const std::vector<ReportSection>& sections) {
  std::ostringstream html;
  html << "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>" << esc(page_title)
       << "</title><style>" << kStyle << "</style></head><body>\n<h1>" << esc(page_title) << "</h1>\n";
  int section_index = 0;
  for (const auto& section : sections) {
    ++section_index;
    std::vector<std::string> problems;
    const auto steps = load_steps(section.trajectory_dir, &problems);
    html << "<section class=\"run\" id=\"run-" << section_index << "\"><h2>" << esc(section.title);
    if (!section.status.empty()) html << " <span class=\"" << esc(section.status) << "\">" << esc(section.status) << "</span>";
    html << "</h2>\n";
    if (!section.detail.empty()) html << "<p class=\"failed\">" << esc(section.detail) << "</p>\n";
    for (const auto& p : problems) html << "<p class=\"failed\">" << esc(p) << "</p>\n";
    // Step table with timings.
    double max_total = 1;
    for (const auto& s : steps) {
      const json& l = s.line.contains("latency_ms") ? s.line["latency_ms"] : json::object();
      max_total = std::max(max_total, get_number(l, "capture") + get_number(l, "think") + get_number(l, "act") +
                                          get_number(l, "settle"));
    }
    html << "<table class=\"steps\"><tr><th>step</th><th>time</th><th>actions</th><th>result</th>"
            "<th>capture ms</th><th>think ms</th><th>act ms</th><th>settle ms</th><th>timeline</th></tr>\n";
    for (const auto& s : steps) {
      const json& l = s.line.contains("latency_ms") ? s.line["latency_ms"] : json::object();
      const int step = s.line.contains("step") && s.line["step"].is_number() ? s.line["step"].get<int>() : 0;
      html << "<tr><td><a href=\"#run-" << section_index << "-step-" << step << "\">" << step << "</a></td><td>"
           << esc(get_string(s.line, "time")) << "</td><td>" << esc(actions_text(s.line.value("actions", json()))) << "</td><td class=\""
           << (get_string(s.line, "result") == "ok" ? "passed" : "failed") << "\">" << esc(get_string(s.line, "result"))
           << "</td>";
      for (const char* k : {"capture", "think", "act", "settle"}) html << "<td class=\"num\">" << num(get_number(l, k)) << "</td>";
      html << "<td>";
      for (const char* k : {"capture", "think", "act", "settle"}) {
        html << "<span class=\"bar " << k << "\" style=\"width:" << num(200.0 * get_number(l, k) / max_total) << "px\"></span>";
      }
      html << "</td></tr>\n";
    }
    html << "</table>\n";
    for (const auto& s : steps) {
      const int step = s.line.contains("step") && s.line["step"].is_number() ? s.line["step"].get<int>() : 0;
      html << "<div class=\"step\" id=\"run-" << section_index << "-step-" << step << "\"><h3>Step " << step << ": "
           << esc(actions_text(s.line.value("actions", json()))) << "</h3>\n";
      if (!get_string(s.line, "error").empty()) html << "<p class=\"failed\">" << esc(get_string(s.line, "error")) << "</p>\n";
      if (!get_string(s.line, "model_text").empty()) html << "<pre>" << esc(get_string(s.line, "model_text")) << "</pre>\n";
      if (!s.image.empty()) {
        html << "<div class=\"shot\"><img alt=\"step " << step << "\" src=\"" << s.image << "\">"
             << overlay(s.line.value("actions", json()), s.width, s.height) << "</div>\n";
      }
      if (s.line.contains("events") && s.line["events"].is_array() && !s.line["events"].empty()) {
        std::string events;
        for (const auto& e : s.line["events"]) events += (e.is_string() ? e.get<std::string>() : e.dump()) + "\n";
        html << "<details><summary>input events</summary><pre>" << esc(events) << "</pre></details>\n";
      }
      html << "</div>\n";
    }
    html << "</section>\n";
  }
  html << "</body></html>\n";
  return html.str();
}

bool write_report(const std::string& path, const std::string& page_title,
                  const std::vector<ReportSection>& sections, std::string* error) {
  std::ofstream out(path, std::ios::binary);
  out << render_report(page_title, sections);
  if (!out) {
    *error = path + ": cannot write";
    return false;
  }
  return true;
}

}  // namespace deskpilot::agent
