#include "cli/common.h"

#include "base/files.h"

#include <charconv>
#include <iostream>
#include <sstream>

namespace deskpilot::cli {

std::optional<multimodal::Size> parse_size(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  if (x == std::string::npos) return std::nullopt;
  multimodal::Size s;
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
  return base::read_file(path, out, error);
}

std::unique_ptr<policies::Policy> policy_for_command(const agent::PolicySpec& spec,
                                                     std::unique_ptr<agent::PolicyFactory>* factory, int* exit_code,
                                                     std::string* error) {
  *factory = agent::PolicyFactory::create(spec, error);
  if (!*factory) {
    *exit_code = 2;
    return nullptr;
  }
  auto policy = (*factory)->make(error);
  if (!policy) *exit_code = 1;
  return policy;
}

}  // namespace deskpilot::cli
