// What answers a grounding question ("where is the Save button?") on one
// screenshot: a point in its pixels, or none (the answer had no point).
//
//   PolicyGrounder   any Policy (UI-TARS with the grounding prompt, in-process
//                    or over HTTP): the first action with a target point
//   OcrGrounder      the classical baseline: the instruction's words looked
//                    up in Tesseract's reading of the screen, longest run of
//                    words first; no point when none of them is there
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <opencv2/core.hpp>

#include "actions/action.h"
#include "policies/policy.h"
#include "vision/ocr.h"
#include "vision/screen_text.h"

namespace deskpilot::eval {

struct GroundingAnswer {
  std::optional<actions::Point> point;  // image pixels
  std::string raw;                      // the model's text, or what OCR matched
  int64_t prompt_tokens = 0, completion_tokens = 0;
};

class Grounder {
 public:
  virtual ~Grounder() = default;
  virtual std::string name() const = 0;
  // false and *error only when the grounder cannot work at all (server down);
  // an answer without a point is answer->point empty.
  virtual bool locate(const cv::Mat& bgr, const std::string& instruction, GroundingAnswer* answer,
                      std::string* error) = 0;
};

class PolicyGrounder final : public Grounder {
 public:
  explicit PolicyGrounder(std::unique_ptr<policies::Policy> policy) : policy_(std::move(policy)) {}
  std::string name() const override { return policy_->name(); }
  bool locate(const cv::Mat& bgr, const std::string& instruction, GroundingAnswer* answer,
              std::string* error) override;

 private:
  std::unique_ptr<policies::Policy> policy_;
};

class OcrGrounder final : public Grounder {
 public:
  static std::unique_ptr<OcrGrounder> create(const std::string& language, std::string* error);
  std::string name() const override { return "ocr"; }
  bool locate(const cv::Mat& bgr, const std::string& instruction, GroundingAnswer* answer,
              std::string* error) override;

 private:
  explicit OcrGrounder(std::unique_ptr<vision::OcrEngine> ocr) : ocr_(std::move(ocr)) {}
  std::unique_ptr<vision::OcrEngine> ocr_;
  // The last screenshot's reading: benchmark sets ask many questions of one screen.
  uint64_t key_ = 0;
  cv::Mat image_;
  std::unique_ptr<vision::ScreenText> text_;
};

// The phrases the OCR grounder looks for, best first: quoted text, the whole
// instruction, then every run of its words from the longest down, runs that
// start or end with filler words ("click", "the", "button", ...) or are one
// letter left out.
std::vector<std::string> ocr_search_phrases(const std::string& instruction);

}  // namespace deskpilot::eval
