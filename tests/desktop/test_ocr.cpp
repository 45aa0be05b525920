// Tesseract OCR: words and their boxes on a rendered image, phrase search.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "vision/ocr.h"

using namespace deskpilot::vision;

TEST(Ocr, ReadsWordsWithBoxesAndFindsPhrases) {
  cv::Mat image(300, 800, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(image, "Save report", {100, 100}, cv::FONT_HERSHEY_SIMPLEX, 1.5, cv::Scalar(0, 0, 0), 3);
  cv::putText(image, "Cancel", {500, 220}, cv::FONT_HERSHEY_SIMPLEX, 1.5, cv::Scalar(0, 0, 0), 3);
  std::string error;
  auto ocr = OcrEngine::open("eng", &error);
  ASSERT_TRUE(ocr) << error;
  std::vector<OcrWord> words;
  ASSERT_TRUE(ocr->read_words(image, &words, &error)) << error;
  ASSERT_GE(words.size(), 3u);

  auto save = find_phrase(words, "save REPORT");
  ASSERT_TRUE(save);
  // The phrase was drawn from x=100 with its baseline at y=100: the box
  // starts there and holds the middle of the capitals (y = 85).
  EXPECT_NEAR(save->x, 100, 12);
  EXPECT_LT(save->y, 85);
  EXPECT_GT(save->y + save->height, 85);
  EXPECT_GT(save->width, 200);
  auto cancel = find_phrase(words, "Cancel.");  // punctuation at the ends is ignored
  ASSERT_TRUE(cancel);
  EXPECT_NEAR(cancel->x, 500, 12);
  EXPECT_FALSE(find_phrase(words, "report Save"));  // order matters
  EXPECT_FALSE(find_phrase(words, "Delete"));
  EXPECT_FALSE(find_phrase(words, "   "));
}

TEST(Ocr, UnknownLanguageIsNamed) {
  std::string error;
  EXPECT_FALSE(OcrEngine::open("xx_nolang", &error));
  EXPECT_NE(error.find("cannot load language 'xx_nolang'"), std::string::npos) << error;
}
