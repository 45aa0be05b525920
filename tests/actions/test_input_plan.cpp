// The exact input events each action turns into, through the recording
// executor that tests (and the agent's dry runs) use.
#include <gtest/gtest.h>

#include <sstream>

#include "actions/executor.h"
#include "actions/parser.h"

using namespace deskpilot::actions;

namespace {

std::vector<std::string> events_of(std::string_view call, InputPlanOptions options = {}) {
  ParseResult r = parse_action_calls(call);
  EXPECT_TRUE(r.ok()) << (r.ok() ? "" : r.error->message());
  RecordingExecutor exec(options);
  for (const auto& a : r.response.actions) {
    ExecutionResult res = exec.execute(a);
    EXPECT_TRUE(res.ok) << res.error;
  }
  std::vector<std::string> out;
  for (const auto& e : exec.events()) out.push_back(describe_event(e));
  return out;
}

using Lines = std::vector<std::string>;

}  // namespace

TEST(InputPlan, ClicksMoveFirstThenPressAndRelease) {
  EXPECT_EQ(events_of("click(start_box='(100.4,200.6)')"),
            (Lines{"move 100 201", "button 1 down", "button 1 up"}));
  EXPECT_EQ(events_of("left_double(start_box='(5,6)')"),
            (Lines{"move 5 6", "button 1 down", "button 1 up", "button 1 down", "button 1 up"}));
  EXPECT_EQ(events_of("right_single(start_box='(5,6)')"), (Lines{"move 5 6", "button 3 down", "button 3 up"}));
  EXPECT_EQ(events_of("hover(start_box='(5,6)')"), (Lines{"move 5 6"}));
}

TEST(InputPlan, DragPressesMovesThroughAndReleases) {
  InputPlanOptions o;
  o.drag_steps = 4;
  EXPECT_EQ(events_of("drag(start_box='(0,0)', end_box='(100,40)')", o),
            (Lines{"move 0 0", "button 1 down", "move 25 10", "move 50 20", "move 75 30", "move 100 40",
                   "button 1 up"}));
}

TEST(InputPlan, ScrollUsesWheelButtons) {
  EXPECT_EQ(events_of("scroll(start_box='(5,6)', direction='up', amount='2')"),
            (Lines{"move 5 6", "button 4 down", "button 4 up", "button 4 down", "button 4 up"}));
  EXPECT_EQ(events_of("scroll(direction='left', amount='1')"), (Lines{"button 6 down", "button 6 up"}));
  EXPECT_EQ(events_of("scroll(direction='right', amount='1')"), (Lines{"button 7 down", "button 7 up"}));
  EXPECT_EQ(events_of("scroll(direction='down')").size(), 10u);  // default 5 clicks
}

TEST(InputPlan, KeysDownInOrderUpInReverse) {
  EXPECT_EQ(events_of("hotkey(key='ctrl shift t')"),
            (Lines{"key ctrl down", "key shift down", "key t down", "key t up", "key shift up", "key ctrl up"}));
  EXPECT_EQ(events_of("press(key='shift')"), (Lines{"key shift down"}));
  EXPECT_EQ(events_of("release(key='shift')"), (Lines{"key shift up"}));
}

TEST(InputPlan, TypeThenReturnOnSubmit) {
  EXPECT_EQ(events_of("type(content='ls -la\\n')"), (Lines{"type \"ls -la\"", "key enter down", "key enter up"}));
  EXPECT_EQ(events_of("type(content='中文 😀')"), (Lines{"type \"中文 😀\""}));
  EXPECT_EQ(events_of("wait()"), (Lines{"sleep 5000 ms"}));
  EXPECT_TRUE(events_of("finished(content='ok')").empty());
}

TEST(InputPlan, OutsideTheScreenIsAnErrorNotAnEdgeClick) {
  Action a;
  a.type = ActionType::kClick;
  a.start = Point{1920, 10};
  InputPlan p = plan_input(a, {});
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(p.events.empty());
  EXPECT_NE(p.error.find("outside the 1920x1080 screen"), std::string::npos);
  a.start = Point{-0.5, 10};
  EXPECT_FALSE(plan_input(a, {}).ok());
  a.start = Point{1919.7, 1079.9};  // inside: rounds to the last pixel, not past it
  InputPlan inside = plan_input(a, {});
  ASSERT_TRUE(inside.ok());
  EXPECT_EQ(describe_event(inside.events[0]), "move 1919 1079");
}

TEST(InputPlan, MobileActionsAreRefusedOnTheDesktop) {
  for (auto call : {"long_press(start_box='(1,2)')", "open_app(app_name='Maps')", "press_home()", "press_back()"}) {
    ParseResult r = parse_action_calls(call);
    ASSERT_TRUE(r.ok()) << call;
    std::ostringstream out;
    DryRunExecutor exec(out, {});
    ExecutionResult res = exec.execute(r.response.actions[0]);
    EXPECT_FALSE(res.ok) << call;
    EXPECT_NE(res.error.find("mobile action"), std::string::npos);
    EXPECT_NE(out.str().find("refused"), std::string::npos);
  }
}

TEST(InputPlan, DryRunPrintsTheActionAndItsEvents) {
  std::ostringstream out;
  DryRunExecutor exec(out, {});
  Action a;
  a.type = ActionType::kClick;
  a.start = Point{10, 20};
  EXPECT_TRUE(exec.execute(a).ok);
  EXPECT_EQ(out.str(), "click(start_box='(10,20)')\n  move 10 20\n  button 1 down\n  button 1 up\n");
}
