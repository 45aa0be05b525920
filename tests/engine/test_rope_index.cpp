// M-RoPE positions of multimodal prompts and the Qwen2.5-VL window plan,
// checked against hand-worked examples (the transformers goldens cover the
// same code through tests/vision/test_multimodal.cpp).
#include "engine/rope_index.h"

#include <gtest/gtest.h>

#include "engine/vision_tower.h"

namespace deskpilot::engine {
namespace {

ModelConfig config() {
  ModelConfig c;
  c.image_token_id = 9;
  c.video_token_id = 8;
  c.vision.spatial_merge_size = 2;
  return c;
}

ImagePatches image(int64_t grid_h, int64_t grid_w) {
  ImagePatches p;
  p.grid_t = 1, p.grid_h = grid_h, p.grid_w = grid_w;
  return p;
}

TEST(RopeIndex, TextResumesAfterTheLargestImagePosition) {
  // 2 text tokens, an image of 2x3 merged units, 2 text tokens.
  const std::vector<int32_t> ids = {1, 2, 9, 9, 9, 9, 9, 9, 3, 4};
  std::string error;
  auto r = rope_index(ids, {image(4, 6)}, config(), &error);
  ASSERT_TRUE(r) << error;
  const int64_t n = 10;
  const std::vector<int64_t> t = {0, 1, 2, 2, 2, 2, 2, 2, 5, 6};
  const std::vector<int64_t> h = {0, 1, 2, 2, 2, 3, 3, 3, 5, 6};
  const std::vector<int64_t> w = {0, 1, 2, 3, 4, 2, 3, 4, 5, 6};
  EXPECT_EQ(std::vector<int64_t>(r->positions.begin(), r->positions.begin() + n), t);
  EXPECT_EQ(std::vector<int64_t>(r->positions.begin() + n, r->positions.begin() + 2 * n), h);
  EXPECT_EQ(std::vector<int64_t>(r->positions.begin() + 2 * n, r->positions.end()), w);
  EXPECT_EQ(r->delta, 7 - 10);
}

TEST(RopeIndex, TextOnlyHasNoDeltaAndVideosAreRefused) {
  std::string error;
  auto r = rope_index({5, 6, 7}, {}, config(), &error);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->delta, 0);
  EXPECT_EQ(r->positions, (std::vector<int64_t>{0, 1, 2, 0, 1, 2, 0, 1, 2}));
  EXPECT_FALSE(rope_index({5, 8}, {}, config(), &error));
  EXPECT_NE(error.find("token 1: videos are not supported"), std::string::npos) << error;
  EXPECT_FALSE(rope_index({9, 9}, {image(2, 2)}, config(), &error));  // 2 tokens, the image needs 1 run of 1
  EXPECT_FALSE(rope_index({1}, {image(2, 2)}, config(), &error));
  EXPECT_NE(error.find("1 images given but the prompt has 0"), std::string::npos) << error;
}

TEST(WindowPlan, PadsLikeTransformersAndDropsEmptyWindows) {
  // 10x18 patches = 5x9 merged units, windows of 4x4 units: 2x3 windows
  // holding 4x4, 4x4, 4x1, 1x4, 1x4, 1x1 units.
  const WindowPlan p = plan_windows({{1, 10, 18}}, 2, 4);
  EXPECT_EQ(p.index.size(), 45u);
  EXPECT_EQ(p.starts, (std::vector<int64_t>{0, 64, 128, 144, 160, 176, 180}));
  EXPECT_EQ(p.index[0], 0);
  EXPECT_EQ(p.index[4], 9);     // second row of the first window
  EXPECT_EQ(p.index[16], 4);    // the second window starts at unit column 4
  // 8x8 units: a multiple of the window; transformers still pads a full window
  // row and column, which stay empty and are dropped.
  const WindowPlan q = plan_windows({{1, 16, 16}, {1, 4, 4}}, 2, 4);
  EXPECT_EQ(q.starts, (std::vector<int64_t>{0, 64, 128, 192, 256, 272}));
  EXPECT_EQ(q.index.back(), 64 + 3);  // the second image's units follow the first's
}

}  // namespace
}  // namespace deskpilot::engine
