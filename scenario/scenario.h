// Scenario files: repeatable GUI tasks with setup, steps and checks, parsed
// and validated in one place. The format is documented in docs/scenarios.md
// with a JSON Schema (docs/scenario.schema.json). Every error names the
// file, the JSON path and what was expected.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "vision/capture.h"

namespace deskpilot::scenario {

// Where a pointer step acts: screen coordinates, the centre of the best match
// of a template image, or the centre of a phrase read by OCR (Tesseract).
struct Target {
  std::optional<vision::Rect> point;  // width = height = 0: a point
  std::string template_path;          // resolved against the scenario's folder
  double threshold = 0.9;             // template match score needed
  std::string text;                   // OCR phrase, case-insensitive
  std::string describe() const;
};

struct SetupStep {
  enum class Kind { kRun, kWaitWindow, kActivateWindow, kWaitText, kSleep };
  Kind kind = Kind::kRun;
  std::string command;       // kRun
  bool background = false;   // kRun: keep running (an application), stopped at teardown
  std::string title_regex;   // kWaitWindow, kActivateWindow
  std::string text;          // kWaitText: a phrase on the screen (OCR)
  double seconds = 0;        // kSleep
  double timeout_s = 30;     // kRun (foreground), kWaitWindow, kActivateWindow, kWaitText
  std::string json_path;     // "$.setup[2]", for messages
};

struct Step {
  // Either UI-TARS text in screen coordinates ("click(start_box='(10,20)')",
  // several calls allowed), or a pointer action at a target.
  std::string actions;
  std::string pointer_action;  // "click", "left_double", "right_single", "hover"
  std::optional<Target> target;
  // Or control handed to the agent: {"agent": {"instruction": ..., "max_steps": N}}.
  std::string agent_instruction;
  int agent_max_steps = 15;
  bool settle = true;          // wait for the screen to stop changing afterwards
  double timeout_s = 10;       // template search and settle
  std::string json_path;
};

struct Check {
  enum class Kind {
    kFileExists, kFileContains, kFileMatches, kCommand, kWindowTitle, kTemplatePresent, kTemplateAbsent,
    kTextPresent, kTextAbsent
  };
  Kind kind = Kind::kFileExists;
  std::string path;          // files
  std::string text;          // file_contains, command output_contains
  std::string regex;         // file_matches, window_title, command output_matches
  std::string command;       // command
  int exit_status = 0;       // command
  Target target;             // template and text checks
  double timeout_s = 5;      // checks are retried until they pass or this runs out
  std::string json_path;
  std::string describe() const;  // "file_contains $WORK/out.txt 'hello'"
};

struct Scenario {
  std::string file;       // as given on the command line
  std::string directory;  // the file's folder: relative paths resolve here
  std::string name;
  std::string description;
  vision::Rect screen{0, 0, 1280, 800};  // size of the private display
  double timeout_s = 120;                // whole scenario
  std::vector<std::pair<std::string, std::string>> env;
  std::vector<SetupStep> setup;
  std::vector<Step> steps;
  std::vector<Check> checks;
  std::vector<SetupStep> teardown;  // run commands only
};

// Reads and validates a scenario file. nullopt and *error ("FILE: $.steps[2].click: expected ...").
std::optional<Scenario> load_scenario(const std::string& path, std::string* error);

}  // namespace deskpilot::scenario
