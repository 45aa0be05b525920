// Base64 as RFC 4648 section 10 gives it, both ways, and what decode refuses.
#include "base/base64.h"

#include <gtest/gtest.h>

#include <random>

namespace deskpilot::base {
namespace {

TEST(Base64, Rfc4648Vectors) {
  const std::pair<const char*, const char*> cases[] = {{"", ""},         {"f", "Zg=="},         {"fo", "Zm8="},
                                                       {"foo", "Zm9v"},  {"foob", "Zm9vYg=="}, {"fooba", "Zm9vYmE="},
                                                       {"foobar", "Zm9vYmFy"}};
  for (const auto& [plain, coded] : cases) {
    EXPECT_EQ(base64_encode(plain), coded);
    EXPECT_EQ(base64_decode(coded), std::string(plain));
  }
}

TEST(Base64, BinaryRoundTripsAndDecodeSkipsWhiteSpace) {
  std::mt19937 rng(5);
  for (int n = 0; n < 300; n += 7) {
    std::string bytes(static_cast<size_t>(n), '\0');
    for (char& c : bytes) c = static_cast<char>(rng() & 0xff);
    const std::string coded = base64_encode(bytes);
    EXPECT_EQ(base64_decode(coded), bytes);
    std::string wrapped;
    for (size_t i = 0; i < coded.size(); ++i) wrapped += (i % 76 == 75 ? "\r\n" : "") + std::string(1, coded[i]);
    EXPECT_EQ(base64_decode(wrapped), bytes);
  }
}

TEST(Base64, BadInputIsRefused) {
  EXPECT_FALSE(base64_decode("Zm9v!"));    // outside the alphabet
  EXPECT_FALSE(base64_decode("Z"));        // a lone character
  EXPECT_FALSE(base64_decode("Zg==Zg"));   // data after padding
  EXPECT_TRUE(base64_decode("Zg"));        // padding is optional
}

}  // namespace
}  // namespace deskpilot::base
