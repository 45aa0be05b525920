// The executor that acts on a real X display through libxdo (XTEST). It
// sends exactly the events of input_plan.h: the pointer is in place before a
// button goes down, chords go down in order and up in reverse, text is typed
// in chunks with a delay (any Unicode: libxdo binds spare keycodes).
#pragma once

#include <cstdint>

#include <memory>
#include <string>

#include "actions/executor.h"

namespace deskpilot::actions {

struct XdoOptions {
  std::string display;          // ":1"; empty means $DISPLAY
  InputPlanOptions plan;        // screen size (points outside are refused), drag steps
  int key_delay_us = 12000;     // between key events of a chord and between typed characters
  int type_chunk_chars = 50;    // text is typed this many characters at a time ...
  int type_chunk_pause_ms = 20; // ... with this pause between chunks
  int unbind_settle_ms = 100;   // characters missing from the keymap keep their bound keycodes this long after the text
  int motion_delay_us = 8000;   // between the motion events of a drag
};

class XdoExecutor final : public Executor {
 public:
  // nullptr and *error when the display cannot be opened.
  static std::unique_ptr<XdoExecutor> open(const XdoOptions& options, std::string* error);
  ~XdoExecutor() override;
  ExecutionResult execute(const Action& screen_action) override;
  // The window that has the keyboard focus now (0: none), so that the
  // safety guard keeps each window's typed line apart.
  uint64_t focused_window() const;

 private:
  struct Impl;
  explicit XdoExecutor(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

}  // namespace deskpilot::actions
