#include "actions/executor_xdo.h"

extern "C" {
#include <X11/Xlib.h>
#include <X11/extensions/XTest.h>
#include <xdo.h>
}

#include <chrono>
#include <map>
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

// Code points of UTF-8 text with the byte range of each.
struct Utf8Char {
  char32_t cp;
  size_t begin, end;
};
std::vector<Utf8Char> utf8_chars(const std::string& s) {
  std::vector<Utf8Char> out;
  for (size_t i = 0; i < s.size();) {
    const auto c = static_cast<unsigned char>(s[i]);
    const size_t len = c < 0x80 ? 1 : (c >> 5) == 0x6 ? 2 : (c >> 4) == 0xe ? 3 : 4;
    char32_t cp = len == 1 ? c : len == 2 ? (c & 0x1f) : len == 3 ? (c & 0x0f) : (c & 0x07);
    for (size_t k = 1; k < len && i + k < s.size(); ++k) cp = (cp << 6) | (static_cast<unsigned char>(s[i + k]) & 0x3f);
    out.push_back({cp, i, std::min(i + len, s.size())});
    i += len;
  }
  return out;
}

// Characters the keyboard map lacks (CJK, emoji, accented letters on a US
// map) need a keycode bound to their keysym while they are typed. libxdo
// binds one scratch keycode and takes the binding back right after the key
// press, so a client that looks the keysym up a moment later (any busy
// client) finds nothing and drops the character. Here each such character
// gets its own spare keycode, bound until the whole text is typed and
// `settle_ms` more have passed.
class KeyBinder {
 public:
  KeyBinder(Display* d, int settle_ms) : d_(d), settle_ms_(settle_ms) {
    int lo = 0, hi = 0, per = 0;
    XDisplayKeycodes(d_, &lo, &hi);
    KeySym* map = XGetKeyboardMapping(d_, static_cast<KeyCode>(lo), hi - lo + 1, &per);
    for (int k = lo; map && k <= hi; ++k) {
      bool empty = true;
      for (int j = 0; j < per; ++j) empty = empty && map[(k - lo) * per + j] == NoSymbol;
      if (empty) spare_.push_back(static_cast<KeyCode>(k));
    }
    if (map) XFree(map);
  }
  ~KeyBinder() { release(); }

  bool usable() const { return !spare_.empty(); }

  // Presses and releases the character through a keycode bound to it.
  void type(char32_t cp, useconds_t delay_us) {
    auto it = bound_.find(cp);
    if (it == bound_.end()) {
      if (bound_.size() == spare_.size()) release();  // every spare keycode in use: settle, unbind, reuse
      const KeyCode code = spare_[bound_.size()];
      // Latin-1 keysyms are the code point; the rest are 0x1000000 + code point.
      KeySym sym = (cp >= 0x20 && cp <= 0x7e) || (cp >= 0xa0 && cp <= 0xff) ? cp : 0x1000000 + cp;
      KeySym syms[2] = {sym, sym};  // both levels: a lone letter keysym would be read as its lower case
      XChangeKeyboardMapping(d_, code, 2, syms, 1);
      XSync(d_, False);
      it = bound_.emplace(cp, code).first;
    }
    XTestFakeKeyEvent(d_, it->second, True, CurrentTime);
    XFlush(d_);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us / 2));
    XTestFakeKeyEvent(d_, it->second, False, CurrentTime);
    XFlush(d_);
    std::this_thread::sleep_for(std::chrono::microseconds(delay_us / 2));
  }

  // Waits for clients to catch up, then gives the keycodes back.
  void release() {
    if (bound_.empty()) return;
    XSync(d_, False);
    std::this_thread::sleep_for(std::chrono::milliseconds(settle_ms_));
    for (const auto& [cp, code] : bound_) {
      KeySym none[2] = {NoSymbol, NoSymbol};
      XChangeKeyboardMapping(d_, code, 2, none, 1);
    }
    XSync(d_, False);
    bound_.clear();
  }

 private:
  Display* d_;
  int settle_ms_;
  std::vector<KeyCode> spare_;         // keycodes with no keysyms in the server's map
  std::map<char32_t, KeyCode> bound_;  // characters bound for the current text
};

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

  // Whether libxdo finds the character in the keyboard map it loaded.
  bool in_keymap(char32_t cp) const {
    for (int i = 0; i < xdo->charcodes_len; ++i)
      if (static_cast<char32_t>(xdo->charcodes[i].key) == cp) return true;
    return false;
  }

  // Types a run of text without newlines or tabs: characters in the keymap
  // through libxdo, the others through keycodes bound for them.
  int type_run(const std::string& run, KeyBinder* binder) {
    const useconds_t delay = static_cast<useconds_t>(options.key_delay_us);
    std::string pending;  // characters libxdo can type, not yet sent
    const auto flush = [&]() -> int {
      if (pending.empty()) return 0;
      const int rc = xdo_enter_text_window(xdo, CURRENTWINDOW, pending.c_str(), delay);
      pending.clear();
      return rc;
    };
    for (const Utf8Char& c : utf8_chars(run)) {
      if (in_keymap(c.cp) || !binder->usable()) {
        pending.append(run, c.begin, c.end - c.begin);
        continue;
      }
      if (int rc = flush()) return rc;
      binder->type(c.cp, delay);
    }
    return flush();
  }

  // libxdo drops '\n' and '\t' inside text: those become Return and Tab
  // key presses; the rest is typed in chunks.
  int type_text(const std::string& text) {
    KeyBinder binder(xdo->xdpy, options.unbind_settle_ms);
    size_t start = 0;
    while (start <= text.size()) {
      size_t stop = text.find_first_of("\n\t", start);
      if (stop == std::string::npos) stop = text.size();
      for (const auto& chunk : utf8_chunks(text.substr(start, stop - start), options.type_chunk_chars)) {
        if (int rc = type_run(chunk, &binder)) return rc;
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

uint64_t XdoExecutor::focused_window() const {
  // XGetInputFocus itself: libxdo's wrapper complains on stderr about
  // PointerRoot, which is what a display without a window manager reports.
  Window w = 0;
  int revert = 0;
  XGetInputFocus(impl_->xdo->xdpy, &w, &revert);
  return static_cast<uint64_t>(w);
}

}  // namespace deskpilot::actions
