// Plain-English instructions for the OCR policy, split into clauses and
// each clause read into one simple command:
//
//   click Save / click on the "Save" button / select Blue   -> click at text
//   double-click report.txt / right-click the file list     -> other buttons
//   hover over Help                                         -> move only
//   type hello / type "a, b" into the Name field            -> type (into a field)
//   fill in the Email field with ada@example.org            -> type into a field
//   press Enter / press ctrl s / hit ctrl+shift+t           -> a key chord
//   scroll down / scroll up 3 times                         -> wheel
//   wait / wait 2 seconds                                   -> pause
//
// Clauses are separated by ';', '.', ',' or "and"/"then" in front of a verb
// ("type hello into the Name field and press Enter, then click Save");
// quoted text ("..." or '...') is never split or changed.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "actions/action.h"

namespace deskpilot::policies {

struct Command {
  enum class Kind { kClick, kDoubleClick, kRightClick, kHover, kType, kPress, kScroll, kWait };
  Kind kind = Kind::kClick;
  std::string target;              // the text to find on the screen (click kinds; type: the field's label)
  std::string text;                // kType
  std::vector<std::string> keys;   // kPress: canonical key names
  actions::ScrollDirection direction = actions::ScrollDirection::kDown;
  int amount = actions::kDefaultScrollAmount;
  double seconds = 1.0;            // kWait
  std::string clause;              // the words it came from
};

struct InstructionParse {
  std::vector<Command> commands;
  std::string error;  // "clause 2 ('frobnicate it'): ..." when a clause is not understood
  bool ok() const { return error.empty(); }
};

InstructionParse parse_instruction(const std::string& instruction);

// The clauses, before reading them (for messages and tests).
std::vector<std::string> split_clauses(const std::string& instruction);

}  // namespace deskpilot::policies
