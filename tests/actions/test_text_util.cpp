#include <gtest/gtest.h>

#include "actions/text_util.h"

using namespace deskpilot::actions;

TEST(TextUtil, StripsPythonWhiteSpaceIncludingUnicode) {
  EXPECT_EQ(python_strip(" \t\n abc \r\n"), "abc");
  EXPECT_EQ(python_strip("\xe3\x80\x80" "abc" "\xc2\xa0"), "abc");  // U+3000, U+00A0
  EXPECT_EQ(python_lstrip("\xe2\x80\x83x "), "x ");                 // U+2003 EM SPACE
  EXPECT_EQ(python_strip("中"), "中");                              // not white space
  EXPECT_EQ(python_strip("\xff\xfe"), "\xff\xfe");                  // malformed: kept
  EXPECT_EQ(python_strip(""), "");
}

TEST(TextUtil, DecodesPythonEscapes) {
  EXPECT_EQ(decode_python_string("a\\nb\\tc\\\\d\\'e\\\"f"), "a\nb\tc\\d'e\"f");
  EXPECT_EQ(decode_python_string("\\x41\\u4e2d\\U0001F600"), "A中😀");
  EXPECT_EQ(decode_python_string("\\101\\0"), std::string("A\0", 2));
  EXPECT_EQ(decode_python_string("\\d\\q"), "\\d\\q");  // unknown escapes stay
  EXPECT_EQ(decode_python_string("\\x4"), "\\x4");      // too short: stays
  EXPECT_EQ(decode_python_string("end\\"), "end\\");
  EXPECT_EQ(decode_python_string("a\\nb", true), "a\\nb");  // raw string
}

TEST(TextUtil, EncodeDecodeRoundTrip) {
  for (std::string s : {"", "plain", "it's", "back\\slash", "new\nline\ttab\rcr", "\\n literal", "中文 😀"}) {
    EXPECT_EQ(decode_python_string(encode_python_string(s)), s);
  }
}
