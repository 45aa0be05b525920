#include "actions/shell_check.h"

#include <algorithm>
#include <cctype>
#include <regex>
#include <set>

namespace deskpilot::actions {
namespace {

// One code point from UTF-8 at s[i] (advancing i); invalid bytes come back
// as themselves, one at a time.
char32_t next_code_point(std::string_view s, size_t* i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[k]); };
  const unsigned char c = b(*i);
  size_t n = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
  if (n == 0 || *i + n > s.size()) {
    ++*i;
    return c;
  }
  char32_t cp = n == 1 ? c : n == 2 ? (c & 0x1F) : n == 3 ? (c & 0x0F) : (c & 0x07);
  for (size_t k = 1; k < n; ++k) {
    if ((b(*i + k) & 0xC0) != 0x80) {
      ++*i;
      return c;
    }
    cp = (cp << 6) | (b(*i + k) & 0x3F);
  }
  *i += n;
  return cp;
}

void append_utf8(char32_t cp, std::string* out) {
  if (cp < 0x80) {
    out->push_back(static_cast<char>(cp));
  } else if (cp < 0x800) {
    out->push_back(static_cast<char>(0xC0 | (cp >> 6)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else if (cp < 0x10000) {
    out->push_back(static_cast<char>(0xE0 | (cp >> 12)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  } else {
    out->push_back(static_cast<char>(0xF0 | (cp >> 18)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 12) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | ((cp >> 6) & 0x3F)));
    out->push_back(static_cast<char>(0x80 | (cp & 0x3F)));
  }
}

// The ASCII character a look-alike stands for; 0: drop it; -1: not a look-alike.
int fold(char32_t cp) {
  if (cp >= 0xFF01 && cp <= 0xFF5E) return static_cast<int>(cp - 0xFEE0);  // fullwidth ASCII
  if (cp >= 0x1D400 && cp <= 0x1D6A3) {                                     // mathematical letters
    const int k = static_cast<int>((cp - 0x1D400) % 52);
    return k < 26 ? 'a' + k : 'a' + k - 26;
  }
  switch (cp) {
    case 0x00A0: case 0x1680: case 0x202F: case 0x205F: case 0x3000: return ' ';
    case 0x200B: case 0x200C: case 0x200D: case 0x2060: case 0xFEFF: case 0x00AD: return 0;
    case 0x2010: case 0x2011: case 0x2012: case 0x2013: case 0x2014: case 0x2015: case 0x2212: case 0xFE58:
    case 0xFE63: return '-';
    case 0x2018: case 0x2019: case 0x201A: case 0x201B: case 0x2032: case 0x02BC: return '\'';
    case 0x201C: case 0x201D: case 0x201E: case 0x201F: case 0x2033: return '"';
    case 0x2044: case 0x2215: case 0x29F8: return '/';
    case 0x2216: case 0x29F5: case 0xFE68: return '\\';
    case 0x2024: return '.';
    case 0x037E: return ';';  // Greek question mark
    // Cyrillic
    case 0x0430: case 0x0410: return 'a';
    case 0x0412: return 'b';
    case 0x0441: case 0x0421: return 'c';
    case 0x0501: return 'd';
    case 0x0435: case 0x0415: return 'e';
    case 0x04BB: case 0x041D: return 'h';
    case 0x0456: case 0x0406: return 'i';
    case 0x0458: case 0x0408: return 'j';
    case 0x041A: return 'k';
    case 0x041C: return 'm';
    case 0x043E: case 0x041E: return 'o';
    case 0x0440: case 0x0420: return 'p';
    case 0x051B: return 'q';
    case 0x0455: case 0x0405: return 's';
    case 0x0422: return 't';
    case 0x051D: return 'w';
    case 0x0445: case 0x0425: return 'x';
    case 0x0443: return 'y';
    // Greek
    case 0x03B1: case 0x0391: return 'a';
    case 0x0392: return 'b';
    case 0x03B5: case 0x0395: return 'e';
    case 0x0397: return 'h';
    case 0x03B9: case 0x0399: return 'i';
    case 0x03BA: case 0x039A: return 'k';
    case 0x039C: return 'm';
    case 0x039D: return 'n';
    case 0x03BF: case 0x039F: return 'o';
    case 0x03C1: case 0x03A1: return 'p';
    case 0x03C4: case 0x03A4: return 't';
    case 0x03C5: return 'u';
    case 0x03BD: return 'v';
    case 0x03C7: case 0x03A7: return 'x';
    case 0x03A5: return 'y';
    case 0x0396: return 'z';
    default: break;
  }
  if (cp >= 0x2000 && cp <= 0x200A) return ' ';
  return -1;
}

// $'...' (ANSI-C quoting) at s[i] == '$', s[i+1] == '\'': its decoded text; i past the closing quote.
std::string ansi_c_quoted(const std::string& s, size_t* i) {
  std::string out;
  size_t k = *i + 2;
  while (k < s.size() && s[k] != '\'') {
    if (s[k] != '\\' || k + 1 >= s.size()) {
      out.push_back(s[k++]);
      continue;
    }
    const char e = s[k + 1];
    k += 2;
    if (e == 'x') {
      int v = 0, n = 0;
      while (n < 2 && k < s.size() && std::isxdigit(static_cast<unsigned char>(s[k]))) {
        v = v * 16 + (std::isdigit(static_cast<unsigned char>(s[k])) ? s[k] - '0' : (s[k] | 0x20) - 'a' + 10);
        ++k, ++n;
      }
      out.push_back(static_cast<char>(v));
    } else if (e >= '0' && e <= '7') {
      int v = e - '0', n = 1;
      while (n < 3 && k < s.size() && s[k] >= '0' && s[k] <= '7') v = v * 8 + (s[k++] - '0'), ++n;
      out.push_back(static_cast<char>(v & 0xFF));
    } else {
      out.push_back(e == 'n' ? '\n' : e == 't' ? '\t' : e);
    }
  }
  *i = k;  // at the closing quote (or the end)
  return out;
}

const std::set<std::string>& system_folders() {
  static const std::set<std::string> s = {"/bin", "/boot", "/dev", "/etc", "/home", "/lib", "/lib32", "/lib64",
                                          "/opt", "/proc", "/root", "/sbin", "/srv", "/sys", "/usr", "/var",
                                          "/usr/bin", "/usr/lib", "/usr/local", "/usr/share", "/var/lib"};
  return s;
}

// /, ~, $HOME, * or a system folder, with or without trailing / or /*.
bool critical_path(std::string t) {
  while (!t.empty()) {
    if (t.size() >= 2 && t.compare(t.size() - 2, 2, "/*") == 0) t.resize(t.size() - 2);
    else if (t.size() >= 2 && t.compare(t.size() - 2, 2, "/.") == 0) t.resize(t.size() - 2);
    else if (t.back() == '/') t.pop_back();
    else break;
  }
  std::string collapsed;
  for (char c : t)
    if (!(c == '/' && !collapsed.empty() && collapsed.back() == '/')) collapsed.push_back(c);
  t = collapsed;
  static const std::set<std::string> roots = {"", "~", "$home", "${home}", "*", ".*", "~/*", "/*"};
  return roots.count(t) > 0 || system_folders().count(t) > 0;
}

bool block_device(const std::string& a) {
  static const std::regex re(R"(^/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk/|mapper/|dm-|md|loop|sr)[^ ]*$)");
  return std::regex_search(a, re);
}

// Short-option clusters and long options: does `args` have -X (in any
// cluster such as -rf) or --long?
bool has_flag(const std::vector<std::string>& args, char x, const char* long_name) {
  for (const auto& a : args) {
    if (a == "--") break;
    if (long_name && a == std::string("--") + long_name) return true;
    if (a.size() >= 2 && a[0] == '-' && a[1] != '-' && a.find(x) != std::string::npos &&
        std::all_of(a.begin() + 1, a.end(), [](char c) { return std::isalpha(static_cast<unsigned char>(c)); }))
      return true;
  }
  return false;
}

std::vector<std::string> operands(const std::vector<std::string>& args) {
  std::vector<std::string> out;
  bool options = true;
  for (const auto& a : args) {
    if (options && a == "--") {
      options = false;
      continue;
    }
    if (options && a.size() > 1 && a[0] == '-') continue;
    out.push_back(a);
  }
  return out;
}

std::string basename_of(const std::string& w) {
  const size_t slash = w.rfind('/');
  return slash == std::string::npos ? w : w.substr(slash + 1);
}

// The command a wrapper runs: sudo -u x rm ... -> rm ...
std::vector<std::string> unwrap(std::vector<std::string> words) {
  static const std::set<std::string> wrappers = {"sudo", "doas", "env", "command", "builtin", "exec", "nohup",
                                                 "nice", "time", "timeout", "busybox", "stdbuf", "ionice",
                                                 "setsid", "chroot", "su", "xargs", "then", "do", "else", "!"};
  while (!words.empty()) {
    const std::string head = basename_of(words[0]);
    if (words[0].find('=') != std::string::npos && words[0][0] != '=' && words[0][0] != '-') {
      words.erase(words.begin());  // VAR=value
    } else if (wrappers.count(head)) {
      words.erase(words.begin());
      // Their own options and arguments: -u user, -n 10, a duration, a chroot folder.
      while (!words.empty() && (words[0][0] == '-' || std::isdigit(static_cast<unsigned char>(words[0][0])) ||
                                (head == "chroot" && words[0][0] == '/'))) {
        const bool takes_value = words[0] == "-u" || words[0] == "-g" || words[0] == "-n" || words[0] == "-c";
        words.erase(words.begin());
        if (takes_value && !words.empty() && head != "su") words.erase(words.begin());
      }
    } else {
      break;
    }
  }
  if (!words.empty()) words[0] = basename_of(words[0]);
  return words;
}

bool is_shell(const std::string& name) {
  static const std::set<std::string> shells = {"sh", "bash", "zsh", "dash", "ksh", "fish", "csh", "tcsh", "ash",
                                               "eval", "source", "."};
  return shells.count(name) > 0;
}

std::optional<std::string> check_command(const std::vector<std::string>& raw) {
  const std::vector<std::string> w = unwrap(raw);
  if (w.empty()) return std::nullopt;
  const std::string& name = w[0];
  const std::vector<std::string> args(w.begin() + 1, w.end());
  const std::vector<std::string> targets = operands(args);
  const auto any_target = [&](auto&& pred) { return std::any_of(targets.begin(), targets.end(), pred); };
  for (const auto& a : args)
    if (a == "--no-preserve-root") return name + " --no-preserve-root";
  if (name == "rm" && has_flag(args, 'r', "recursive") && any_target(critical_path))
    return "recursive rm of / , ~ or a system folder";
  if ((name == "chmod" || name == "chown" || name == "chgrp") &&
      ((has_flag(args, 'r', "recursive") && any_target(critical_path)) ||
       any_target([](const std::string& t) { return t == "/"; })))
    return "recursive " + name + " of / , ~ or a system folder";
  if (name == "find" && !targets.empty() && critical_path(targets[0])) {
    for (size_t i = 0; i < args.size(); ++i) {
      if (args[i] == "-delete") return "find " + targets[0] + " -delete";
      if ((args[i] == "-exec" || args[i] == "-execdir" || args[i] == "-ok") && i + 1 < args.size() &&
          (basename_of(args[i + 1]) == "rm" || basename_of(args[i + 1]) == "shred"))
        return "find " + targets[0] + " -exec " + args[i + 1];
    }
  }
  if (name == "shred") return "shred";
  if (name == "mv" && targets.size() >= 2 &&
      std::any_of(targets.begin(), targets.end() - 1, [](const std::string& t) { return critical_path(t); }))
    return "mv of / , ~ or a system folder";
  static const std::set<std::string> disk_tools = {"mkfs", "mke2fs", "mkswap", "wipefs", "fdisk", "sfdisk", "cfdisk",
                                                   "gdisk", "sgdisk", "parted", "blkdiscard"};
  if (disk_tools.count(name) || name.rfind("mkfs.", 0) == 0) {
    if (!(name == "fdisk" || name == "sfdisk" || name == "parted") ||
        std::none_of(args.begin(), args.end(), [](const std::string& a) { return a == "-l" || a == "--list"; }))
      return name + " (formats or repartitions a disk)";
  }
  if (name == "dd")
    for (const auto& a : args)
      if (a.rfind("of=/dev/", 0) == 0 && a != "of=/dev/null" && a != "of=/dev/stdout" && a != "of=/dev/stderr")
        return "dd to a device (" + a + ")";
  if ((name == "tee" || name == "cp" || name == "install" || name == "cat" || name == "pv") && any_target(block_device))
    return name + " to a block device";
  static const std::set<std::string> power = {"shutdown", "reboot", "halt", "poweroff", "kexec"};
  if (power.count(name)) return name;
  if ((name == "init" || name == "telinit") && !targets.empty() &&
      (targets[0] == "0" || targets[0] == "6" || targets[0] == "s" || targets[0] == "1"))
    return name + " " + targets[0];
  if ((name == "systemctl" || name == "loginctl") && !targets.empty()) {
    static const std::set<std::string> verbs = {"poweroff", "reboot", "halt", "kexec", "suspend", "hibernate",
                                                "rescue", "emergency", "isolate", "kill-session", "terminate-session",
                                                "kill-user", "terminate-user"};
    if (verbs.count(targets[0])) return name + " " + targets[0];
  }
  if ((name == "kill" || name == "pkill" || name == "killall") && !args.empty() && args.back() == "-1" &&
      args.size() >= 2)
    return name + " ... -1 (every process)";
  if (name == "kill" && !targets.empty() && targets.back() == "1") return "kill 1 (init)";
  return std::nullopt;
}

bool decoder(const std::vector<std::string>& raw) {
  const std::vector<std::string> w = unwrap(raw);
  if (w.empty()) return false;
  const std::vector<std::string> args(w.begin() + 1, w.end());
  const std::string& n = w[0];
  if (n == "base64" || n == "base32" || n == "basenc")
    return has_flag(args, 'd', "decode") || std::find(args.begin(), args.end(), "-D") != args.end();
  if (n == "xxd") return has_flag(args, 'r', "revert");
  if (n == "openssl") return has_flag(args, 'd', nullptr) || std::find(args.begin(), args.end(), "base64") != args.end();
  return n == "uudecode" || n == "curl" || n == "wget" || n == "rev";
}

}  // namespace

std::string fold_confusables(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size();) {
    const char32_t cp = next_code_point(s, &i);
    if (cp < 0x80) {
      out.push_back(static_cast<char>(std::tolower(static_cast<int>(cp))));
      continue;
    }
    const int f = fold(cp);
    if (f > 0) out.push_back(static_cast<char>(std::tolower(f)));
    else if (f < 0) append_utf8(cp, &out);
  }
  return out;
}

std::string shell_normalise(std::string_view line) {
  const std::string s = fold_confusables(line);
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == '$' && i + 1 < s.size() && s[i + 1] == '\'') {
      out += ansi_c_quoted(s, &i);
      continue;
    }
    if (c == '\\' && i + 1 < s.size() && s[i + 1] == '\n') {  // a continued line
      ++i;
      continue;
    }
    if (c == '\'' || c == '"' || c == '\\') continue;
    if (c == '$') {
      // $IFS, ${IFS}: a space. $1..$9, $@, $*, and their braced forms: empty.
      static const char* const kSpace[] = {"${ifs}", "$ifs"};
      bool done = false;
      for (const char* k : kSpace) {
        const size_t n = std::char_traits<char>::length(k);
        if (s.compare(i, n, k) == 0) {
          out.push_back(' ');
          i += n - 1;
          done = true;
          break;
        }
      }
      if (done) continue;
      if (i + 1 < s.size() && ((s[i + 1] >= '1' && s[i + 1] <= '9') || s[i + 1] == '@' || s[i + 1] == '*')) {
        ++i;
        continue;
      }
      if (i + 3 < s.size() && s[i + 1] == '{' && s[i + 3] == '}' &&
          ((s[i + 2] >= '1' && s[i + 2] <= '9') || s[i + 2] == '@' || s[i + 2] == '*')) {
        i += 3;
        continue;
      }
    }
    out.push_back(c == '\t' || c == '\r' ? ' ' : c);
  }
  // White space collapsed, trimmed.
  std::string collapsed;
  for (char c : out) {
    if (c == ' ' && (collapsed.empty() || collapsed.back() == ' ' || collapsed.back() == '\n')) continue;
    if (c == '\n' && !collapsed.empty() && collapsed.back() == ' ') collapsed.pop_back();
    collapsed.push_back(c);
  }
  while (!collapsed.empty() && (collapsed.back() == ' ' || collapsed.back() == '\n')) collapsed.pop_back();
  return collapsed;
}

std::vector<std::vector<std::string>> simple_commands(const std::string& s) {
  std::vector<std::vector<std::string>> out(1);
  std::string word;
  const auto end_word = [&] {
    if (!word.empty()) out.back().push_back(word);
    word.clear();
  };
  const auto end_command = [&] {
    end_word();
    if (!out.back().empty()) out.emplace_back();
  };
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    if (c == ' ') {
      end_word();
    } else if (c == ';' || c == '&' || c == '|' || c == '(' || c == ')' || c == '{' || c == '}' || c == '`' ||
               c == '\n') {
      end_command();
    } else if (c == '$' && i + 1 < s.size() && s[i + 1] == '(') {
      end_command();
      ++i;
    } else if (c == '<' || c == '>') {
      end_word();  // a redirection ends the word before it: echo x>/dev/sda
      while (i + 1 < s.size() && (s[i + 1] == '>' || s[i + 1] == '&' || s[i + 1] == ' ')) ++i;
      // The target is skipped (it is checked as a redirection, not an operand).
      while (i + 1 < s.size() && s[i + 1] != ' ' && s[i + 1] != ';' && s[i + 1] != '|' && s[i + 1] != '&' &&
             s[i + 1] != '\n')
        ++i;
    } else {
      word.push_back(c);
    }
  }
  end_word();
  if (out.back().empty()) out.pop_back();
  return out;
}

std::optional<std::string> dangerous_command(std::string_view line) {
  const std::string n = shell_normalise(line);
  if (n.empty()) return std::nullopt;
  // Writes to a block device by redirection.
  static const std::regex redirect(R"(>\|?\s*/dev/(sd|hd|vd|xvd|nvme|mmcblk|disk/|mapper/|dm-|md|loop))");
  if (std::regex_search(n, redirect)) return "a write to a block device (> /dev/...)";
  // A function that calls itself twice through a pipe: :(){ :|:& };:
  static const std::regex bomb(R"(([^\s(){};|&]+)\s*\(\s*\)\s*\{[^}]*\1\s*\|\s*\1)");
  if (std::regex_search(n, bomb)) return "a fork bomb";
  const auto commands = simple_commands(n);
  bool decodes = false, shell = false;
  for (const auto& c : commands) {
    if (auto why = check_command(c)) return why;
    decodes = decodes || decoder(c);
    const auto w = unwrap(c);
    if (!w.empty() && is_shell(w[0])) {
      // A shell reading its commands from a pipe or -c, not running a script file.
      const auto ops = operands(std::vector<std::string>(w.begin() + 1, w.end()));
      shell = shell || ops.empty() || w[0] == "eval" || std::find(w.begin(), w.end(), "-c") != w.end() ||
              ops[0] == "/dev/stdin" || ops[0] == "-";
    }
  }
  if (decodes && shell) return "decoded or downloaded text run by a shell";
  return std::nullopt;
}

}  // namespace deskpilot::actions
