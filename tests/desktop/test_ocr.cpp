// Tesseract OCR: words and their boxes on a rendered image, phrase search.
#include <gtest/gtest.h>

#include <opencv2/imgproc.hpp>

#include "vision/ocr.h"
#include "vision/screen_text.h"

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

TEST(Ocr, LinesEchoingTheInstructionAreLeftOut) {
  // MiniWoB++ shows its query above the task: the target is the button, not
  // the word in the sentence.
  cv::Mat image(300, 900, CV_8UC3, cv::Scalar(255, 255, 255));
  cv::putText(image, "Click on the Submit button", {20, 60}, cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(0, 0, 0), 2);
  cv::putText(image, "Cancel", {100, 200}, cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(0, 0, 0), 2);
  cv::putText(image, "Submit", {400, 200}, cv::FONT_HERSHEY_SIMPLEX, 1.2, cv::Scalar(0, 0, 0), 2);
  std::string error;
  auto ocr = OcrEngine::open("eng", &error);
  ASSERT_TRUE(ocr) << error;
  ScreenText plain(*ocr, image);
  ASSERT_TRUE(plain.read(&error)) << error;
  auto first = plain.find("Submit");
  ASSERT_TRUE(first);
  EXPECT_LT(first->y, 100);  // without the rule: the sentence's word
  ScreenText echoed(*ocr, image);
  echoed.ignore_echoes_of("Click on the \"Submit\" button.");
  ASSERT_TRUE(echoed.read(&error)) << error;
  auto button = echoed.find("Submit");
  ASSERT_TRUE(button);
  EXPECT_GT(button->y, 150);
  EXPECT_NEAR(button->x, 400, 12);
  // Only the sentence has it: not found.
  EXPECT_FALSE(echoed.find("Click on the"));
  // Short lines are never echoes; nor lines mostly of other words.
  std::vector<OcrWord> words = {{"Submit", {0, 0, 10, 10}, 90, 1}, {"Save", {0, 20, 10, 10}, 90, 2},
                                {"the", {20, 20, 10, 10}, 90, 2},   {"report", {40, 20, 10, 10}, 90, 2},
                                {"now", {60, 20, 10, 10}, 90, 2}};
  EXPECT_EQ(drop_echo_lines(words, {"submit", "save", "the"}).size(), 5u);
  EXPECT_EQ(drop_echo_lines(words, {"submit", "save", "the", "report"}).size(), 1u);
}

TEST(Ocr, UnknownLanguageIsNamed) {
  std::string error;
  EXPECT_FALSE(OcrEngine::open("xx_nolang", &error));
  EXPECT_NE(error.find("cannot load language 'xx_nolang'"), std::string::npos) << error;
}
