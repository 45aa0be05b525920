// Tests that need a display start their own Xvfb on a free display number
// (agent/xvfb.h) and paint or run on it; nothing touches $DISPLAY.
#pragma once

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "agent/xvfb.h"

namespace deskpilot::testing {

class DisplayTest : public ::testing::Test {
 protected:
  static void start_display(int width, int height) {
    agent::XvfbOptions o;
    o.width = width;
    o.height = height;
    std::string error;
    server_ = agent::XvfbServer::start(o, &error);
    ASSERT_TRUE(server_) << error;
  }
  static void TearDownTestSuite() { server_.reset(); }
  static const std::string& display() { return server_->display(); }

  static inline std::unique_ptr<agent::XvfbServer> server_;
};

}  // namespace deskpilot::testing
