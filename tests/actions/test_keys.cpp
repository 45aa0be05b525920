#include <gtest/gtest.h>

#include "actions/keys.h"

using namespace deskpilot::actions;

namespace {
std::vector<std::string> names(std::string_view chord) {
  KeyParseResult r = parse_key_chord(chord);
  EXPECT_TRUE(r.error.empty()) << r.error;
  std::vector<std::string> out;
  for (const auto& k : r.keys) out.push_back(k.name);
  return out;
}
uint32_t keysym(std::string_view name) {
  auto k = lookup_key(name);
  EXPECT_TRUE(k) << name;
  return k ? k->keysym : 0;
}
}  // namespace

TEST(Keys, AliasesResolveToOneKeysym) {
  EXPECT_EQ(keysym("ctrl"), 0xffe3u);
  EXPECT_EQ(keysym("control"), 0xffe3u);
  EXPECT_EQ(keysym("Alt"), 0xffe9u);
  EXPECT_EQ(keysym("shift"), 0xffe1u);
  for (auto s : {"win", "meta", "cmd", "super", "command"}) EXPECT_EQ(keysym(s), 0xffebu) << s;
  EXPECT_EQ(keysym("enter"), 0xff0du);
  EXPECT_EQ(keysym("Return"), 0xff0du);
  EXPECT_EQ(keysym("esc"), 0xff1bu);
  EXPECT_EQ(keysym("escape"), 0xff1bu);
  EXPECT_EQ(keysym("tab"), 0xff09u);
  EXPECT_EQ(keysym("space"), 0x20u);
  EXPECT_EQ(keysym("backspace"), 0xff08u);
  EXPECT_EQ(keysym("delete"), 0xffffu);
  EXPECT_EQ(keysym("home"), 0xff50u);
  EXPECT_EQ(keysym("end"), 0xff57u);
  EXPECT_EQ(keysym("pageup"), 0xff55u);
  EXPECT_EQ(keysym("pagedown"), 0xff56u);
  EXPECT_EQ(keysym("arrowup"), keysym("up"));
  EXPECT_EQ(keysym("arrowdown"), 0xff54u);
  EXPECT_EQ(keysym("arrowleft"), 0xff51u);
  EXPECT_EQ(keysym("right"), 0xff53u);
}

TEST(Keys, FunctionKeysLettersDigitsPunctuation) {
  EXPECT_EQ(keysym("f1"), 0xffbeu);
  EXPECT_EQ(keysym("F12"), 0xffc9u);
  EXPECT_EQ(keysym("f24"), 0xffd5u);
  EXPECT_FALSE(lookup_key("f25"));
  EXPECT_FALSE(lookup_key("f0"));
  EXPECT_EQ(keysym("a"), 'a');
  EXPECT_EQ(keysym("A"), 'a');
  EXPECT_EQ(lookup_key("Q")->name, "q");
  EXPECT_EQ(keysym("7"), '7');
  EXPECT_EQ(lookup_key("/")->xname, "slash");
  EXPECT_EQ(lookup_key("-")->xname, "minus");
  EXPECT_EQ(lookup_key("plus")->name, "+");
}

TEST(Keys, ChordsSplitOnSpacesAndPlus) {
  EXPECT_EQ(names("ctrl c"), (std::vector<std::string>{"ctrl", "c"}));
  EXPECT_EQ(names("ctrl+shift+t"), (std::vector<std::string>{"ctrl", "shift", "t"}));
  EXPECT_EQ(names("Ctrl + Alt + Delete"), (std::vector<std::string>{"ctrl", "alt", "delete"}));
  EXPECT_EQ(names("ctrl++"), (std::vector<std::string>{"ctrl", "+"}));
  EXPECT_EQ(names("ctrl +"), (std::vector<std::string>{"ctrl", "+"}));
  EXPECT_EQ(names("Page Down"), (std::vector<std::string>{"pagedown"}));
  EXPECT_EQ(names("ctrl page up"), (std::vector<std::string>{"ctrl", "pageup"}));
  EXPECT_EQ(names("  alt   f4  "), (std::vector<std::string>{"alt", "f4"}));
}

TEST(Keys, UnknownKeyIsAnErrorNotDropped) {
  KeyParseResult r = parse_key_chord("ctrl hyperdrive");
  EXPECT_TRUE(r.keys.empty());
  EXPECT_NE(r.error.find("unknown key 'hyperdrive'"), std::string::npos);
  EXPECT_FALSE(parse_key_chord("").error.empty());
  EXPECT_FALSE(parse_key_chord("   ").error.empty());
}
