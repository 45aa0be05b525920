// The OCR policy: the embedded default that needs no weights. The
// instruction is read into simple commands (instruction.h), one carried out
// per step: Tesseract finds the words to click, OpenCV's outlines find the
// field next to a label to type into. An honest classical baseline: it does
// what the words say and fails plainly when the words are not on the screen.
#pragma once

#include <memory>
#include <string>

#include "policies/instruction.h"
#include "policies/policy.h"
#include "vision/ocr.h"

namespace deskpilot::policies {

struct OcrPolicyOptions {
  std::string language = "eng";  // Tesseract language
  int find_attempts = 4;         // steps spent looking for a target (the screen may still be drawing)
  double retry_wait_s = 1.0;     // between them
  int max_edits = 1;             // OCR slips allowed per word of 4+ letters
};

class OcrPolicy final : public Policy {
 public:
  static std::unique_ptr<OcrPolicy> create(const OcrPolicyOptions& options, std::string* error);

  std::string name() const override { return "ocr"; }
  void reset(const std::string& instruction) override;
  bool decide(const Observation& observation, Decision* decision, std::string* error) override;

 private:
  OcrPolicy(OcrPolicyOptions options, std::unique_ptr<vision::OcrEngine> ocr)
      : options_(std::move(options)), ocr_(std::move(ocr)) {}
  // Where `phrase` is: exact first, then with OCR slips. Sets *read to the words seen.
  bool find(const cv::Mat& screenshot, const std::string& phrase, vision::Rect* box, std::string* read,
            std::string* error);

  OcrPolicyOptions options_;
  std::unique_ptr<vision::OcrEngine> ocr_;
  std::string instruction_;
  InstructionParse plan_;
  size_t next_ = 0;  // the command to carry out next
  int misses_ = 0;   // steps the current command's target was not found
};

}  // namespace deskpilot::policies
