#include "base/clock.h"

#include <cstdio>
#include <ctime>

namespace deskpilot::base {

std::string iso8601_now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t t = std::chrono::system_clock::to_time_t(now);
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  localtime_r(&t, &tm);
  char buf[64];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char zone[8];
  std::strftime(zone, sizeof zone, "%z", &tm);  // +0000
  const std::string z(zone);
  char out[96];
  std::snprintf(out, sizeof out, "%s.%03d%s:%s", buf, static_cast<int>(ms), z.substr(0, 3).c_str(),
                z.size() >= 5 ? z.substr(3, 2).c_str() : "00");
  return out;
}

}  // namespace deskpilot::base
