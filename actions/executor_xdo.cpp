#include "actions/executor_xdo.h"

extern "C" {
#include <xdo.h>
}

#include <chrono>
#include <thread>

#include "actions/keys.h"

namespace deskpilot::actions {
namespace {

// Splits UTF-8 text into chunks of at most `chars` code points, never inside
// a multi-byte character.
std::vector<std::string> utf8_chunks(const std::string& text, int chars) {
  std::vector<std::string> out;
  std::string chunk;
  int count = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    const auto c = static_cast<unsigned char>(text[i]);
    const bool starts_char = (c & 0xc0) != 0x80;
    if (starts_char && count == chars) {
      out.push_back(std::move(chunk));
      chunk.clear();
      count = 0;
    }
    if (starts_char) ++count;
    chunk.push_back(text[i]);
  }
  if (!chunk.empty()) out.push_back(std::move(chunk));
  return out;
}

}  // namespace

struct XdoExecutor::Impl {
  xdo_t* xdo = nullptr;
  XdoOptions options;
  ~Impl() {
    if (xdo) xdo_free(xdo);
  }

  // The X keysym name libxdo understands for a canonical key name.
  static std::string xname(const std::string& key) {
    auto info = lookup_key(key);
    return info ? info->xname : key;
  }

  // libxdo drops '\n' and '\t' inside text: those become Return and Tab
  // key presses; the rest is typed in chunks.
  int type_text(const std::string& text) {
    size_t start = 0;
    while (start <= text.size()) {
      size_t stop = text.find_first_of("\n\t", start);
      if (stop == std::string::npos) stop = text.size();
      for (const auto& chunk : utf8_chunks(text.substr(start, stop - start), options.type_chunk_chars)) {
        if (int rc = xdo_enter_text_window(xdo, CURRENTWINDOW, chunk.c_str(),
                                           static_cast<useconds_t>(options.key_delay_us))) {
          return rc;
        }
        std::this_thread::sleep_for(std::chrono::milliseconds(options.type_chunk_pause_ms));
      }
      if (stop == text.size()) break;
      const char* key = text[stop] == '\n' ? "Return" : "Tab";
      if (int rc = xdo_send_keysequence_window(xdo, CURRENTWINDOW, key,
                                               static_cast<useconds_t>(options.key_delay_us))) {
        return rc;
      }
      start = stop + 1;
    }
    return 0;
  }

  bool send(const InputEvent& e, std::string* error) {
    int rc = 0;
    switch (e.kind) {
      case InputEventKind::kMouseMove:
        rc = xdo_move_mouse(xdo, e.x, e.y, 0);
        break;
      case InputEventKind::kButtonDown:
        rc = xdo_mouse_down(xdo, CURRENTWINDOW, e.button);
        break;
      case InputEventKind::kButtonUp:
        rc = xdo_mouse_up(xdo, CURRENTWINDOW, e.button);
        break;
      case InputEventKind::kKeyDown:
        rc = xdo_send_keysequence_window_down(xdo, CURRENTWINDOW, xname(e.key).c_str(),
                                              static_cast<useconds_t>(options.key_delay_us));
        break;
      case InputEventKind::kKeyUp:
        rc = xdo_send_keysequence_window_up(xdo, CURRENTWINDOW, xname(e.key).c_str(),
                                            static_cast<useconds_t>(options.key_delay_us));
        break;
      case InputEventKind::kText:
        rc = type_text(e.text);
        break;
      case InputEventKind::kSleep:
        std::this_thread::sleep_for(std::chrono::milliseconds(e.milliseconds));
        break;
    }
    if (rc != 0) {
      *error = "libxdo failed to send '" + describe_event(e) + "'";
      return false;
    }
    if (e.kind == InputEventKind::kMouseMove) {
      // Let the server process the motion before a button goes down.
      std::this_thread::sleep_for(std::chrono::microseconds(options.motion_delay_us));
    }
    return true;
  }
};

XdoExecutor::XdoExecutor(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
XdoExecutor::~XdoExecutor() = default;

std::unique_ptr<XdoExecutor> XdoExecutor::open(const XdoOptions& options, std::string* error) {
  auto impl = std::make_unique<Impl>();
  impl->options = options;
  impl->xdo = xdo_new(options.display.empty() ? nullptr : options.display.c_str());
  if (!impl->xdo) {
    *error = "cannot open X display '" + options.display + "' for input";
    return nullptr;
  }
  return std::unique_ptr<XdoExecutor>(new XdoExecutor(std::move(impl)));
}

ExecutionResult XdoExecutor::execute(const Action& a) {
  InputPlan plan = plan_input(a, impl_->options.plan);
  ExecutionResult result;
  result.ok = plan.ok();
  result.error = plan.error;
  if (!result.ok) return result;
  for (const auto& e : plan.events) {
    if (!impl_->send(e, &result.error)) {
      result.ok = false;
      return result;
    }
    result.events.push_back(e);
  }
  return result;
}

}  // namespace deskpilot::actions
