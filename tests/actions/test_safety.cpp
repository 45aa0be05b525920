#include <gtest/gtest.h>

#include "actions/safety.h"
#include "tests/actions/action_util.h"

using namespace deskpilot::actions;
using deskpilot::testing::one;

TEST(Safety, DefaultDenyListBlocksDestructiveTextAndChords) {
  const SafetyRules rules = default_safety_rules();
  EXPECT_EQ(denied_reason(one("type(content='sudo RM   -rf  / --no-preserve-root\\n')"), rules),
            "blocked by the deny list: the typed line contains 'rm -rf /'");
  EXPECT_TRUE(denied_reason(one("type(content='mkfs.ext4 /dev/sdb1')"), rules));
  EXPECT_EQ(denied_reason(one("hotkey(key='backspace alt ctrl')"), rules),
            "blocked by the deny list: the hotkey 'ctrl alt backspace'");
  EXPECT_TRUE(denied_reason(one("hotkey(key='ctrl+alt+delete')"), rules));
  EXPECT_FALSE(denied_reason(one("type(content='rm report.txt')"), rules));
  EXPECT_TRUE(denied_reason(one("type(content='sudo shutdown now')"), rules));
  EXPECT_FALSE(denied_reason(one("type(content='the asphalt road')"), rules));  // whole words only
  EXPECT_FALSE(denied_reason(one("hotkey(key='ctrl backspace')"), rules));
  EXPECT_FALSE(denied_reason(one("click(start_box='(1,2)')"), rules));
}

TEST(Safety, RulesFromJsonAreValidated) {
  std::string error;
  auto r = safety_rules_from_json(nlohmann::json::parse(R"({"denied_text": ["DROP TABLE"], "denied_hotkeys": ["super l"]})"),
                                  &error);
  ASSERT_TRUE(r) << error;
  EXPECT_TRUE(denied_reason(one("type(content='drop   table users;')"), *r));
  EXPECT_TRUE(denied_reason(one("hotkey(key='l super')"), *r));
  EXPECT_FALSE(safety_rules_from_json(nlohmann::json::parse(R"({"denied_hotkeys": ["ctrl nosuchkey"]})"), &error));
  EXPECT_EQ(error, "denied_hotkeys[0]: unknown key 'nosuchkey' in 'ctrl nosuchkey'");
  EXPECT_FALSE(safety_rules_from_json(nlohmann::json::parse(R"({"deny": []})"), &error));
  EXPECT_EQ(error, "unknown key 'deny' (expected denied_text, denied_hotkeys, shell_commands)");
}

TEST(Safety, GuardedExecutorRefusesBeforeAnythingIsSent) {
  RecordingExecutor inner({});
  int asked = 0;
  GuardedExecutor guarded(inner, default_safety_rules(), [&](const Action& a) {
    ++asked;
    return a.type != ActionType::kRightSingle;  // the person says no to right clicks
  });
  EXPECT_TRUE(guarded.execute(one("click(start_box='(1,2)')")).ok);
  ExecutionResult no = guarded.execute(one("right_single(start_box='(1,2)')"));
  EXPECT_FALSE(no.ok);
  EXPECT_EQ(no.error, "not confirmed: right_single(start_box='(1,2)')");
  ExecutionResult denied = guarded.execute(one("type(content='rm -rf /')"));
  EXPECT_FALSE(denied.ok);
  EXPECT_EQ(asked, 2);                     // denied before asking
  EXPECT_EQ(inner.events().size(), 3u);    // only the click's move, down, up
}
