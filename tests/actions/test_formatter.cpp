// format_action is the parser's inverse: parse(format(a)) == a for every
// action type, every style, and randomly generated arguments.
#include <gtest/gtest.h>

#include <cmath>
#include <random>

#include "actions/formatter.h"
#include "actions/parser.h"

using namespace deskpilot::actions;

namespace deskpilot::actions {
// Failures print the action as UI-TARS text rather than as bytes.
void PrintTo(const Action& a, std::ostream* os) { *os << format_action(a); }
}  // namespace deskpilot::actions

namespace {

Action parse_one(const std::string& call) {
  ParseResult r = parse_action_calls(call);
  if (!r.ok()) {
    ADD_FAILURE() << r.error->message() << " in " << call;
    return {};
  }
  if (r.response.actions.size() != 1) ADD_FAILURE() << "expected one action in " << call;
  return r.response.actions.at(0);
}

Action make(ActionType type) {
  Action a;
  a.type = type;
  if (type == ActionType::kWait) a.seconds = kDefaultWaitSeconds;
  if (type == ActionType::kLongPress) a.seconds = kDefaultLongPressSeconds;
  return a;
}

std::vector<Action> one_of_each() {
  std::vector<Action> out;
  for (ActionType t : {ActionType::kClick, ActionType::kLeftDouble, ActionType::kRightSingle,
                       ActionType::kHover, ActionType::kLongPress}) {
    Action a = make(t);
    a.start = Point{640, 360.5};
    out.push_back(a);
  }
  Action drag = make(ActionType::kDrag);
  drag.start = Point{10, 20};
  drag.end = Point{1000.25, 700};
  out.push_back(drag);
  for (ActionType t : {ActionType::kHotkey, ActionType::kPress, ActionType::kRelease}) {
    Action a = make(t);
    a.keys = t == ActionType::kHotkey ? std::vector<std::string>{"ctrl", "shift", "+"}
                                      : std::vector<std::string>{"enter"};
    out.push_back(a);
  }
  Action type = make(ActionType::kType);
  type.text = "It's \"quoted\", C:\\path\nline 2\t中文 😀 ')";
  type.submit = true;
  out.push_back(type);
  Action scroll = make(ActionType::kScroll);
  scroll.start = Point{5, 6};
  scroll.direction = ScrollDirection::kRight;
  scroll.amount = 3;
  out.push_back(scroll);
  Action scroll_here = make(ActionType::kScroll);
  scroll_here.direction = ScrollDirection::kUp;
  out.push_back(scroll_here);
  Action wait = make(ActionType::kWait);
  wait.seconds = 2.5;
  out.push_back(wait);
  out.push_back(make(ActionType::kWait));
  Action finished = make(ActionType::kFinished);
  finished.text = "Saved to ~/report.txt";
  out.push_back(finished);
  out.push_back(make(ActionType::kFinished));
  out.push_back(make(ActionType::kCallUser));
  Action app = make(ActionType::kOpenApp);
  app.text = "Files";
  out.push_back(app);
  out.push_back(make(ActionType::kPressHome));
  out.push_back(make(ActionType::kPressBack));
  return out;
}

}  // namespace

TEST(Formatter, CanonicalText) {
  Action click = make(ActionType::kClick);
  click.start = Point{100, 200};
  EXPECT_EQ(format_action(click), "click(start_box='(100,200)')");
  EXPECT_EQ(format_action(click, FormatStyle::kBoxToken),
            "click(start_box='<|box_start|>(100,200)<|box_end|>')");
  EXPECT_EQ(format_action(click, FormatStyle::kPoint), "click(point='<point>100 200</point>')");
  Action type = make(ActionType::kType);
  type.text = "it's";
  type.submit = true;
  EXPECT_EQ(format_action(type), "type(content='it\\'s\\n')");
  Action hotkey = make(ActionType::kHotkey);
  hotkey.keys = {"ctrl", "c"};
  EXPECT_EQ(format_action(hotkey), "hotkey(key='ctrl c')");
  EXPECT_EQ(format_action(make(ActionType::kWait)), "wait()");
}

TEST(Formatter, EveryActionTypeRoundTripsInEveryStyle) {
  auto actions = one_of_each();
  ASSERT_EQ(actions.size(), 20u);
  for (FormatStyle style : {FormatStyle::kPlain, FormatStyle::kBoxToken, FormatStyle::kPoint}) {
    for (const Action& a : actions) {
      ASSERT_FALSE(action_format_error(a)) << *action_format_error(a);
      const std::string text = format_action(a, style);
      EXPECT_EQ(parse_one(text), a) << text;
    }
  }
}

TEST(Formatter, WholeResponseRoundTrips) {
  ParsedResponse r;
  r.reasoning = "first think";
  r.thought = "Click, then type.";
  r.actions = one_of_each();
  ParseResult back = parse_response(format_response(r, FormatStyle::kBoxToken));
  ASSERT_TRUE(back.ok()) << back.error->message();
  EXPECT_EQ(back.response.thought, r.thought);
  EXPECT_EQ(back.response.reasoning, r.reasoning);
  EXPECT_EQ(back.response.actions, r.actions);

  ParsedResponse reflect;
  reflect.reflection = "It failed.";
  reflect.thought = "Try again.";
  reflect.actions = {make(ActionType::kWait)};
  ParseResult back2 = parse_response(format_response(reflect));
  ASSERT_TRUE(back2.ok());
  EXPECT_EQ(back2.response.reflection, reflect.reflection);
  EXPECT_EQ(back2.response.thought, reflect.thought);
}

TEST(Formatter, RandomActionsRoundTrip) {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<double> coord(-50.0, 5000.0);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> len(0, 40);
  const char* alphabet[] = {"a", "Z", " ", "'", "\"", "\\", "\n", "\t", ")", "(", ",", "=", "é", "中", "😀", "')", "\\n", "\r"};
  std::uniform_int_distribution<int> pick(0, static_cast<int>(std::size(alphabet)) - 1);
  int checked = 0;
  const auto templates = one_of_each();
  for (int i = 0; i < 3000; ++i) {
    Action a = templates[static_cast<size_t>(i) % templates.size()];
    if (a.start) a.start = Point{coord(rng), coord(rng)};
    if (a.end) a.end = Point{std::round(coord(rng)), coord(rng)};
    if (a.type == ActionType::kType || a.type == ActionType::kFinished || a.type == ActionType::kOpenApp) {
      std::string text;
      for (int n = len(rng); n > 0; --n) text += alphabet[pick(rng)];
      a.text = text;
      a.submit = a.type == ActionType::kType && byte(rng) % 2 == 0;
    }
    if (action_format_error(a)) continue;  // leading white space: see formatter.h
    if (a.type == ActionType::kOpenApp && a.text.empty()) continue;
    for (FormatStyle style : {FormatStyle::kPlain, FormatStyle::kBoxToken, FormatStyle::kPoint}) {
      const std::string text = format_action(a, style);
      ASSERT_EQ(parse_one(text), a) << text;
      ++checked;
    }
  }
  EXPECT_GT(checked, 6000);
}

// Found by fuzz_parser: "c ++" is c, plus, plus; written as "c + +" it read
// back as c, plus (a lone '+' between keys is a separator).
TEST(Formatter, RegressionPlusKeysRoundTrip) {
  Action a = parse_one("hotkey('c ++')");
  EXPECT_EQ(a.keys, (std::vector<std::string>{"c", "+", "+"}));
  EXPECT_EQ(format_action(a), "hotkey(key='c plus plus')");
  EXPECT_EQ(parse_one(format_action(a)), a);
}

TEST(Formatter, UnrepresentableActionsAreNamed) {
  Action a = make(ActionType::kType);
  a.text = "  leading";
  EXPECT_TRUE(action_format_error(a));
  a.text = "ends in newline\n";
  EXPECT_TRUE(action_format_error(a));
  a.submit = true;
  EXPECT_FALSE(action_format_error(a));
}

TEST(Formatter, ShortestNumbers) {
  EXPECT_EQ(format_number(150), "150");
  EXPECT_EQ(format_number(150.5), "150.5");
  EXPECT_EQ(format_number(-3), "-3");
  EXPECT_EQ(format_number(0.1), "0.1");
}
