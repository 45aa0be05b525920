#include <gtest/gtest.h>

#include <random>

#include "actions/coords.h"

using namespace deskpilot::actions;

namespace {
CoordinateMapper make(ModelType type, deskpilot::multimodal::Size shot, deskpilot::multimodal::Size screen) {
  CoordinateMapping m;
  m.model_type = type;
  m.screenshot = shot;
  m.screen = screen;
  std::string error;
  auto mapper = CoordinateMapper::create(m, &error);
  if (!mapper) throw std::runtime_error(error);
  return *mapper;
}
}  // namespace

TEST(Coords, Qwen25vlUsesTheSmartResizedImage) {
  // 1522x1022 is shown to the model as 1512x1008.
  auto m = make(ModelType::kQwen25vl, {1522, 1022}, {1522, 1022});
  EXPECT_EQ(m.model_width(), 1512);
  EXPECT_EQ(m.model_height(), 1008);
  Point p = m.to_screen({756, 504});
  EXPECT_DOUBLE_EQ(p.x, 761);
  EXPECT_DOUBLE_EQ(p.y, 511);
}

TEST(Coords, RelativeModelsUseThousandths) {
  for (ModelType t : {ModelType::kQwen2vl, ModelType::kDoubao}) {
    auto m = make(t, {1920, 1080}, {2560, 1440});
    Point p = m.to_screen({637, 964});
    EXPECT_NEAR(p.x, 1630.72, 1e-9);
    EXPECT_NEAR(p.y, 1388.16, 1e-9);
  }
}

TEST(Coords, HiDpiScreenshotSmallerThanScreen) {
  // The model saw a 1920x1080 capture of a 3840x2160 screen.
  auto m = make(ModelType::kQwen25vl, {1920, 1080}, {3840, 2160});
  Point p = m.to_screen({966, 546});  // centre of the 1932x1092 resized image
  EXPECT_NEAR(p.x, 1920, 1e-9);
  EXPECT_NEAR(p.y, 1080, 1e-9);
}

TEST(Coords, ScreenSpaceIsIdentity) {
  auto m = make(ModelType::kScreen, {1, 1}, {1920, 1080});
  Point p{123.25, 456.5};
  EXPECT_EQ(m.to_screen(p), p);
  EXPECT_EQ(m.to_model(p), p);
}

TEST(Coords, RoundTripOnManyScreens) {
  std::mt19937 rng(7);
  std::uniform_int_distribution<int> side(200, 5000);
  std::uniform_real_distribution<double> frac(0.0, 1.0);
  for (int i = 0; i < 2000; ++i) {
    deskpilot::multimodal::Size shot{side(rng), side(rng)};
    deskpilot::multimodal::Size screen = i % 3 == 0 ? shot : deskpilot::multimodal::Size{side(rng), side(rng)};
    for (ModelType t : {ModelType::kQwen25vl, ModelType::kQwen2vl, ModelType::kDoubao, ModelType::kScreen}) {
      CoordinateMapping mapping{t, shot, screen, {}, 1000.0};
      std::string error;
      auto m = CoordinateMapper::create(mapping, &error);
      if (!m) {
        // Only an aspect ratio over 200 may be refused, and these are not.
        FAIL() << error;
      }
      Point s{frac(rng) * screen.width, frac(rng) * screen.height};
      Point back = m->to_screen(m->to_model(s));
      ASSERT_NEAR(back.x, s.x, 1e-9 * screen.width);
      ASSERT_NEAR(back.y, s.y, 1e-9 * screen.height);
    }
  }
}

TEST(Coords, MapsEveryPointOfAnAction) {
  auto m = make(ModelType::kQwen2vl, {1000, 1000}, {2000, 1000});
  Action drag;
  drag.type = ActionType::kDrag;
  drag.start = Point{100, 200};
  drag.end = Point{500, 600};
  Action s = m.to_screen(drag);
  EXPECT_EQ(*s.start, (Point{200, 200}));
  EXPECT_EQ(*s.end, (Point{1000, 600}));
}

TEST(Coords, RefusesBadSizes) {
  CoordinateMapping mapping;
  mapping.screen = {0, 1080};
  std::string error;
  EXPECT_FALSE(CoordinateMapper::create(mapping, &error));
  EXPECT_NE(error.find("screen size"), std::string::npos);
  mapping.screen = {1920, 1080};
  mapping.screenshot = {30000, 100};
  EXPECT_FALSE(CoordinateMapper::create(mapping, &error));
  EXPECT_NE(error.find("aspect ratio"), std::string::npos);
}
