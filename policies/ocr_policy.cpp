#include "policies/ocr_policy.h"

#include <sstream>

#include "vision/elements.h"
#include "vision/screen_text.h"

namespace deskpilot::policies {
namespace {

actions::Point centre(const vision::Rect& r) { return {r.x + r.width / 2.0, r.y + r.height / 2.0}; }

std::string describe(const vision::Rect& r) {
  return "(" + std::to_string(r.x + r.width / 2) + "," + std::to_string(r.y + r.height / 2) + ")";
}

}  // namespace

std::unique_ptr<OcrPolicy> OcrPolicy::create(const OcrPolicyOptions& options, std::string* error) {
  auto ocr = vision::OcrEngine::open(options.language, error);
  if (!ocr) return nullptr;
  return std::unique_ptr<OcrPolicy>(new OcrPolicy(options, std::move(ocr)));
}

void OcrPolicy::reset(const std::string& instruction) {
  plan_ = parse_instruction(instruction);
  instruction_ = instruction;
  next_ = 0;
  misses_ = 0;
}

bool OcrPolicy::find(const cv::Mat& screenshot, const std::string& phrase, vision::Rect* box, std::string* read,
                     std::string* error) {
  error->clear();
  vision::ScreenText text(*ocr_, screenshot, options_.max_edits);
  text.ignore_echoes_of(instruction_);  // the target, not the instruction shown on the screen
  if (!text.read(error)) return false;
  if (auto found = text.find(phrase)) {
    *box = *found;
    return true;
  }
  *read = text.words();
  return false;
}

bool OcrPolicy::decide(const Observation& observation, Decision* decision, std::string* error) {
  *decision = Decision();
  if (!plan_.ok()) {
    decision->ok = false;
    decision->error = "cannot read the instruction: " + plan_.error;
    return true;
  }
  if (next_ >= plan_.commands.size()) {
    decision->thought = "all " + std::to_string(plan_.commands.size()) + " parts of the instruction are done";
    actions::Action done;
    done.type = actions::ActionType::kFinished;
    decision->actions.push_back(done);
    return true;
  }
  const Command& cmd = plan_.commands[next_];
  const std::string part = "part " + std::to_string(next_ + 1) + "/" + std::to_string(plan_.commands.size()) +
                           " '" + cmd.clause + "'";
  const cv::Mat& screen = observation.screenshot;
  actions::Action a;
  // The target on the screen, for the kinds that have one.
  vision::Rect box;
  if (!cmd.target.empty()) {
    std::string read;
    if (!find(screen, cmd.target, &box, &read, error)) {
      if (!error->empty()) return false;
      if (++misses_ < options_.find_attempts) {
        decision->thought = part + ": '" + cmd.target + "' is not on the screen yet; waiting";
        a.type = actions::ActionType::kWait;
        a.seconds = options_.retry_wait_s;
        decision->actions.push_back(a);
        return true;
      }
      decision->ok = false;
      decision->error = part + ": '" + cmd.target + "' is not on the screen (OCR read: " +
                        (read.empty() ? "nothing" : read) + ")";
      return true;
    }
  }
  misses_ = 0;
  switch (cmd.kind) {
    case Command::Kind::kClick:
    case Command::Kind::kDoubleClick:
    case Command::Kind::kRightClick:
    case Command::Kind::kHover:
      a.type = cmd.kind == Command::Kind::kClick         ? actions::ActionType::kClick
               : cmd.kind == Command::Kind::kDoubleClick ? actions::ActionType::kLeftDouble
               : cmd.kind == Command::Kind::kRightClick  ? actions::ActionType::kRightSingle
                                                         : actions::ActionType::kHover;
      a.start = centre(box);
      decision->thought = part + ": '" + cmd.target + "' read at " + describe(box);
      decision->actions.push_back(a);
      break;
    case Command::Kind::kType: {
      if (!cmd.target.empty()) {
        const auto field = vision::field_for_label(vision::detect_elements(screen), box);
        actions::Action click;
        click.type = actions::ActionType::kClick;
        click.start = centre(field ? *field : box);
        decision->actions.push_back(click);
        decision->thought = part + ": " +
                            (field ? "the field of '" + cmd.target + "' at " + describe(*field)
                                   : "no field outline next to '" + cmd.target + "'; clicking the words at " +
                                         describe(box));
      } else {
        decision->thought = part + ": typing into the focused window";
      }
      a.type = actions::ActionType::kType;
      a.text = cmd.text;
      decision->actions.push_back(a);
      break;
    }
    case Command::Kind::kPress:
      a.type = actions::ActionType::kHotkey;
      a.keys = cmd.keys;
      decision->thought = part;
      decision->actions.push_back(a);
      break;
    case Command::Kind::kScroll:
      a.type = actions::ActionType::kScroll;
      a.direction = cmd.direction;
      a.amount = cmd.amount;
      a.start = actions::Point{screen.cols / 2.0, screen.rows / 2.0};
      decision->thought = part;
      decision->actions.push_back(a);
      break;
    case Command::Kind::kWait:
      a.type = actions::ActionType::kWait;
      a.seconds = cmd.seconds;
      decision->thought = part;
      decision->actions.push_back(a);
      break;
  }
  ++next_;
  return true;
}

}  // namespace deskpilot::policies
