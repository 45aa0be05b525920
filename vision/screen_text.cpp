#include "vision/screen_text.h"

#include <cctype>
#include <map>
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

std::string echo_key(const std::string& word) {
  std::string key;
  for (unsigned char c : word)
    if (std::isalnum(c) || c >= 0x80) key.push_back(static_cast<char>(std::tolower(c)));
  return key;
}

std::vector<OcrWord> drop_echo_lines(const std::vector<OcrWord>& words, const std::set<std::string>& instruction_words) {
  if (instruction_words.empty()) return words;
  std::map<int, std::pair<int, int>> lines;  // line -> (words, words of the instruction)
  for (const OcrWord& w : words) {
    const std::string key = echo_key(w.text);
    if (key.empty()) continue;
    auto& [n, in] = lines[w.line];
    ++n;
    in += instruction_words.count(key) > 0;
  }
  std::vector<OcrWord> kept;
  for (const OcrWord& w : words) {
    const auto& [n, in] = lines[w.line];
    if (n >= 3 && 4 * in >= 3 * n) continue;
    kept.push_back(w);
  }
  return kept;
}

void ScreenText::ignore_echoes_of(const std::string& instruction) {
  instruction_words_.clear();
  std::istringstream in(instruction);
  for (std::string w; in >> w;)
    if (std::string key = echo_key(w); !key.empty()) instruction_words_.insert(key);
}

bool ScreenText::read(std::string* error) {
  page_.clear();
  elements_read_ = false;
  elements_.clear();
  if (!ocr_.read_words(screenshot_, &page_, error)) return false;
  page_ = drop_echo_lines(page_, instruction_words_);
  return true;
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
      if (!ocr_.read_words(screenshot_(t.inner).clone(), &t.words, &ignored)) continue;
      t.words = drop_echo_lines(t.words, instruction_words_);
      if (!t.words.empty()) elements_.push_back(std::move(t));
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
