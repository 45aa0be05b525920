#include <gtest/gtest.h>

#include <atomic>
#include <regex>

#include "base/clock.h"

using namespace deskpilot::base;

TEST(Clock, PollUntilReturnsWhenReadyAndGivesUpAfterTheTimeout) {
  int calls = 0;
  EXPECT_TRUE(poll_until({5.0, 1}, [&] { return ++calls == 3; }));
  EXPECT_EQ(calls, 3);
  calls = 0;
  EXPECT_FALSE(poll_until({0.0, 1}, [&] { return ++calls < 0; }));
  EXPECT_EQ(calls, 1);  // timeout 0: one try
}

TEST(Clock, PollUntilStopsWhenAskedTo) {
  std::atomic<bool> stop{true};
  int calls = 0;
  EXPECT_FALSE(poll_until({60.0, 1, &stop}, [&] { return ++calls < 0; }));
  EXPECT_EQ(calls, 1);
}

TEST(Clock, Iso8601HasMillisecondsAndAnOffset) {
  EXPECT_TRUE(std::regex_match(iso8601_now(), std::regex(R"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}[+-]\d\d:\d\d)")));
}
