#include "agent/cli_common.h"

#include "agent/file_util.h"

#include <charconv>
#include <iostream>
#include <sstream>

namespace deskpilot::agent {

std::optional<vision::Size> parse_size(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  if (x == std::string::npos) return std::nullopt;
  vision::Size s;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p1, e1] = std::from_chars(begin, begin + x, s.width);
  auto [p2, e2] = std::from_chars(begin + x + 1, end, s.height);
  if (e1 != std::errc() || e2 != std::errc() || p1 != begin + x || p2 != end) return std::nullopt;
  if (s.width <= 0 || s.height <= 0 || s.width > 1'000'000 || s.height > 1'000'000) return std::nullopt;
  return s;
}

bool read_input(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return true;
  }
  return read_file(path, out, error);
}

}  // namespace deskpilot::agent
