// Parser behaviour beyond the golden corpus: the documented superset, the
// published UI-TARS-desktop parser cases, and structured errors.
#include <gtest/gtest.h>

#include "actions/coords.h"
#include "actions/parser.h"

using namespace deskpilot::actions;

namespace {

ParsedResponse parse_ok(std::string_view text) {
  ParseResult r = parse_response(text);
  if (!r.ok()) ADD_FAILURE() << "cannot parse: " << r.error->message() << "\n" << text;
  return r.response;
}

ParseError parse_err(std::string_view text) {
  ParseResult r = parse_response(text);
  if (r.ok()) {
    ADD_FAILURE() << "parsed but should not:\n" << text;
    return {};
  }
  return *r.error;
}

// Screen pixels on a relative (0..1000) model, as UI-TARS-desktop's tests use.
Point relative_to_screen(Point p, deskpilot::multimodal::Size screen) {
  CoordinateMapping m;
  m.model_type = ModelType::kQwen2vl;
  m.screen = screen;
  std::string error;
  return CoordinateMapper::create(m, &error)->to_screen(p);
}

}  // namespace

TEST(Parser, ThoughtAndSingleClick) {
  auto r = parse_ok("Thought: I need to click this button\nAction: click(start_box='(100,200)')");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.thought, "I need to click this button");
  EXPECT_FALSE(r.reflection);
  EXPECT_EQ(r.actions[0].type, ActionType::kClick);
  EXPECT_EQ(*r.actions[0].start, (Point{100, 200}));
}

TEST(Parser, ReflectionAndActionSummary) {
  auto r = parse_ok("Reflection: This is a reflection\nAction_Summary: This is a summary\n"
                    "Action: type(text='Hello', start_box='(300,400)')");
  EXPECT_EQ(r.reflection, "This is a reflection");
  EXPECT_EQ(r.thought, "This is a summary");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(r.actions[0].type, ActionType::kType);
  EXPECT_EQ(r.actions[0].text, "Hello");
}

TEST(Parser, SeveralActionsSeparatedByABlankLine) {
  auto r = parse_ok("Thought: Perform multiple actions\nAction: click(start_box='(100,200)')\n\n"
                    "type(text='Hello', start_box='(300,400)')");
  ASSERT_EQ(r.actions.size(), 2u);
  EXPECT_EQ(r.actions[0].type, ActionType::kClick);
  EXPECT_EQ(r.actions[1].type, ActionType::kType);
}

TEST(Parser, OnlyTheTextAfterTheLastActionMarker) {
  auto r = parse_ok("Thought: earlier I wrote Action: click(start_box='(1,1)') by mistake\n"
                    "Action: click(start_box='(5,6)')");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(*r.actions[0].start, (Point{5, 6}));
}

// The UI-TARS-desktop TypeScript parser's published cases
// (packages/ui-tars/action-parser/test/actionParser.test.ts), on a
// 2560x1440 screen with relative coordinates.
TEST(Parser, UiTarsDesktopBboxTokens) {
  auto r = parse_ok("Thought: 我看到当前屏幕显示的是一个电子表格软件和一个聊天窗口。\n"
                    "Action: click(start_box='<bbox>637 964 637 964</bbox>')");
  ASSERT_EQ(r.actions.size(), 1u);
  Point p = relative_to_screen(*r.actions[0].start, {2560, 1440});
  EXPECT_NEAR(p.x, 1630.72, 1e-6);
  EXPECT_NEAR(p.y, 1388.16, 1e-6);
}

TEST(Parser, UiTarsDesktopThinkBlockAndPointTag) {
  auto r = parse_ok(
      "<think>\nOkay, let's see. The user wants to search news, but the current search bar has \"hi\" "
      "in it. Action: not this one.\n</think>\nThought: To search for news, first clear the existing "
      "text \"hi\" from the Google search bar by clicking the 'X' icon.\n"
      "Action: click(point='<point>510 150</point>')");
  ASSERT_TRUE(r.reasoning);
  EXPECT_NE(r.reasoning->find("search news"), std::string::npos);
  EXPECT_EQ(r.thought,
            "To search for news, first clear the existing text \"hi\" from the Google search bar by "
            "clicking the 'X' icon.");
  ASSERT_EQ(r.actions.size(), 1u);
  Point p = relative_to_screen(*r.actions[0].start, {2560, 1440});
  EXPECT_NEAR(p.x, 1305.6, 1e-6);
  EXPECT_NEAR(p.y, 216, 1e-6);
}

TEST(Parser, UiTarsDesktopSquareBrackets) {
  auto r = parse_ok("Thought: I need to click on this element\nAction: click(start_box='[130,226]')");
  Point p = relative_to_screen(*r.actions[0].start, {2560, 1440});
  EXPECT_NEAR(p.x, 332.8, 1e-6);
  EXPECT_NEAR(p.y, 325.44, 1e-6);

  auto drag = parse_ok("Thought: x\nAction: drag(start_box='[130,226]', end_box='[200,226]')");
  Point e = relative_to_screen(*drag.actions[0].end, {2560, 1440});
  EXPECT_NEAR(e.x, 512, 1e-6);
  EXPECT_NEAR(e.y, 325.44, 1e-6);

  // A four-number box means its centre.
  auto box = parse_ok("Thought: x\nAction: click(start_box='[0, 964, 10, 984]')");
  Point c = relative_to_screen(*box.actions[0].start, {2560, 1440});
  EXPECT_NEAR(c.x, 12.8, 1e-6);
  EXPECT_NEAR(c.y, 1402.56, 1e-6);
}

TEST(Parser, UiTarsDesktopFullWidthColon) {
  auto r = parse_ok("Thought: I need to click this button\nAction：click(start_box='(100,200)')");
  EXPECT_EQ(r.thought, "I need to click this button");
  EXPECT_EQ(*r.actions[0].start, (Point{100, 200}));
  auto bare = parse_ok("\n\nAction：click(start_box='<bbox>191 21 191 21</bbox>')");
  EXPECT_FALSE(bare.thought);
  EXPECT_EQ(*bare.actions[0].start, (Point{191, 21}));
}

TEST(Parser, UiTarsDesktopEmptyActionIsAnError) {
  ParseError e = parse_err("Thought: Empty action\nAction:");
  EXPECT_NE(e.reason.find("no action"), std::string::npos);
  // An empty box cannot be clicked.
  parse_err("Thought: I need to click on this element\nAction: click(start_box='')");
  parse_err("Thought: I need to click on this element\nAction: click(start_box='[]')");
}

TEST(Parser, BareCallWithoutActionMarker) {
  auto r = parse_ok("click(start_box=\"(100,200)\")");
  ASSERT_EQ(r.actions.size(), 1u);
  EXPECT_EQ(*r.actions[0].start, (Point{100, 200}));
}

TEST(Parser, ActionWithoutSpaceAndThoughtWithoutSpace) {
  auto r = parse_ok("Thought:Click it.\nAction:click(start_box='(7,8)')");
  EXPECT_EQ(r.thought, "Click it.");
  EXPECT_EQ(*r.actions[0].start, (Point{7, 8}));
}

TEST(Parser, BoxTokensAndAliases) {
  auto r = parse_ok("Action: drag(start_box='<|box_start|>(10,20)<|box_end|>', "
                    "end_box='<|box_start|>(30,40)<|box_end|>')");
  EXPECT_EQ(*r.actions[0].start, (Point{10, 20}));
  EXPECT_EQ(*r.actions[0].end, (Point{30, 40}));
  auto p = parse_ok("Action: drag(start_point='<point>1 2</point>', end_point='<point>3.5 4</point>')");
  EXPECT_EQ(*p.actions[0].start, (Point{1, 2}));
  EXPECT_EQ(*p.actions[0].end, (Point{3.5, 4}));
  auto bare = parse_ok("Action: click(start_box='100, 200')");
  EXPECT_EQ(*bare.actions[0].start, (Point{100, 200}));
  auto unquoted = parse_ok("Action: click(start_box=(100, 200))");
  EXPECT_EQ(*unquoted.actions[0].start, (Point{100, 200}));
  auto positional = parse_ok("Action: click('(3,4)')");
  EXPECT_EQ(*positional.actions[0].start, (Point{3, 4}));
}

TEST(Parser, TypeContentQuotesAndEscapes) {
  auto a = parse_ok("Action: type(content='It\\'s done')").actions.at(0);
  EXPECT_EQ(a.text, "It's done");
  auto b = parse_ok("Action: type(content='It's not escaped, ok')").actions.at(0);
  EXPECT_EQ(b.text, "It's not escaped, ok");
  auto c = parse_ok("Action: type(content='say \"hi\"')").actions.at(0);
  EXPECT_EQ(c.text, "say \"hi\"");
  auto d = parse_ok("Action: type(content='line1\\nline2')").actions.at(0);
  EXPECT_EQ(d.text, "line1\nline2");
  EXPECT_FALSE(d.submit);
  auto e = parse_ok("Action: type(content='ls -la\\n')").actions.at(0);
  EXPECT_EQ(e.text, "ls -la");
  EXPECT_TRUE(e.submit);
  auto f = parse_ok("Action: type(content='print('a'), x')").actions.at(0);
  EXPECT_EQ(f.text, "print('a'), x");
  auto g = parse_ok("Action: type(content='C:\\\\Users\\\\me')").actions.at(0);
  EXPECT_EQ(g.text, "C:\\Users\\me");
  auto h = parse_ok("Action: type(content='\\u4e2d\\x41')").actions.at(0);
  EXPECT_EQ(h.text, "中A");
  // Leading white space goes, as in the reference (param.lstrip()).
  auto i = parse_ok("Action: type(content='   indented')").actions.at(0);
  EXPECT_EQ(i.text, "indented");
  // A real newline inside the string is kept as a newline.
  auto j = parse_ok("Action: type(content='a\nb\n')").actions.at(0);
  EXPECT_EQ(j.text, "a\nb");
  EXPECT_TRUE(j.submit);
}

TEST(Parser, MissingClosingParenthesisIsRepaired) {
  auto r = parse_ok("Thought: t\nAction: type(content='hello'");
  EXPECT_EQ(r.actions.at(0).text, "hello");
  auto c = parse_ok("Action: click(start_box='(1,2)'");
  EXPECT_EQ(*c.actions.at(0).start, (Point{1, 2}));
}

TEST(Parser, KeysScrollAndTheRest) {
  auto hk = parse_ok("Action: hotkey(key='Ctrl+Shift+T')").actions.at(0);
  EXPECT_EQ(hk.keys, (std::vector<std::string>{"ctrl", "shift", "t"}));
  auto pd = parse_ok("Action: hotkey(key='page down')").actions.at(0);
  EXPECT_EQ(pd.keys, (std::vector<std::string>{"pagedown"}));
  auto press = parse_ok("Action: keydown(key='shift')").actions.at(0);
  EXPECT_EQ(press.type, ActionType::kPress);
  auto release = parse_ok("Action: keyup(key='shift')").actions.at(0);
  EXPECT_EQ(release.type, ActionType::kRelease);

  auto sc = parse_ok("Action: scroll(start_box='(5,6)', direction='Left', amount='3')").actions.at(0);
  EXPECT_EQ(sc.direction, ScrollDirection::kLeft);
  EXPECT_EQ(sc.amount, 3);
  auto sc2 = parse_ok("Action: scroll(direction='down')").actions.at(0);
  EXPECT_FALSE(sc2.start);
  EXPECT_EQ(sc2.amount, kDefaultScrollAmount);

  EXPECT_EQ(parse_ok("Action: wait()").actions.at(0).seconds, kDefaultWaitSeconds);
  EXPECT_EQ(parse_ok("Action: wait(time='2')").actions.at(0).seconds, 2);
  EXPECT_EQ(parse_ok("Action: finished(content='all done')").actions.at(0).text, "all done");
  EXPECT_EQ(parse_ok("Action: call_user()").actions.at(0).type, ActionType::kCallUser);
  EXPECT_EQ(parse_ok("Action: open_app(app_name='Settings')").actions.at(0).text, "Settings");
  EXPECT_EQ(parse_ok("Action: press_home()").actions.at(0).type, ActionType::kPressHome);
  EXPECT_EQ(parse_ok("Action: pyautogui.click(start_box='(1,2)')").actions.at(0).type, ActionType::kClick);
}

TEST(Parser, TrailingEndOfSequenceMarkers) {
  EXPECT_EQ(parse_ok("Action: finished()[EOS]").actions.size(), 1u);
  EXPECT_EQ(parse_ok("Action: finished()<|im_end|>").actions.size(), 1u);
}

TEST(Parser, ErrorsNameTheReasonAndPosition) {
  const std::string text = "Thought: x\nAction: click(start_box='(1,2,3)')";
  ParseError e = parse_err(text);
  EXPECT_NE(e.reason.find("expected a point"), std::string::npos) << e.reason;
  EXPECT_EQ(text.substr(e.position, 5), "(1,2,");
  EXPECT_EQ(e.message().rfind("position ", 0), 0u);

  ParseError unknown = parse_err("Action: frobnicate(x='1')");
  EXPECT_NE(unknown.reason.find("unknown action 'frobnicate'"), std::string::npos);
  EXPECT_EQ(unknown.position, 8u);

  ParseError key = parse_err("Action: hotkey(key='ctrl notakey')");
  EXPECT_NE(key.reason.find("unknown key 'notakey'"), std::string::npos);

  EXPECT_NE(parse_err("Thought: nothing").reason.find("no 'Action:'"), std::string::npos);
  EXPECT_NE(parse_err("Action: click(start_box='(1,2)') junk").reason.find("expected"), std::string::npos);
  EXPECT_NE(parse_err("Action: type(content='open").reason.find("unterminated"), std::string::npos);
  EXPECT_NE(parse_err("<think>never closed").reason.find("<think>"), std::string::npos);
  EXPECT_NE(parse_err("Action: click(start_box='(nan,1)')").reason.find("not a number"), std::string::npos);
  // Found by a probe: 1e308 parsed, then mapped to infinity (printed as null).
  EXPECT_NE(parse_err("Action: click(start_box='(1e308,1e308)')").reason.find("out of range"), std::string::npos);
  EXPECT_NE(parse_err("Action: click(start_box='(1,2,3,-2e6)')").reason.find("out of range"), std::string::npos);
  EXPECT_NE(parse_err("Action: scroll(direction='sideways')").reason.find("direction"), std::string::npos);
  EXPECT_NE(parse_err("Action: drag(start_box='(1,2)')").reason.find("end_box"), std::string::npos);
}

TEST(Parser, NeverCrashesOnTruncationsOfValidOutput) {
  const std::string text =
      "<think>plan</think>\nThought: Type it.\nAction: type(content='a\\'b \\n')\n\n"
      "drag(start_box='<|box_start|>(1,2)<|box_end|>', end_box='[3,4]')\n\nhotkey(key='ctrl+s')";
  ASSERT_EQ(parse_ok(text).actions.size(), 3u);
  for (size_t n = 0; n <= text.size(); ++n) {
    ParseResult r = parse_response(text.substr(0, n));
    if (!r.ok()) {
      EXPECT_LE(r.error->position, n);
    }
  }
}
