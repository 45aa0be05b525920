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

TEST(Text, InvalidUtf8IsFoundAtItsFirstByte) {
  constexpr size_t kValid = std::string_view::npos;
  EXPECT_EQ(invalid_utf8_at("plain ascii"), kValid);
  EXPECT_EQ(invalid_utf8_at("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80"), kValid);  // é € 😀
  EXPECT_EQ(invalid_utf8_at("ab\xff"), 2u);
  EXPECT_EQ(invalid_utf8_at("\xc0\xaf"), 0u);               // overlong '/'
  EXPECT_EQ(invalid_utf8_at("x\xe0\x80\xaf"), 1u);          // overlong, three bytes
  EXPECT_EQ(invalid_utf8_at("\xed\xa0\x80"), 0u);           // a surrogate (CESU-8)
  EXPECT_EQ(invalid_utf8_at("\xf4\x90\x80\x80"), 0u);       // past U+10FFFF
  EXPECT_EQ(invalid_utf8_at("ok\xe2\x82"), 2u);             // cut short
  EXPECT_EQ(invalid_utf8_at("\x80"), 0u);                   // a lone continuation byte
  // Python's decoder agrees on where each of these fails (where there is one:
  // the bare GPU machine runs these tests too).
  if (std::system("python3 -c pass >/dev/null 2>&1") != 0) GTEST_SKIP() << "no python3 to compare with";
  for (const std::string s : {"abc\xf5\x80", "\xef\xbf\xbf", "\xf0\x90\x80\x80"}) {
    const std::string cmd = "python3 -c \"import sys; b=bytes.fromhex(sys.argv[1])\ntry:\n b.decode()\n print(-1)\n"
                            "except UnicodeDecodeError as e:\n print(e.start)\" ";
    std::string hex;
    for (unsigned char c : s) {
      char h[3];
      std::snprintf(h, sizeof h, "%02x", c);
      hex += h;
    }
    FILE* p = popen((cmd + hex).c_str(), "r");
    ASSERT_NE(p, nullptr);
    char buf[32] = {};
    const size_t n = fread(buf, 1, sizeof buf - 1, p);
    pclose(p);
    const long want = std::stol(std::string(buf, n));
    EXPECT_EQ(invalid_utf8_at(s), want < 0 ? kValid : static_cast<size_t>(want)) << hex;
  }
}

TEST(Text, PrintableEscapesEveryByteOutsidePrintableAscii) {
  EXPECT_EQ(printable("GET /\xff\n"), "GET /\\xff\\x0a");
  EXPECT_EQ(printable("caf\xc3\xa9"), "caf\\xc3\\xa9");
  EXPECT_EQ(printable(std::string(10, 'a'), 4), "aaaa...");
}
