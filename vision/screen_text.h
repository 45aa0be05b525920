// The text of one screenshot as OCR reads it, and where a phrase is on it:
// the whole page first; then, read once each and only when the page pass
// missed the phrase, the outlined elements of button size (text on a
// button face is often skipped on a whole page). Matching is forgiving in
// the ways OCR errs: exact, then with slips in words of 4+ letters, then
// without one-letter words ("I agree" read as "agree"), then run together
// ("DONE-42" read as "DONE - 42"). Used by the OCR policy and the OCR
// grounding baseline.
//
// A page may show the instruction itself (MiniWoB++'s query, a dialog's
// prompt): lines that echo it can be left out, so that "Click on the
// "Submit" button." finds the button, not the word in the sentence.
#pragma once

#include <optional>
#include <set>
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
  // Lines of 3+ words, three quarters of them words of `instruction`, are
  // left out of every match after this (set before read()).
  void ignore_echoes_of(const std::string& instruction);
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
  std::set<std::string> instruction_words_;  // lowercase letters and digits
  std::vector<OcrWord> page_;
  bool elements_read_ = false;
  std::vector<ElementText> elements_;
};

// Words as compared for echoes: lowercase letters and digits only.
std::string echo_key(const std::string& word);
// `words` without the lines that echo `instruction_words` (echo_key'd).
std::vector<OcrWord> drop_echo_lines(const std::vector<OcrWord>& words, const std::set<std::string>& instruction_words);

}  // namespace deskpilot::vision
