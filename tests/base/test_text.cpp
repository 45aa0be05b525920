#include <gtest/gtest.h>

#include <string>

#include "base/text.h"

using namespace deskpilot::base;

TEST(Text, XmlEscapeCoversMarkupQuotesAndForbiddenControls) {
  EXPECT_EQ(xml_escape("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&apos;");
  EXPECT_EQ(xml_escape(std::string("x\x01y\tz\n", 6)), "x?y\tz\n");
}

TEST(Text, ShellQuoteSurvivesTheShell) {
  EXPECT_EQ(shell_quote("it's"), "'it'\\''s'");
  EXPECT_EQ(shell_quote(""), "''");
  // The real shell reads it back as one word.
  const std::string word = "a b'c\"$HOME";
  FILE* p = popen(("printf %s " + shell_quote(word)).c_str(), "r");
  ASSERT_NE(p, nullptr);
  char buf[64] = {};
  const size_t n = fread(buf, 1, sizeof buf - 1, p);
  pclose(p);
  EXPECT_EQ(std::string(buf, n), word);
}

TEST(Text, UrlDecodeUndoesEncodeUriComponentAndKeepsMalformedSequences) {
  EXPECT_EQ(url_decode("Click%20%22OK%22%2C%20then%20%C3%A9"), "Click \"OK\", then \xc3\xa9");
  EXPECT_EQ(url_decode("100%"), "100%");
  EXPECT_EQ(url_decode("%zz%4"), "%zz%4");
}
