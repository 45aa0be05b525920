// Plain-English instructions for the OCR policy: clauses split where a new
// action starts, quotes kept whole, each clause read into one command, and
// errors that name the clause.
#include "policies/instruction.h"

#include <gtest/gtest.h>

namespace deskpilot::policies {
namespace {

using Kind = Command::Kind;

TEST(Instruction, SplitsWhereANewActionStarts) {
  EXPECT_EQ(split_clauses("type hello into the Name field and press Enter, then click Save"),
            (std::vector<std::string>{"type hello into the Name field", "press Enter", "click Save"}));
  EXPECT_EQ(split_clauses("Click File. Then click Save as; type \"a, b and c\" and press enter."),
            (std::vector<std::string>{"Click File", "click Save as", "type \"a, b and c\"", "press enter"}));
  // "and" or a comma not followed by an action stays inside the clause.
  EXPECT_EQ(split_clauses("click Save and Exit"), (std::vector<std::string>{"click Save and Exit"}));
  EXPECT_EQ(split_clauses("click Yes, please"), (std::vector<std::string>{"click Yes, please"}));
  EXPECT_TRUE(split_clauses("   ").empty());
}

TEST(Instruction, ReadsEachKindOfClause) {
  const InstructionParse p = parse_instruction(
      "double-click report.txt, right-click the Trash icon, hover over Help, click on the \"Save\" button, "
      "type 'x = 1' into the Value box, fill in the E-mail field with ada@example.org, press ctrl+shift+t, "
      "hit the Enter key, scroll down 3 times, scroll up, wait 2 seconds, select Blue");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.commands.size(), 12u);
  EXPECT_EQ(p.commands[0].kind, Kind::kDoubleClick);
  EXPECT_EQ(p.commands[0].target, "report.txt");
  EXPECT_EQ(p.commands[1].kind, Kind::kRightClick);
  EXPECT_EQ(p.commands[1].target, "Trash");
  EXPECT_EQ(p.commands[2].kind, Kind::kHover);
  EXPECT_EQ(p.commands[2].target, "Help");
  EXPECT_EQ(p.commands[3].kind, Kind::kClick);
  EXPECT_EQ(p.commands[3].target, "Save");
  EXPECT_EQ(p.commands[4].kind, Kind::kType);
  EXPECT_EQ(p.commands[4].text, "x = 1");
  EXPECT_EQ(p.commands[4].target, "Value");
  EXPECT_EQ(p.commands[5].kind, Kind::kType);
  EXPECT_EQ(p.commands[5].text, "ada@example.org");
  EXPECT_EQ(p.commands[5].target, "E-mail");
  EXPECT_EQ(p.commands[6].kind, Kind::kPress);
  EXPECT_EQ(p.commands[6].keys, (std::vector<std::string>{"ctrl", "shift", "t"}));
  EXPECT_EQ(p.commands[7].keys, (std::vector<std::string>{"enter"}));
  EXPECT_EQ(p.commands[8].kind, Kind::kScroll);
  EXPECT_EQ(p.commands[8].direction, actions::ScrollDirection::kDown);
  EXPECT_EQ(p.commands[8].amount, 3);
  EXPECT_EQ(p.commands[9].direction, actions::ScrollDirection::kUp);
  EXPECT_EQ(p.commands[9].amount, actions::kDefaultScrollAmount);
  EXPECT_EQ(p.commands[10].kind, Kind::kWait);
  EXPECT_DOUBLE_EQ(p.commands[10].seconds, 2.0);
  EXPECT_EQ(p.commands[11].kind, Kind::kClick);
  EXPECT_EQ(p.commands[11].target, "Blue");
}

TEST(Instruction, ARoleWordBeforeAQuotedNameIsDropped) {
  // MiniWoB++'s click-link: the quoted name is the target, not "link".
  InstructionParse p = parse_instruction("Click on the link \"Eget\".");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_EQ(p.commands[0].target, "Eget");
  p = parse_instruction("click the button 'OK'");
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_EQ(p.commands[0].target, "OK");
  // A role word that is the name itself stays.
  p = parse_instruction("click Link");
  ASSERT_EQ(p.commands.size(), 1u);
  EXPECT_EQ(p.commands[0].target, "Link");
}

TEST(Instruction, TypeWithoutAFieldTypesIntoTheFocusedWindow) {
  const InstructionParse p = parse_instruction("type \"ls -l > files.txt\" and press Enter");
  ASSERT_TRUE(p.ok()) << p.error;
  ASSERT_EQ(p.commands.size(), 2u);
  EXPECT_EQ(p.commands[0].text, "ls -l > files.txt");
  EXPECT_TRUE(p.commands[0].target.empty());
}

TEST(Instruction, ErrorsNameTheClause) {
  InstructionParse p = parse_instruction("click Save, then frobnicate the widget");
  EXPECT_FALSE(p.ok());
  EXPECT_TRUE(p.commands.empty());
  EXPECT_NE(p.error.find("clause 2 ('frobnicate the widget')"), std::string::npos) << p.error;
  p = parse_instruction("press ctrl+hyper");
  EXPECT_NE(p.error.find("keys 'ctrl+hyper'"), std::string::npos) << p.error;
  p = parse_instruction("scroll sideways");
  EXPECT_NE(p.error.find("scroll which way"), std::string::npos) << p.error;
  p = parse_instruction("fill in the Name field");
  EXPECT_NE(p.error.find("fill in FIELD with TEXT"), std::string::npos) << p.error;
  p = parse_instruction("click");
  EXPECT_NE(p.error.find("not where"), std::string::npos) << p.error;
  EXPECT_FALSE(parse_instruction("").ok());
}

}  // namespace
}  // namespace deskpilot::policies
