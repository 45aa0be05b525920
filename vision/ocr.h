// OCR with Tesseract: the words on a screenshot with their boxes, and where a
// phrase stands, for scenario targets ("click the word Save") and checks.
// Tesseract headers stay in ocr.cpp.
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/capture.h"

namespace deskpilot::vision {

struct OcrWord {
  std::string text;      // UTF-8
  Rect box;              // in the screenshot's pixels
  float confidence = 0;  // 0..100
  int line = 0;          // words on the same text line share it
};

class OcrEngine {
 public:
  // `language`: a Tesseract language (Debian: tesseract-ocr-eng gives "eng").
  static std::unique_ptr<OcrEngine> open(const std::string& language, std::string* error);
  ~OcrEngine();
  OcrEngine(const OcrEngine&) = delete;
  OcrEngine& operator=(const OcrEngine&) = delete;

  // Words of a BGR screenshot. UI text is small: the image is upscaled 2x
  // first, and boxes are mapped back.
  bool read_words(const cv::Mat& bgr, std::vector<OcrWord>* words, std::string* error);

 private:
  struct Impl;
  explicit OcrEngine(std::unique_ptr<Impl> impl);
  std::unique_ptr<Impl> impl_;
};

// The box around the first occurrence of `phrase` (its words, in order, on
// one line; case-insensitive; punctuation at word ends ignored). With
// max_edits > 0, words of 4 letters or more may differ by that many edits
// (OCR reading "Saue" for "Save").
std::optional<Rect> find_phrase(const std::vector<OcrWord>& words, const std::string& phrase, int max_edits = 0);

// The phrase's letters and digits found inside one line's words run
// together, whatever OCR split or joined: "DONE-42" in "DONE", "-", "42";
// "report.txt" in "report. txt". The box covers the words it spans.
std::optional<Rect> find_phrase_joined(const std::vector<OcrWord>& words, const std::string& phrase);

}  // namespace deskpilot::vision
