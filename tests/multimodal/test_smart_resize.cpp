#include <gtest/gtest.h>

#include "multimodal/smart_resize.h"

using deskpilot::multimodal::Size;
using deskpilot::multimodal::smart_resize;
using deskpilot::multimodal::SmartResizeParams;

TEST(SmartResize, RoundsHalfToEvenLikePython) {
  // 1022 / 28 = 36.5 rounds to 36 (even), 1522 / 28 = 54.36 rounds to 54.
  auto r = smart_resize({1522, 1022});
  ASSERT_TRUE(r.size);
  EXPECT_EQ(*r.size, (Size{1512, 1008}));
  // 38.5 rounds to 38 (even) -> 1064; 37.5 rounds to 38 -> 1064.
  EXPECT_EQ(*smart_resize({1078, 1050}).size, (Size{1064, 1064}));
}

TEST(SmartResize, CommonScreens) {
  EXPECT_EQ(*smart_resize({1920, 1080}).size, (Size{1932, 1092}));
  EXPECT_EQ(*smart_resize({1366, 768}).size, (Size{1372, 756}));
}

TEST(SmartResize, ClampsToMaxPixels) {
  SmartResizeParams p;
  p.max_pixels = 1280 * 28 * 28;
  auto r = smart_resize({3840, 2160}, p);
  ASSERT_TRUE(r.size);
  EXPECT_LE(r.size->width * r.size->height, p.max_pixels);
  EXPECT_EQ(r.size->width % 28, 0);
  EXPECT_EQ(r.size->height % 28, 0);
}

TEST(SmartResize, GrowsToMinPixels) {
  auto r = smart_resize({100, 50});
  ASSERT_TRUE(r.size);
  EXPECT_GE(r.size->width * r.size->height, SmartResizeParams{}.min_pixels);
}

TEST(SmartResize, RefusesExtremeAspectRatioAndEmptyImages) {
  auto r = smart_resize({20100, 100});
  EXPECT_FALSE(r.size);
  EXPECT_NE(r.error.find("aspect ratio"), std::string::npos);
  EXPECT_FALSE(smart_resize({0, 100}).size);
  EXPECT_FALSE(smart_resize({100, -1}).size);
}
