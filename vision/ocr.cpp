#include "vision/ocr.h"

#include <leptonica/allheaders.h>
#include <tesseract/baseapi.h>
#include <tesseract/resultiterator.h>

#include <algorithm>
#include <cctype>
#include <sstream>

#include <opencv2/imgproc.hpp>

namespace deskpilot::vision {
namespace {

// Lower-case ASCII letters, drop leading/trailing punctuation: "Save..." -> "save".
std::string fold(const std::string& word) {
  size_t b = 0, e = word.size();
  auto punct = [](char c) { return std::ispunct(static_cast<unsigned char>(c)) != 0; };
  while (b < e && punct(word[b])) ++b;
  while (e > b && punct(word[e - 1])) --e;
  std::string out = word.substr(b, e - b);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace

struct OcrEngine::Impl {
  tesseract::TessBaseAPI api;
};

OcrEngine::OcrEngine(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
OcrEngine::~OcrEngine() { impl_->api.End(); }

std::unique_ptr<OcrEngine> OcrEngine::open(const std::string& language, std::string* error) {
  auto impl = std::make_unique<Impl>();
  if (impl->api.Init(nullptr, language.c_str(), tesseract::OEM_LSTM_ONLY) != 0) {
    *error = "Tesseract cannot load language '" + language + "' (Debian: apt-get install tesseract-ocr-" +
             language + ")";
    return nullptr;
  }
  // Screens are sparse text, not pages.
  impl->api.SetPageSegMode(tesseract::PSM_SPARSE_TEXT);
  // Tesseract's and Leptonica's chatter about tiny regions ("Image too small
  // to scale!!", "box outside rectangle") is not for users; failures still
  // come back as errors.
  impl->api.SetVariable("debug_file", "/dev/null");
  setMsgSeverity(L_SEVERITY_NONE);
  return std::unique_ptr<OcrEngine>(new OcrEngine(std::move(impl)));
}

bool OcrEngine::read_words(const cv::Mat& bgr, std::vector<OcrWord>* words, std::string* error) {
  words->clear();
  if (bgr.empty() || bgr.type() != CV_8UC3) {
    *error = "OCR needs a BGR image";
    return false;
  }
  constexpr int kScale = 2;
  cv::Mat gray, big;  // (rows * 2, cols * 2) 8-bit
  cv::cvtColor(bgr, gray, cv::COLOR_BGR2GRAY);
  cv::resize(gray, big, cv::Size(), kScale, kScale, cv::INTER_CUBIC);
  auto& api = impl_->api;
  api.SetImage(big.data, big.cols, big.rows, 1, static_cast<int>(big.step));
  api.SetSourceResolution(144);
  if (api.Recognize(nullptr) != 0) {
    *error = "Tesseract could not recognise the image";
    return false;
  }
  std::unique_ptr<tesseract::ResultIterator> it(api.GetIterator());
  int line = 0;
  if (it) {
    do {
      if (it->IsAtBeginningOf(tesseract::RIL_TEXTLINE)) ++line;
      std::unique_ptr<char[]> text(it->GetUTF8Text(tesseract::RIL_WORD));
      if (!text) continue;
      int x1 = 0, y1 = 0, x2 = 0, y2 = 0;
      it->BoundingBox(tesseract::RIL_WORD, &x1, &y1, &x2, &y2);
      OcrWord w;
      w.text = text.get();
      w.box = {x1 / kScale, y1 / kScale, (x2 - x1) / kScale, (y2 - y1) / kScale};
      w.confidence = it->Confidence(tesseract::RIL_WORD);
      w.line = line;
      if (!w.text.empty()) words->push_back(std::move(w));
    } while (it->Next(tesseract::RIL_WORD));
  }
  api.Clear();
  return true;
}

namespace {

// Levenshtein distance over bytes, for OCR's one-letter slips.
int edit_distance(const std::string& a, const std::string& b) {
  std::vector<int> row(b.size() + 1);
  for (size_t j = 0; j <= b.size(); ++j) row[j] = static_cast<int>(j);
  for (size_t i = 1; i <= a.size(); ++i) {
    int diag = row[0];
    row[0] = static_cast<int>(i);
    for (size_t j = 1; j <= b.size(); ++j) {
      const int up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

std::optional<Rect> find_phrase(const std::vector<OcrWord>& words, const std::string& phrase, int max_edits) {
  std::vector<std::string> wanted;
  std::istringstream in(phrase);
  for (std::string w; in >> w;) {
    std::string f = fold(w);
    if (!f.empty()) wanted.push_back(f);
  }
  if (wanted.empty()) return std::nullopt;
  for (size_t i = 0; i + wanted.size() <= words.size(); ++i) {
    bool match = true;
    for (size_t k = 0; k < wanted.size() && match; ++k) {
      const std::string got = fold(words[i + k].text);
      const int allowed = wanted[k].size() >= 4 ? max_edits : 0;
      match = words[i + k].line == words[i].line &&
              (got == wanted[k] || (allowed > 0 && edit_distance(got, wanted[k]) <= allowed));
    }
    if (!match) continue;
    int x1 = words[i].box.x, y1 = words[i].box.y, x2 = x1, y2 = y1;
    for (size_t k = 0; k < wanted.size(); ++k) {
      const Rect& b = words[i + k].box;
      x1 = std::min(x1, b.x);
      y1 = std::min(y1, b.y);
      x2 = std::max(x2, b.x + b.width);
      y2 = std::max(y2, b.y + b.height);
    }
    return Rect{x1, y1, x2 - x1, y2 - y1};
  }
  return std::nullopt;
}

namespace {

// Letters and digits only, lower-cased: what survives OCR's splits.
std::string squeeze(const std::string& s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c)) out.push_back(static_cast<char>(std::tolower(c)));
    else if (c >= 0x80) out.push_back(static_cast<char>(c));
  }
  return out;
}

}  // namespace

std::optional<Rect> find_phrase_joined(const std::vector<OcrWord>& words, const std::string& phrase) {
  const std::string wanted = squeeze(phrase);
  if (wanted.empty()) return std::nullopt;
  for (size_t i = 0; i < words.size();) {
    size_t end = i;  // the words of this line: [i, end)
    std::string joined;
    std::vector<size_t> owner;  // joined byte -> word index
    while (end < words.size() && words[end].line == words[i].line) {
      const std::string w = squeeze(words[end].text);
      joined += w;
      owner.insert(owner.end(), w.size(), end);
      ++end;
    }
    const size_t at = joined.find(wanted);
    if (at != std::string::npos) {
      const size_t first = owner[at], last = owner[at + wanted.size() - 1];
      int x1 = words[first].box.x, y1 = words[first].box.y, x2 = x1, y2 = y1;
      for (size_t k = first; k <= last; ++k) {
        const Rect& b = words[k].box;
        x1 = std::min(x1, b.x);
        y1 = std::min(y1, b.y);
        x2 = std::max(x2, b.x + b.width);
        y2 = std::max(y2, b.y + b.height);
      }
      return Rect{x1, y1, x2 - x1, y2 - y1};
    }
    i = end;
  }
  return std::nullopt;
}

}  // namespace deskpilot::vision
