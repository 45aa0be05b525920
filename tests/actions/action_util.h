// Actions for tests, written as models write them.
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "actions/parser.h"

namespace deskpilot::testing {

// The first action of a UI-TARS call ("click(start_box='(1,2)')").
inline actions::Action one(const std::string& call) {
  actions::ParseResult r = actions::parse_action_calls(call);
  EXPECT_TRUE(r.ok()) << call;
  return r.response.actions.at(0);
}

// type(content=text), with the submitting Enter or without (a parsed call
// cannot end in a space, which some of these tests need).
inline actions::Action typed(const std::string& text, bool submit = true) {
  actions::Action a;
  a.type = actions::ActionType::kType;
  a.text = text;
  a.submit = submit;
  return a;
}

}  // namespace deskpilot::testing
