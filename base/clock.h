// Time for everything above: elapsed milliseconds and seconds on the steady
// clock, wall-clock timestamps for records, and one way to wait for a
// condition (poll_until) instead of a sleep loop per caller.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <thread>

namespace deskpilot::base {

using Clock = std::chrono::steady_clock;

inline double seconds_since(Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); }
inline double ms_since(Clock::time_point t) { return seconds_since(t) * 1000.0; }

// Local time as ISO 8601 with milliseconds: 2026-11-29T10:41:02.123+00:00.
std::string iso8601_now();

// Seconds since the Unix epoch (OpenAI's "created").
inline int64_t unix_seconds() {
  return std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::now().time_since_epoch()).count();
}

struct PollOptions {
  double timeout_s = 10;                    // give up after this long (0: try once)
  int interval_ms = 100;                    // between tries
  const std::atomic<bool>* stop = nullptr;  // give up early when this is set (Ctrl-C)
};

// Calls `ready()` until it returns true (then true), the time runs out or a
// stop is asked (then false). `ready` is called at least once.
template <typename Ready>
bool poll_until(const PollOptions& options, Ready&& ready) {
  const auto start = Clock::now();
  while (true) {
    if (ready()) return true;
    if (seconds_since(start) >= options.timeout_s || (options.stop && options.stop->load())) return false;
    std::this_thread::sleep_for(std::chrono::milliseconds(options.interval_ms));
  }
}

}  // namespace deskpilot::base
