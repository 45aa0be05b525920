#include "eval/grounder.h"

#include <algorithm>
#include <cctype>
#include <set>

namespace deskpilot::eval {

bool PolicyGrounder::locate(const cv::Mat& bgr, const std::string& instruction, GroundingAnswer* answer,
                            std::string* error) {
  policy_->reset(instruction);
  policies::Decision d;
  if (!policy_->decide(policies::Observation{bgr, 1}, &d, error)) return false;
  answer->raw = d.model_text.empty() ? d.thought : d.model_text;
  answer->prompt_tokens = d.prompt_tokens;
  answer->completion_tokens = d.completion_tokens;
  if (!d.ok) return true;  // unparseable: no point (wrong_format)
  for (const actions::Action& a : d.actions)
    if (a.start) {
      answer->point = *a.start;
      break;
    }
  return true;
}

std::unique_ptr<OcrGrounder> OcrGrounder::create(const std::string& language, std::string* error) {
  auto ocr = vision::OcrEngine::open(language, error);
  if (!ocr) return nullptr;
  return std::unique_ptr<OcrGrounder>(new OcrGrounder(std::move(ocr)));
}

std::vector<std::string> ocr_search_phrases(const std::string& instruction) {
  static const std::set<std::string> filler = {
      "a",     "an",   "and",    "at",     "box",  "button", "by",     "check", "choose", "click", "field", "for",
      "from",  "go",   "icon",   "in",     "into", "is",     "it",     "link",  "menu",   "my",    "of",    "on",
      "open",  "or",   "press",  "select", "show", "tab",    "tap",    "the",   "this",   "to",    "view",  "with",
      "your",  "option", "item", "element", "that", "page",  "window", "enter", "type",   "use",   "be"};
  std::vector<std::string> phrases;
  const auto add = [&](const std::string& p) {
    if (!p.empty() && std::find(phrases.begin(), phrases.end(), p) == phrases.end()) phrases.push_back(p);
  };
  // Quoted text first: 'the "Save As" button'.
  for (char q : {'"', '\''}) {
    size_t open = instruction.find(q);
    while (open != std::string::npos) {
      const size_t close = instruction.find(q, open + 1);
      if (close == std::string::npos) break;
      add(instruction.substr(open + 1, close - open - 1));
      open = instruction.find(q, close + 1);
    }
  }
  std::vector<std::string> words;
  std::string w;
  for (char ch : instruction + " ") {
    if (std::isalnum(static_cast<unsigned char>(ch)) || ch == '-' || ch == '.' || ch == '_' || ch == '@' ||
        (ch & 0x80)) {
      w += ch;
    } else if (!w.empty()) {
      while (!w.empty() && (w.back() == '.' || w.back() == '-')) w.pop_back();
      if (!w.empty()) words.push_back(w);
      w.clear();
    }
  }
  const auto lower = [](std::string s) {
    for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    return s;
  };
  for (size_t len = words.size(); len >= 1; --len) {
    for (size_t at = 0; at + len <= words.size(); ++at) {
      bool content = false;
      for (size_t i = at; i < at + len; ++i) content = content || !filler.count(lower(words[i]));
      if (!content) continue;
      if (len == 1 && words[at].size() < 2) continue;  // one letter matches anything
      if (filler.count(lower(words[at])) || filler.count(lower(words[at + len - 1]))) continue;  // trimmed runs only
      std::string p;
      for (size_t i = at; i < at + len; ++i) p += (i > at ? " " : "") + words[i];
      add(p);
    }
  }
  return phrases;
}

bool OcrGrounder::locate(const cv::Mat& bgr, const std::string& instruction, GroundingAnswer* answer,
                         std::string* error) {
  // FNV-1a over the pixels and the size: the same screen is read once.
  uint64_t key = 1469598103934665603ull ^ (static_cast<uint64_t>(bgr.cols) << 32 | static_cast<uint64_t>(bgr.rows));
  const cv::Mat pixels = bgr.isContinuous() ? bgr : bgr.clone();
  const auto* p = pixels.ptr<uint8_t>();
  for (size_t i = 0, n = pixels.total() * pixels.elemSize(); i < n; ++i) key = (key ^ p[i]) * 1099511628211ull;
  if (!text_ || key != key_) {
    image_ = pixels.clone();
    text_ = std::make_unique<vision::ScreenText>(*ocr_, image_);
    key_ = key;
    if (!text_->read(error)) {
      text_.reset();
      return false;
    }
  }
  for (const std::string& phrase : ocr_search_phrases(instruction)) {
    const std::optional<vision::Rect> box = text_->find(phrase);
    if (!box) continue;
    answer->point = actions::Point{box->x + box->width / 2.0, box->y + box->height / 2.0};
    answer->raw = "found \"" + phrase + "\"";
    return true;
  }
  answer->raw = "none of the instruction's words on the screen";
  return true;
}

}  // namespace deskpilot::eval
