#include "actions/parser.h"

#include <cctype>
#include <charconv>
#include <cstring>
#include <cmath>
#include <vector>

#include "actions/keys.h"
#include "actions/text_util.h"

namespace deskpilot::actions {
namespace {

// ---------------------------------------------------------------------------
// Markers. The reference splits on "Action: " (with the space) and takes the
// text after the last one; we do the same, and only when there is none fall
// back to "Action:" with any spacing or the full-width colon "Action：".
constexpr std::string_view kActionMarker = "Action: ";
constexpr std::string_view kFullWidthColon = "\xef\xbc\x9a";  // U+FF1A

struct Marker {
  size_t pos = std::string_view::npos;  // where "Action" starts
  size_t end = 0;                       // first byte after the marker
  bool found() const { return pos != std::string_view::npos; }
};

// A lenient marker at `pos` ("Action" + blanks + ':' or '：'), or not found.
Marker lenient_marker_at(std::string_view s, size_t pos) {
  Marker m;
  if (s.compare(pos, 6, "Action") != 0) return m;
  size_t i = pos + 6;
  while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
  if (i < s.size() && s[i] == ':') {
    m.end = i + 1;
  } else if (s.compare(i, kFullWidthColon.size(), kFullWidthColon) == 0) {
    m.end = i + kFullWidthColon.size();
  } else {
    return m;
  }
  m.pos = pos;
  return m;
}

// First marker at or after `from`: the reference's "Action: " when the text
// has one anywhere, else the lenient form.
Marker first_marker(std::string_view s, size_t from, bool strict) {
  Marker m;
  if (strict) {
    size_t p = s.find(kActionMarker, from);
    if (p != std::string_view::npos) m = {p, p + kActionMarker.size()};
    return m;
  }
  for (size_t p = s.find("Action", from); p != std::string_view::npos;
       p = s.find("Action", p + 1)) {
    m = lenient_marker_at(s, p);
    if (m.found()) return m;
  }
  return m;
}

// std::string_view::rfind compares at every position; this jumps between 'A's.
size_t rfind_fast(std::string_view s, std::string_view needle) {
  if (needle.empty() || needle.size() > s.size()) return std::string_view::npos;
  size_t end = s.size() - needle.size() + 1;  // candidates start before `end`
  while (end > 0) {
    const void* hit = memrchr(s.data(), needle[0], end);
    if (!hit) return std::string_view::npos;
    const size_t p = static_cast<size_t>(static_cast<const char*>(hit) - s.data());
    if (s.compare(p, needle.size(), needle) == 0) return p;
    end = p;
  }
  return std::string_view::npos;
}

Marker last_marker(std::string_view s, bool strict) {
  Marker m;
  if (strict) {
    size_t p = rfind_fast(s, kActionMarker);
    if (p != std::string_view::npos) m = {p, p + kActionMarker.size()};
    return m;
  }
  for (size_t p = s.rfind("Action"); p != std::string_view::npos;
       p = p == 0 ? std::string_view::npos : s.rfind("Action", p - 1)) {
    m = lenient_marker_at(s, p);
    if (m.found()) return m;
  }
  return m;
}

// "Thought: " as the reference writes it, else "Thought:" / "Thought：" with
// any spacing. Returns the offset of the body, or npos.
size_t find_label(std::string_view s, std::string_view label, size_t from = 0) {
  for (size_t p = s.find(label, from); p != std::string_view::npos; p = s.find(label, p + 1)) {
    if (s.compare(p + label.size(), 2, ": ") == 0) return p + label.size() + 2;
  }
  for (size_t p = s.find(label, from); p != std::string_view::npos; p = s.find(label, p + 1)) {
    size_t i = p + label.size();
    if (i < s.size() && s[i] == ':') return i + 1;
    if (s.compare(i, kFullWidthColon.size(), kFullWidthColon) == 0) return i + kFullWidthColon.size();
  }
  return std::string_view::npos;
}

// ---------------------------------------------------------------------------
// The call parser: name(key='value', key2="value", 'positional', key3=5).
// It reads what Python's ast would (the reference evaluates each call with
// ast.parse) and is lenient where models are sloppy: an unescaped quote
// inside a string is content unless what follows it closes the argument,
// white space (new lines too) may separate anything, a missing final ')' is
// supplied, and unquoted tuples/lists are taken as text.

// No UI-TARS action takes more than four arguments; a fixed array keeps the
// parser free of allocations for the common case.
constexpr size_t kMaxArgs = 8;

struct Arg {
  std::string_view key;    // empty for a positional argument (a view into the input)
  std::string_view value;  // the string's content, number or tuple text: a view
                           // into the input, or into `decoded`
  std::optional<std::string> decoded;  // owns the value when escapes had to be decoded
  size_t pos = 0;          // offset of the value in the input
};

// Not copyable: an Arg's value may point into its own `decoded`.
struct Call {
  Call() = default;
  Call(const Call&) = delete;
  Call& operator=(const Call&) = delete;
  std::string_view name;   // a view into the input
  size_t pos = 0;
  Arg args[kMaxArgs];
  size_t arg_count = 0;

  // Ready for the next call; keeps the storage (see parse_action_calls).
  void reset() {
    for (size_t i = 0; i < arg_count; ++i) args[i] = Arg{};
    arg_count = 0;
  }
};

// ASCII only, without the locale lookups of <cctype>.
bool is_ident_start(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_'; }
bool is_ident_char(char c) { return is_ident_start(c) || (c >= '0' && c <= '9'); }
bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }
bool is_quote(char c) { return c == '\'' || c == '"'; }
// r'..', u'..': string prefixes Python accepts before a quote.
bool is_string_prefix(char c) { return c == 'r' || c == 'R' || c == 'u' || c == 'U'; }

// Identifiers longer than this are not looked at when deciding whether a quote
// closes a string; the bound keeps the parser linear on hostile input.
constexpr size_t kMaxLookaheadIdent = 64;

class CallParser {
 public:
  CallParser(std::string_view s, size_t base) : s_(s), base_(base) {}

  // True once only white space is left.
  bool done() {
    skip_blanks();
    return at_end();
  }
  ParseError no_action() const { return error("no action after 'Action:'", i_); }

 private:
  bool at_end() const { return i_ >= s_.size(); }
  void skip_blanks() {
    while (!at_end() && is_blank(s_[i_])) ++i_;
  }
  size_t skip_blanks_from(size_t k) const {
    while (k < s_.size() && is_blank(s_[k])) ++k;
    return k;
  }
  ParseError error(std::string reason, size_t at) const { return {std::move(reason), base_ + at}; }
  std::string excerpt(size_t at) const {
    std::string out(s_.substr(at, 24));
    for (char& c : out) {
      if (c == '\n') c = ' ';
    }
    return out;
  }

  // Length of an identifier at k (at most kMaxLookaheadIdent+1 looked at).
  size_t ident_length(size_t k, size_t limit) const {
    if (k >= s_.size() || !is_ident_start(s_[k])) return 0;
    size_t n = 1;
    while (k + n < s_.size() && n <= limit && is_ident_char(s_[k + n])) ++n;
    return n;
  }

  // Whether the quote just before `k` can close a string: what follows must
  // continue an argument list (", key=", ", 'next'", ")") and a ')' must end
  // the text or be followed by another call.
  bool closes_string(size_t k) const {
    k = skip_blanks_from(k);
    if (k >= s_.size()) return true;
    if (s_[k] == ',') {
      k = skip_blanks_from(k + 1);
      if (k >= s_.size() || s_[k] == ')' || is_quote(s_[k])) return true;
      if (k + 1 < s_.size() && is_string_prefix(s_[k]) && is_quote(s_[k + 1])) return true;
      size_t n = ident_length(k, kMaxLookaheadIdent);
      if (n == 0 || n > kMaxLookaheadIdent) return false;
      k = skip_blanks_from(k + n);
      return k < s_.size() && s_[k] == '=' && (k + 1 >= s_.size() || s_[k + 1] != '=');
    }
    if (s_[k] != ')') return false;
    k = skip_blanks_from(k + 1);
    if (k >= s_.size()) return true;
    // Another call: name or dotted.name then '('.
    while (true) {
      size_t n = ident_length(k, kMaxLookaheadIdent);
      if (n == 0 || n > kMaxLookaheadIdent) return false;
      k += n;
      if (k < s_.size() && s_[k] == '.') {
        ++k;
        continue;
      }
      break;
    }
    k = skip_blanks_from(k);
    return k < s_.size() && s_[k] == '(';
  }

  std::optional<ParseError> parse_string(Arg* arg) {
    bool raw = false;
    if (s_[i_] == 'r' || s_[i_] == 'R') raw = true;
    if (!is_quote(s_[i_])) ++i_;  // string prefix
    const char quote = s_[i_];
    const size_t open = i_;
    size_t first_candidate = std::string_view::npos;
    size_t close = std::string_view::npos;
    for (size_t k = open + 1; k < s_.size(); ++k) {
      if (s_[k] == '\\' && !raw) {
        ++k;
        continue;
      }
      if (s_[k] != quote) continue;
      if (first_candidate == std::string_view::npos) first_candidate = k;
      if (closes_string(k + 1)) {
        close = k;
        break;
      }
    }
    if (close == std::string_view::npos) close = first_candidate;
    if (close == std::string_view::npos) {
      return error("unterminated string starting at " + excerpt(open), open);
    }
    const std::string_view body = s_.substr(open + 1, close - open - 1);
    if (!raw && body.find('\\') != std::string_view::npos) {
      arg->decoded = decode_python_string(body, raw);
      arg->value = *arg->decoded;
    } else {
      arg->value = body;
    }
    arg->pos = base_ + open + 1;
    i_ = close + 1;
    return std::nullopt;
  }

  // An unquoted tuple or list such as (100, 200) or [1,2,3,4]: its text.
  std::optional<ParseError> parse_bracketed(Arg* arg) {
    const size_t open = i_;
    const char closer = s_[i_] == '(' ? ')' : ']';
    size_t k = open + 1;
    while (k < s_.size() && s_[k] != closer && s_[k] != '\'' && s_[k] != '"') ++k;
    if (k >= s_.size() || s_[k] != closer) {
      return error(std::string("unterminated '") + s_[open] + "' in argument", open);
    }
    arg->value = s_.substr(open, k + 1 - open);
    arg->pos = base_ + open;
    i_ = k + 1;
    return std::nullopt;
  }

  std::optional<ParseError> parse_value(Arg* arg) {
    if (at_end()) return error("expected a value", i_);
    const char c = s_[i_];
    if (is_quote(c) || (is_string_prefix(c) && i_ + 1 < s_.size() && is_quote(s_[i_ + 1]))) {
      if (auto e = parse_string(arg)) return e;
      // Implicit concatenation, as in Python: 'a' 'b' == 'ab'.
      size_t k = skip_blanks_from(i_);
      while (k < s_.size() && is_quote(s_[k])) {
        i_ = k;
        Arg next;
        if (auto e = parse_string(&next)) return e;
        arg->decoded = std::string(arg->value) + std::string(next.value);
        arg->value = *arg->decoded;
        k = skip_blanks_from(i_);
      }
      return std::nullopt;
    }
    if (c == '(' || c == '[') return parse_bracketed(arg);
    // A number or a bare word (True, None, 5, -3.5): its text.
    const size_t start = i_;
    while (!at_end() && (is_ident_char(s_[i_]) || s_[i_] == '.' || s_[i_] == '-' || s_[i_] == '+')) ++i_;
    if (i_ == start) return error("expected a value, got '" + excerpt(start) + "'", start);
    arg->value = s_.substr(start, i_ - start);
    arg->pos = base_ + start;
    return std::nullopt;
  }

 public:
  std::optional<ParseError> parse_call(Call* call) {
    size_t n = ident_length(i_, s_.size());
    if (n == 0) return error("expected an action such as click(...), got '" + excerpt(i_) + "'", i_);
    // pyautogui.click(...) names the function by its last component.
    while (true) {
      call->name = s_.substr(i_, n);
      call->pos = base_ + i_;
      i_ += n;
      if (!at_end() && s_[i_] == '.' && (n = ident_length(i_ + 1, s_.size())) > 0) {
        ++i_;
        continue;
      }
      break;
    }
    skip_blanks();
    if (at_end() || s_[i_] != '(') {
      return error("expected '(' after '" + std::string(call->name) + "'", at_end() ? s_.size() : i_);
    }
    ++i_;
    while (true) {
      skip_blanks();
      if (at_end()) return std::nullopt;  // missing ')' at the very end: supplied
      if (s_[i_] == ')') {
        ++i_;
        return std::nullopt;
      }
      if (call->arg_count == kMaxArgs) {
        return error("too many arguments to " + std::string(call->name) + "(...)", i_);
      }
      Arg& arg = call->args[call->arg_count++];
      const size_t key_len = ident_length(i_, s_.size());
      if (key_len > 0) {
        size_t k = skip_blanks_from(i_ + key_len);
        if (k < s_.size() && s_[k] == '=' && (k + 1 >= s_.size() || s_[k + 1] != '=')) {
          arg.key = s_.substr(i_, key_len);
          i_ = skip_blanks_from(k + 1);
        }
      }
      if (auto e = parse_value(&arg)) return e;
      skip_blanks();
      if (at_end()) return std::nullopt;
      if (s_[i_] == ',') {
        ++i_;
        continue;
      }
      if (s_[i_] == ')') {
        ++i_;
        return std::nullopt;
      }
      return error("expected ',' or ')' in " + std::string(call->name) + "(...), got '" + excerpt(i_) + "'", i_);
    }
  }

 private:
  std::string_view s_;
  size_t base_ = 0;
  size_t i_ = 0;
};

// ---------------------------------------------------------------------------
// Arguments -> typed actions.

std::string_view canonical_key(std::string_view key) {
  if (key == "point") return "start_box";
  if (key == "start_point") return "start_box";
  if (key == "end_point") return "end_box";
  if (key == "text") return "content";
  return key;
}

struct Args {
  const Call& call;
  // The value of a keyword (any alias), else positional argument `index`.
  // Empty values count as absent and leading white space is dropped, as in
  // the reference (`if param == "": continue; param = param.lstrip()`).
  const Arg* get(std::initializer_list<std::string_view> keys, int positional = -1) const {
    for (size_t i = 0; i < call.arg_count; ++i) {
      const Arg& a = call.args[i];
      if (a.key.empty() || python_lstrip(a.value).empty()) continue;
      const std::string_view k = canonical_key(a.key);
      for (auto want : keys) {
        if (k == want) return &a;
      }
    }
    int index = 0;
    for (size_t i = 0; i < call.arg_count; ++i) {
      const Arg& a = call.args[i];
      if (!a.key.empty()) continue;
      if (index++ == positional && !python_lstrip(a.value).empty()) return &a;
    }
    return nullptr;
  }
};

std::string lstripped(const Arg& a) { return std::string(python_lstrip(a.value)); }

std::optional<ParseError> parse_number(std::string_view text, size_t pos, double* out) {
  std::string_view t = text;
  bool negative = false;
  if (!t.empty() && (t[0] == '+' || t[0] == '-')) {
    negative = t[0] == '-';
    t.remove_prefix(1);
  }
  // Fast path: coordinates are nearly always small integers, exact in a double.
  if (!t.empty() && t.size() <= 15) {
    int64_t n = 0;
    size_t k = 0;
    while (k < t.size() && t[k] >= '0' && t[k] <= '9') n = n * 10 + (t[k++] - '0');
    if (k == t.size()) {
      *out = static_cast<double>(negative ? -n : n);
      return std::nullopt;
    }
  }
  double v = 0;
  auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
  if (t.empty() || ec != std::errc() || ptr != t.data() + t.size() || !std::isfinite(v)) {
    return ParseError{"'" + std::string(text) + "' is not a number", pos};
  }
  *out = negative ? -v : v;
  return std::nullopt;
}

constexpr double kMaxCoordinate = 1e6;

// "(x,y)", "(x1,y1,x2,y2)", "<|box_start|>(x,y)<|box_end|>", "<point>x y</point>",
// "<bbox>x1 y1 x2 y2</bbox>", "[x,y]", "x, y": a point, or the centre of a box.
// Tags (<...>) and brackets are separators; what is left must be 2 or 4 numbers.
std::optional<ParseError> parse_point(const Arg& arg, std::string_view what, Point* out) {
  const std::string_view s = arg.value;
  auto is_separator = [](char c) {
    return c == ' ' || c == ',' || c == '(' || c == ')' || c == '[' || c == ']' || is_blank(c);
  };
  auto shape_error = [&] {
    return ParseError{std::string(what) + ": expected a point (x,y) or a box (x1,y1,x2,y2), got '" +
                          std::string(arg.value) + "'",
                      arg.pos};
  };
  double numbers[4];
  size_t count = 0;
  size_t i = 0;
  while (i < s.size()) {
    if (is_separator(s[i])) {
      ++i;
      continue;
    }
    if (s[i] == '<') {
      const size_t close = s.find('>', i);
      if (close == std::string_view::npos) return shape_error();
      i = close + 1;
      continue;
    }
    size_t j = i;
    while (j < s.size() && !is_separator(s[j]) && s[j] != '<') ++j;
    if (count == 4) return shape_error();
    if (auto e = parse_number(s.substr(i, j - i), arg.pos, &numbers[count])) {
      e->reason = std::string(what) + ": " + e->reason + " in '" + std::string(arg.value) + "'";
      return e;
    }
    ++count;
    i = j;
  }
  if (count != 2 && count != 4) return shape_error();
  // No screen or model space is a million pixels wide: larger numbers would
  // only overflow when mapped (1e308 became infinity, printed as null).
  for (size_t k = 0; k < count; ++k) {
    if (std::fabs(numbers[k]) > kMaxCoordinate) {
      return ParseError{std::string(what) + ": coordinates out of range (|v| <= 1e6) in '" + std::string(arg.value) + "'",
                        arg.pos};
    }
  }
  if (count == 2) {
    *out = {numbers[0], numbers[1]};
  } else {
    *out = {(numbers[0] + numbers[2]) / 2.0, (numbers[1] + numbers[3]) / 2.0};
  }
  return std::nullopt;
}

std::optional<ParseError> require_point(const Args& args, std::string_view key, int positional,
                                        const Call& call, std::optional<Point>* out) {
  const Arg* a = args.get({key}, positional);
  if (!a) {
    return ParseError{std::string(call.name) + "(...) needs " + std::string(key), call.pos};
  }
  Point p;
  if (auto e = parse_point(*a, key, &p)) return e;
  *out = p;
  return std::nullopt;
}

std::optional<ParseError> parse_keys(const Args& args, const Call& call, Action* action) {
  const Arg* a = args.get({"key", "hotkey", "keys", "press"}, 0);
  if (!a) return ParseError{std::string(call.name) + "(...) needs key", call.pos};
  auto chord = parse_key_chord(python_lstrip(a->value));
  if (!chord.error.empty()) return ParseError{chord.error, a->pos};
  for (auto& k : chord.keys) action->keys.push_back(std::move(k.name));
  return std::nullopt;
}

std::optional<ParseError> parse_seconds(const Args& args, std::initializer_list<std::string_view> keys,
                                        double fallback, double* out) {
  *out = fallback;
  const Arg* a = args.get(keys);
  if (!a) return std::nullopt;
  std::string_view v = python_strip(a->value);
  if (v.size() > 1 && v.back() == 's') v.remove_suffix(1);  // "5s"
  if (auto e = parse_number(v, a->pos, out)) return e;
  if (*out < 0) return ParseError{"duration must not be negative: '" + std::string(a->value) + "'", a->pos};
  return std::nullopt;
}

std::optional<ParseError> build_action(const Call& call, Action* action) {
  auto type = action_type_from_name(call.name);
  if (!type) return ParseError{"unknown action '" + std::string(call.name) + "'", call.pos};
  action->type = *type;
  const Args args{call};
  switch (*type) {
    case ActionType::kClick:
    case ActionType::kLeftDouble:
    case ActionType::kRightSingle:
    case ActionType::kHover:
      return require_point(args, "start_box", 0, call, &action->start);
    case ActionType::kLongPress:
      if (auto e = require_point(args, "start_box", 0, call, &action->start)) return e;
      return parse_seconds(args, {"time", "duration", "seconds"}, kDefaultLongPressSeconds,
                           &action->seconds);
    case ActionType::kDrag:
      if (auto e = require_point(args, "start_box", 0, call, &action->start)) return e;
      return require_point(args, "end_box", 1, call, &action->end);
    case ActionType::kHotkey:
    case ActionType::kPress:
    case ActionType::kRelease:
      return parse_keys(args, call, action);
    case ActionType::kType: {
      const Arg* a = args.get({"content"}, 0);
      if (a) action->text = lstripped(*a);
      // A trailing newline means "and submit" (press Return).
      if (!action->text.empty() && action->text.back() == '\n') {
        action->text.pop_back();
        action->submit = true;
      }
      return std::nullopt;
    }
    case ActionType::kScroll: {
      if (args.get({"start_box"})) {
        if (auto e = require_point(args, "start_box", -1, call, &action->start)) return e;
      }
      const Arg* d = args.get({"direction"}, 0);
      if (!d) return ParseError{"scroll(...) needs direction (up, down, left or right)", call.pos};
      std::string dir(python_strip(d->value));
      for (char& c : dir) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
      auto parsed = scroll_direction_from_name(dir);
      if (!parsed) {
        // The reference tests for the word inside ("up" in direction.lower()).
        for (std::string_view w : {"up", "down", "left", "right"}) {
          if (dir.find(w) != std::string::npos) {
            parsed = scroll_direction_from_name(w);
            break;
          }
        }
      }
      if (!parsed) {
        return ParseError{"scroll direction must be up, down, left or right, got '" + std::string(d->value) + "'",
                          d->pos};
      }
      action->direction = *parsed;
      if (const Arg* amount = args.get({"amount", "clicks"})) {
        double v = 0;
        if (auto e = parse_number(python_strip(amount->value), amount->pos, &v)) return e;
        if (v < 1 || v > 1000 || v != std::floor(v)) {
          return ParseError{"scroll amount must be a whole number from 1 to 1000, got '" +
                                std::string(amount->value) + "'",
                            amount->pos};
        }
        action->amount = static_cast<int>(v);
      }
      return std::nullopt;
    }
    case ActionType::kWait:
      return parse_seconds(args, {"time", "seconds", "duration"}, kDefaultWaitSeconds,
                           &action->seconds);
    case ActionType::kFinished:
    case ActionType::kCallUser:
      if (const Arg* a = args.get({"content"}, 0)) action->text = lstripped(*a);
      return std::nullopt;
    case ActionType::kOpenApp: {
      const Arg* a = args.get({"app_name", "app", "name"}, 0);
      if (!a) return ParseError{"open_app(...) needs app_name", call.pos};
      action->text = lstripped(*a);
      return std::nullopt;
    }
    case ActionType::kPressHome:
    case ActionType::kPressBack:
      return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace

std::string ParseError::message() const {
  return "position " + std::to_string(position) + ": " + reason;
}

namespace {

// Parses the calls into `actions`; on an error `actions` is left empty.
std::optional<ParseError> parse_calls_into(std::string_view calls, size_t base,
                                           std::vector<Action>* actions) {
  CallParser parser(calls, base);
  if (parser.done()) return parser.no_action();
  // One call at a time: parse it, then turn it into an action.
  while (!parser.done()) {
    // One Call per thread, reused: constructing its argument array for every
    // call cost a fifth of the parse time.
    thread_local Call call;
    call.reset();
    std::optional<ParseError> e = parser.parse_call(&call);
    Action action;  // default-initialised: emplace_back() would zero it first
    if (!e) e = build_action(call, &action);
    if (e) {
      actions->clear();
      return e;
    }
    actions->push_back(std::move(action));
  }
  return std::nullopt;
}

}  // namespace

ParseResult parse_action_calls(std::string_view calls, size_t base) {
  ParseResult out;
  out.error = parse_calls_into(calls, base, &out.response.actions);
  return out;
}

// One ParseResult, filled in place and returned from every path (no copies).
ParseResult parse_response(std::string_view raw) {
  ParseResult out;
  ParsedResponse& response = out.response;
  auto fail = [&](std::string reason, size_t position) {
    response = ParsedResponse{};
    out.error = ParseError{std::move(reason), position};
  };
  // Work on views into `raw` so that every error position is an offset in it.
  std::string_view text = python_strip(raw);
  size_t base = static_cast<size_t>(text.data() - raw.data());
  auto advance = [&](size_t n) {
    text.remove_prefix(n);
    base += n;
    const std::string_view stripped = python_lstrip(text);
    base += text.size() - stripped.size();
    text = python_rstrip(stripped);
  };
  // Some generations end with an end-of-sequence marker the tokenizer kept.
  for (std::string_view eos : {"[EOS]", "<|im_end|>", "<|endoftext|>"}) {
    if (text.size() >= eos.size() && text.substr(text.size() - eos.size()) == eos) {
      text = python_rstrip(text.substr(0, text.size() - eos.size()));
    }
  }

  // A reasoning block first: "<think>...</think>", or "...</think>" when the
  // chat template already opened it.
  constexpr std::string_view kThinkOpen = "<think>";
  constexpr std::string_view kThinkClose = "</think>";
  const size_t close = text.find(kThinkClose);
  if (text.substr(0, kThinkOpen.size()) == kThinkOpen) {
    if (close == std::string_view::npos) {
      fail("unterminated <think> block (no </think>)", base);
      return out;
    }
    response.reasoning = std::string(python_strip(text.substr(kThinkOpen.size(), close - kThinkOpen.size())));
    advance(close + kThinkClose.size());
  } else if (close != std::string_view::npos && text.substr(0, close).find(kThinkOpen) == std::string_view::npos &&
             text.substr(0, close).find("Action") == std::string_view::npos) {
    response.reasoning = std::string(python_strip(text.substr(0, close)));
    advance(close + kThinkClose.size());
  }

  // Thought / Reflection / Action_Summary, as the reference's regular
  // expressions read them: the body runs to the first "Action: " after it.
  // The reference's "Action: " when the text has one, else the lenient forms.
  Marker action = last_marker(text, /*strict=*/true);
  const bool strict = action.found();
  auto body_until_action = [&](size_t body) -> std::string {
    if (body >= text.size()) return {};
    Marker m = first_marker(text, body + 1, strict);
    size_t end = m.found() ? m.pos : text.size();
    return std::string(python_strip(text.substr(body, end - body)));
  };
  if (text.starts_with("Reflection:")) {
    size_t body = find_label(text, "Reflection");
    size_t summary = body == std::string_view::npos ? body : text.find("Action_Summary:", body + 1);
    if (summary != std::string_view::npos) {
      response.reflection = std::string(python_strip(text.substr(body, summary - body)));
      response.thought = body_until_action(find_label(text, "Action_Summary", summary));
    }
  } else if (text.starts_with("Action_Summary:")) {
    response.thought = body_until_action(find_label(text, "Action_Summary"));
  } else {
    size_t body = find_label(text, "Thought");
    if (body != std::string_view::npos) response.thought = body_until_action(body);
  }

  if (!strict) action = last_marker(text, /*strict=*/false);
  if (!action.found()) {
    // No "Action:" at all: accept the text only if it is nothing but calls.
    if (response.thought || parse_calls_into(text, base, &response.actions)) {
      fail("no 'Action:' in the model output", base);
    }
    return out;
  }
  if (auto e = parse_calls_into(text.substr(action.end), base + action.end, &response.actions)) {
    response = ParsedResponse{};
    out.error = std::move(e);
  }
  return out;
}

}  // namespace deskpilot::actions
