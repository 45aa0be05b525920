// The text of one screenshot as OCR reads it, and where a phrase is on it:
// the whole page first; then, read once each and only when the page pass
// missed the phrase, the outlined elements of button size (text on a
// button face is often skipped on a whole page). Matching is forgiving in
// the ways OCR errs: exact, then with slips in words of 4+ letters, then
// without one-letter words ("I agree" read as "agree"), then run together
// ("DONE-42" read as "DONE - 42"). Used by the OCR policy and the OCR
// grounding baseline.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

#include "vision/ocr.h"

namespace deskpilot::vision {

// The forgiving match on a list of words.
std::optional<Rect> match_phrase(const std::vector<OcrWord>& words, const std::string& phrase, int max_edits);

class ScreenText {
 public:
  // `ocr` and `screenshot` (BGR) must outlive this.
  ScreenText(OcrEngine& ocr, const cv::Mat& screenshot, int max_edits = 1)
      : ocr_(ocr), screenshot_(screenshot), max_edits_(max_edits) {}
  // Reads the page; false and *error when OCR fails.
  bool read(std::string* error);
  // The phrase's box in screenshot pixels.
  std::optional<Rect> find(const std::string& phrase);
  // The first `limit` words read on the page, for messages.
  std::string words(size_t limit = 40) const;

 private:
  struct ElementText {
    cv::Rect inner;               // where the words were read
    std::vector<OcrWord> words;   // relative to inner
  };
  OcrEngine& ocr_;
  const cv::Mat& screenshot_;
  int max_edits_;
  std::vector<OcrWord> page_;
  bool elements_read_ = false;
  std::vector<ElementText> elements_;
};

}  // namespace deskpilot::vision
