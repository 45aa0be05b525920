#include "policies/instruction.h"

#include <algorithm>
#include <cctype>

#include "actions/keys.h"

namespace deskpilot::policies {
namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(const std::string& s) {
  size_t b = 0, e = s.size();
  while (b < e && std::isspace(static_cast<unsigned char>(s[b]))) ++b;
  while (e > b && std::isspace(static_cast<unsigned char>(s[e - 1]))) --e;
  return s.substr(b, e - b);
}

bool starts_with_word(const std::string& text, const std::string& word) {
  const std::string l = lower(text.substr(0, word.size()));
  if (l != word) return false;
  return text.size() == word.size() || !std::isalnum(static_cast<unsigned char>(text[word.size()]));
}

// Verbs that start a clause, longest spellings first.
const std::vector<std::string>& verbs() {
  static const std::vector<std::string> v = {
      "double-click", "double click", "doubleclick", "right-click", "right click", "rightclick", "click", "tap",
      "select", "choose", "hover", "move to", "type", "write", "enter text", "fill in", "fill", "press", "hit",
      "scroll", "wait"};
  return v;
}

std::optional<std::string> leading_verb(const std::string& text) {
  for (const std::string& v : verbs())
    if (starts_with_word(text, v)) return v;
  return std::nullopt;
}

// Drops a leading "then", "and", "and then", "finally", "please".
std::string strip_connectives(std::string s) {
  for (bool again = true; again;) {
    again = false;
    s = trim(s);
    for (const char* w : {"and then", "then", "and", "finally", "please", "now"}) {
      if (starts_with_word(s, w) && s.size() > std::string(w).size()) {
        s = s.substr(std::string(w).size());
        again = true;
        break;
      }
    }
  }
  return s;
}

// Removes one pair of surrounding quotes.
std::string unquote(const std::string& s) {
  const std::string t = trim(s);
  if (t.size() >= 2 && (t.front() == '"' || t.front() == '\'') && t.back() == t.front()) return t.substr(1, t.size() - 2);
  return t;
}

// A target phrase without "the", "on", trailing role words ("button", "field").
std::string target_phrase(std::string s) {
  s = trim(s);
  for (bool again = true; again;) {
    again = false;
    for (const char* w : {"on", "the", "over", "at", "to"}) {
      if (starts_with_word(s, w) && s.size() > std::string(w).size() + 1) {
        s = trim(s.substr(std::string(w).size()));
        again = true;
      }
    }
  }
  // A role word before the quoted name: the link "Eget", the button 'OK'.
  for (const char* role : {"button", "link", "field", "tab", "menu", "item", "icon", "checkbox", "option", "entry"}) {
    const size_t n = std::string(role).size();
    if (starts_with_word(s, role) && s.size() > n + 2) {
      const std::string rest = trim(s.substr(n));
      if (rest.front() == '"' || rest.front() == '\'') s = rest;
      break;
    }
  }
  if (!s.empty() && (s.front() == '"' || s.front() == '\'')) {
    const size_t close = s.find(s.front(), 1);
    if (close != std::string::npos) return s.substr(1, close - 1);
  }
  for (const char* role : {" button", " link", " field", " box", " text box", " textbox", " input", " tab", " menu",
                           " item", " icon", " checkbox", " check box", " option", " entry", " file", " folder"}) {
    const std::string r(role);
    if (s.size() > r.size() && lower(s.substr(s.size() - r.size())) == r) {
      s = trim(s.substr(0, s.size() - r.size()));
      break;
    }
  }
  return s;
}

// Position of `word` (lowercase, as a whole word) outside quotes, from `from`.
size_t find_word_outside_quotes(const std::string& s, const std::string& word, size_t from = 0) {
  char quote = 0;
  const std::string l = lower(s);
  for (size_t i = from; i < s.size(); ++i) {
    const char c = s[i];
    if (quote) {
      if (c == quote) quote = 0;
      continue;
    }
    if ((c == '"' || c == '\'') && (i == 0 || !std::isalnum(static_cast<unsigned char>(s[i - 1])))) {
      quote = c;
      continue;
    }
    if (l.compare(i, word.size(), word) == 0 && (i == 0 || s[i - 1] == ' ') &&
        (i + word.size() == s.size() || s[i + word.size()] == ' '))
      return i;
  }
  return std::string::npos;
}

std::optional<int> number_word(const std::string& w) {
  static const char* names[] = {"zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten"};
  for (int i = 0; i <= 10; ++i)
    if (lower(w) == names[i]) return i;
  if (!w.empty() && std::all_of(w.begin(), w.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); }))
    return std::stoi(w.substr(0, 6));
  return std::nullopt;
}

std::vector<std::string> words_of(const std::string& s) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : s) {
    if (std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur.push_back(c);
    }
  }
  if (!cur.empty()) out.push_back(cur);
  return out;
}

bool read_clause(const std::string& clause, Command* cmd, std::string* error) {
  const auto verb = leading_verb(clause);
  if (!verb) {
    *error = "does not start with an action (click, double-click, right-click, hover, type, fill in, press, scroll, wait)";
    return false;
  }
  std::string rest = trim(clause.substr(verb->size()));
  cmd->clause = clause;
  const std::string& v = *verb;
  if (v == "double-click" || v == "double click" || v == "doubleclick" || v == "right-click" || v == "right click" ||
      v == "rightclick" || v == "click" || v == "tap" || v == "select" || v == "choose" || v == "hover" ||
      v == "move to") {
    cmd->kind = v.rfind("double", 0) == 0 ? Command::Kind::kDoubleClick
                : v.rfind("right", 0) == 0 ? Command::Kind::kRightClick
                : (v == "hover" || v == "move to") ? Command::Kind::kHover
                                                   : Command::Kind::kClick;
    cmd->target = target_phrase(rest);
    if (cmd->target.empty()) {
      *error = "says what to do but not where (e.g. 'click Save')";
      return false;
    }
    return true;
  }
  if (v == "type" || v == "write" || v == "enter text") {
    cmd->kind = Command::Kind::kType;
    size_t into = find_word_outside_quotes(rest, "into");
    if (into == std::string::npos) into = find_word_outside_quotes(rest, "in");
    if (into != std::string::npos) {
      cmd->target = target_phrase(rest.substr(into + (lower(rest.substr(into, 4)) == "into" ? 4 : 2)));
      rest = rest.substr(0, into);
    }
    cmd->text = unquote(rest);
    if (cmd->text.empty()) {
      *error = "says to type but not what";
      return false;
    }
    return true;
  }
  if (v == "fill in" || v == "fill") {
    cmd->kind = Command::Kind::kType;
    const size_t with = find_word_outside_quotes(rest, "with");
    if (with == std::string::npos) {
      *error = "expected 'fill in FIELD with TEXT'";
      return false;
    }
    cmd->target = target_phrase(rest.substr(0, with));
    cmd->text = unquote(rest.substr(with + 4));
    if (cmd->target.empty() || cmd->text.empty()) {
      *error = "expected 'fill in FIELD with TEXT'";
      return false;
    }
    return true;
  }
  if (v == "press" || v == "hit") {
    cmd->kind = Command::Kind::kPress;
    std::string keys = unquote(target_phrase(rest));
    for (const char* suffix : {" keys", " key"}) {
      const std::string s(suffix);
      if (keys.size() > s.size() && lower(keys.substr(keys.size() - s.size())) == s) keys = keys.substr(0, keys.size() - s.size());
    }
    std::string chord;  // "ctrl-s" -> "ctrl s", "Control+S" -> "Control+S"
    for (size_t i = 0; i < keys.size(); ++i) chord.push_back(keys[i] == '-' && i > 0 && i + 1 < keys.size() ? ' ' : keys[i]);
    const actions::KeyParseResult parsed = actions::parse_key_chord(chord);
    if (!parsed.error.empty()) {
      *error = "keys '" + keys + "': " + parsed.error;
      return false;
    }
    for (const auto& k : parsed.keys) cmd->keys.push_back(k.name);
    return true;
  }
  if (v == "scroll") {
    cmd->kind = Command::Kind::kScroll;
    std::vector<std::string> w = words_of(lower(rest));
    if (w.empty()) w.push_back("down");
    auto dir = actions::scroll_direction_from_name(w[0]);
    if (!dir) {
      *error = "scroll which way? expected up, down, left or right";
      return false;
    }
    cmd->direction = *dir;
    for (size_t i = 1; i < w.size(); ++i)
      if (auto n = number_word(w[i])) cmd->amount = std::max(1, *n);
    return true;
  }
  // wait
  cmd->kind = Command::Kind::kWait;
  for (const std::string& w : words_of(lower(rest))) {
    if (auto n = number_word(w)) cmd->seconds = *n;
  }
  return true;
}

}  // namespace

std::vector<std::string> split_clauses(const std::string& instruction) {
  // Cut at ';' and '.'/',' followed by a space or the end, outside quotes;
  // then cut each piece again before "and"/"then" + verb.
  std::vector<std::string> pieces;
  std::string cur;
  char quote = 0;
  for (size_t i = 0; i < instruction.size(); ++i) {
    const char c = instruction[i];
    if (quote) {
      cur.push_back(c);
      if (c == quote) quote = 0;
      continue;
    }
    if ((c == '"' || c == '\'') && (i == 0 || !std::isalnum(static_cast<unsigned char>(instruction[i - 1])))) {
      quote = c;
      cur.push_back(c);
      continue;
    }
    const bool at_end = i + 1 == instruction.size() || instruction[i + 1] == ' ';
    if (c == ';' || c == '\n' || ((c == '.' || c == ',') && at_end)) {
      // A comma or full stop cuts only before a new action: "click Save, Open" stays whole.
      // ... or before "then": "click Save, then frobnicate" is two clauses (and an error).
      const std::string rest = trim(instruction.substr(i + 1));
      const bool then = starts_with_word(rest, "then") || starts_with_word(rest, "and then");
      if (c == ',' && !then && !leading_verb(strip_connectives(rest))) {
        cur.push_back(c);
        continue;
      }
      pieces.push_back(cur);
      cur.clear();
      continue;
    }
    cur.push_back(c);
  }
  pieces.push_back(cur);

  std::vector<std::string> clauses;
  for (const std::string& piece : pieces) {
    std::string p = strip_connectives(piece);
    size_t from = 0;
    while (true) {
      size_t cut = std::string::npos;
      for (const char* sep : {"and", "then"}) {
        for (size_t at = find_word_outside_quotes(p, sep, from); at != std::string::npos;
             at = find_word_outside_quotes(p, sep, at + 1)) {
          if (leading_verb(strip_connectives(p.substr(at)))) {
            cut = std::min(cut, at);
            break;
          }
        }
      }
      if (cut == std::string::npos) break;
      clauses.push_back(trim(p.substr(0, cut)));
      p = strip_connectives(p.substr(cut));
    }
    if (!trim(p).empty()) clauses.push_back(trim(p));
  }
  clauses.erase(std::remove_if(clauses.begin(), clauses.end(), [](const std::string& c) { return c.empty(); }),
                clauses.end());
  return clauses;
}

InstructionParse parse_instruction(const std::string& instruction) {
  InstructionParse out;
  const std::vector<std::string> clauses = split_clauses(instruction);
  if (clauses.empty()) {
    out.error = "the instruction is empty";
    return out;
  }
  for (size_t i = 0; i < clauses.size(); ++i) {
    Command cmd;
    std::string error;
    if (!read_clause(clauses[i], &cmd, &error)) {
      out.commands.clear();
      out.error = "clause " + std::to_string(i + 1) + " ('" + clauses[i] + "'): " + error;
      return out;
    }
    out.commands.push_back(cmd);
  }
  return out;
}

}  // namespace deskpilot::policies
