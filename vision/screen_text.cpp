#include "vision/screen_text.h"

#include <sstream>

#include "vision/elements.h"

namespace deskpilot::vision {

std::optional<Rect> match_phrase(const std::vector<OcrWord>& words, const std::string& phrase, int max_edits) {
  if (auto r = find_phrase(words, phrase)) return r;
  if (max_edits > 0)
    if (auto r = find_phrase(words, phrase, max_edits)) return r;
  std::string longer;
  std::istringstream in(phrase);
  for (std::string w; in >> w;)
    if (w.size() > 1) longer += (longer.empty() ? "" : " ") + w;
  if (!longer.empty() && longer != phrase)
    if (auto r = find_phrase(words, longer, max_edits)) return r;
  return find_phrase_joined(words, phrase);
}

bool ScreenText::read(std::string* error) {
  page_.clear();
  elements_read_ = false;
  elements_.clear();
  return ocr_.read_words(screenshot_, &page_, error);
}

std::optional<Rect> ScreenText::find(const std::string& phrase) {
  if (auto found = match_phrase(page_, phrase, max_edits_)) return found;
  if (!elements_read_) {
    elements_read_ = true;
    for (const Element& e : detect_elements(screenshot_)) {
      const Rect& r = e.box;
      if (r.width > 600 || r.height > 120 || r.width < 24 || r.height < 14) continue;
      ElementText t{cv::Rect(r.x + 2, r.y + 2, r.width - 4, r.height - 4), {}};
      std::string ignored;
      if (ocr_.read_words(screenshot_(t.inner).clone(), &t.words, &ignored) && !t.words.empty())
        elements_.push_back(std::move(t));
    }
  }
  for (const ElementText& t : elements_)
    if (auto found = match_phrase(t.words, phrase, max_edits_))
      return Rect{found->x + t.inner.x, found->y + t.inner.y, found->width, found->height};
  return std::nullopt;
}

std::string ScreenText::words(size_t limit) const {
  std::string out;
  for (size_t i = 0; i < page_.size() && i < limit; ++i) out += (i ? " " : "") + page_[i].text;
  if (page_.size() > limit) out += " ...";
  return out;
}

}  // namespace deskpilot::vision
