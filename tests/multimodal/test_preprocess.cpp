// Preprocessing against transformers' Qwen2VLImageProcessor on screenshots
// of real applications (scripts/golden/vision_cases.py): the resized pixels
// byte for byte (Pillow's bicubic), the grid, every pixel_values row sum and
// 4096 sampled values.
#include "multimodal/preprocess.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "tests/golden_util.h"
#include "multimodal/image_io.h"

namespace deskpilot::multimodal {
namespace {

const std::string kGolden = deskpilot::testing::kGoldenDir;

RgbImage load_rgb(const std::string& path) {
  std::string error;
  auto img = read_rgb_image(path, &error);
  EXPECT_TRUE(img) << error;
  return img ? *img : RgbImage{};
}

nlohmann::json golden() { return deskpilot::testing::read_json(kGolden + "vision/preprocess.json"); }

TEST(Preprocess, ResizeIsPillowBicubicByteForByte) {
  const nlohmann::json g = golden();
  ASSERT_GE(g["cases"].size(), 10u);
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["resized"].get<std::string>());
    const RgbImage src = load_rgb(kGolden + c["image"].get<std::string>());
    const RgbImage expected = load_rgb(kGolden + c["resized"].get<std::string>());
    const RgbImage got = resize_bicubic_pillow(src, c["resized_width"], c["resized_height"]);
    ASSERT_EQ(got.width, expected.width);
    ASSERT_EQ(got.height, expected.height);
    size_t differing = 0;
    for (size_t i = 0; i < got.pixels.size(); ++i) differing += got.pixels[i] != expected.pixels[i];
    EXPECT_EQ(differing, 0u);
  }
}

TEST(Preprocess, PixelValuesMatchTheProcessor) {
  const nlohmann::json g = golden();
  for (const auto& c : g["cases"]) {
    SCOPED_TRACE(c["image"].get<std::string>() + " " + c["setting"].get<std::string>());
    engine::PreprocessorConfig config;
    config.min_pixels = c["min_pixels"];
    config.max_pixels = c["max_pixels"];
    std::string error;
    auto patches = preprocess_image(load_rgb(kGolden + c["image"].get<std::string>()), config, &error);
    ASSERT_TRUE(patches) << error;
    EXPECT_EQ(patches->grid_t, c["grid_thw"][0]);
    EXPECT_EQ(patches->grid_h, c["grid_thw"][1]);
    EXPECT_EQ(patches->grid_w, c["grid_thw"][2]);
    const int64_t rows = c["shape"][0], cols = c["shape"][1];
    ASSERT_EQ(static_cast<int64_t>(patches->pixel_values.size()), rows * cols);
    const auto& sums = c["row_sums"];
    double worst_sum = 0;
    for (int64_t r = 0; r < rows; ++r) {
      double s = 0;
      for (int64_t k = 0; k < cols; ++k) s += patches->pixel_values[r * cols + k];
      worst_sum = std::max(worst_sum, std::fabs(s - sums[r].get<double>()));
    }
    EXPECT_LE(worst_sum, 1e-3);
    float worst = 0;
    const auto& index = c["sample_index"];
    const auto& values = c["sample_values"];
    for (size_t i = 0; i < index.size(); ++i)
      worst = std::max(worst, std::fabs(patches->pixel_values[index[i].get<size_t>()] - values[i].get<float>()));
    EXPECT_LE(worst, 1e-5f);
    std::printf("%s [%s]: grid %lldx%lld, max |row sum diff| %.3g, max |sampled diff| %.3g\n",
                c["image"].get<std::string>().c_str(), c["setting"].get<std::string>().c_str(),
                static_cast<long long>(patches->grid_h), static_cast<long long>(patches->grid_w), worst_sum, worst);
  }
}

TEST(Preprocess, RefusesEmptyAndExtremeImages) {
  std::string error;
  EXPECT_FALSE(preprocess_image(RgbImage{}, engine::PreprocessorConfig(), &error));
  EXPECT_NE(error.find("empty"), std::string::npos) << error;
  RgbImage strip{4000, 10, std::vector<uint8_t>(4000 * 10 * 3, 128)};
  EXPECT_FALSE(preprocess_image(strip, engine::PreprocessorConfig(), &error));
  EXPECT_FALSE(error.empty());
}

TEST(Preprocess, SameSizeIsACopyAndPatchesFollowMergeOrder) {
  // 56x28: already a multiple of 28, no resize. Pixel value = x + 100 * y in
  // channel 0 so the patch order can be read back.
  RgbImage img{56, 28, std::vector<uint8_t>(56 * 28 * 3, 0)};
  for (int y = 0; y < 28; ++y)
    for (int x = 0; x < 56; ++x) img.pixels[(y * 56 + x) * 3] = static_cast<uint8_t>(x + 4 * y);
  engine::PreprocessorConfig config;
  config.min_pixels = 1;
  config.image_mean = {0, 0, 0};
  config.image_std = {1, 1, 1};
  config.rescale_factor = 1.0;
  std::string error;
  auto p = preprocess_image(img, config, &error);
  ASSERT_TRUE(p) << error;
  EXPECT_EQ(p->grid_h, 2);
  EXPECT_EQ(p->grid_w, 4);
  const int64_t cols = 3 * 2 * 14 * 14;
  // Row 1 is merge block (0, 0), position (0, 1): patch column 1 -> x from 14.
  EXPECT_EQ(p->pixel_values[1 * cols + 0], 14.0f);
  // Row 2: block (0, 0), position (1, 0): patch row 1 -> y from 14.
  EXPECT_EQ(p->pixel_values[2 * cols + 0], 4.0f * 14);
  // Row 4: block (0, 1): patch column 2 -> x from 28. Frame 2 repeats frame 1.
  EXPECT_EQ(p->pixel_values[4 * cols + 0], 28.0f);
  EXPECT_EQ(p->pixel_values[4 * cols + 14 * 14], 28.0f);
}

}  // namespace
}  // namespace deskpilot::multimodal
