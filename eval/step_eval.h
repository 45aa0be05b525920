// Offline step-level scoring on recorded episodes (AndroidControl and
// GUI-Odyssey style): for every step the policy sees that step's screenshot
// and the episode's goal (its own earlier answers as history, reset per
// episode), and its first action is compared with the recorded one:
//
//   type       the action kinds agree (click, long_press, scroll, type,
//              open_app, press_back, press_home, wait, finished; a drag
//              counts as a scroll, as a swipe does in the datasets)
//   grounding  click / long_press: the point lies in the target element's box
//              when the step has one, else within 14% of the screen (in
//              coordinates normalised to 0..1) of the recorded point, as
//              AITW-style scripts score
//   success    type agrees and: the grounding holds (click, long_press), the
//              direction agrees (scroll), the text agrees case-insensitively
//              (type), the app name agrees (open_app)
//
// Accepted files (a folder of them or one file; a file holds one episode or
// a list):
//   androidcontrol  {episode_id, goal, screenshots: [path], actions:
//                    [{action_type: click|long_press|scroll|input_text|open_app|
//                      navigate_back|navigate_home|wait, x, y (pixels), text,
//                      direction, app_name}], target_boxes?: [[x1, y1, x2, y2]
//                    or null]}  (the JSON export of the TFRecords)
//   gui-odyssey     {episode_id, task_info: {instruction}, steps: [{screenshot,
//                    action: CLICK|LONG_PRESS|SCROLL|TEXT|KEY_BACK|KEY_HOME|
//                    KEY_APPSELECT|COMPLETE|INCOMPLETE, info: [[x, y]] (0..1000)
//                    | [[x1, y1], [x2, y2]] (a swipe: content scrolls the other
//                    way) | "text"}]}
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "actions/action.h"
#include "policies/policy.h"

namespace deskpilot::eval {

enum class StepFormat { kAndroidControl, kGuiOdyssey };
std::optional<StepFormat> step_format_from_name(const std::string& name);

// An action as scored: kind and its arguments, points in image pixels.
struct StepAction {
  std::string type;  // click, long_press, scroll, type, open_app, press_back, press_home, wait, finished, other
  std::optional<actions::Point> point;
  std::string direction;  // scroll: up, down, left, right (content)
  std::string text;       // type: the text; open_app: the app
};

struct StepRecord {
  std::string image;
  StepAction truth;
  std::optional<std::vector<double>> box;  // target element (x1, y1, x2, y2) pixels, when known
};

struct Episode {
  std::string id, goal, file;
  std::vector<StepRecord> steps;
};

// Episodes of FILE or of every .json in DIR (name order); images resolved
// against `images_dir` (default: the file's folder). nullopt and *error naming
// the file, episode and step.
std::optional<std::vector<Episode>> load_episodes(const std::string& path, StepFormat format,
                                                  const std::string& images_dir, std::string* error);

// A deskpilot action (image pixels) as scored.
StepAction step_action(const actions::Action& a);

struct StepScore {
  bool type_match = false, grounded = false, success = false;
  bool needs_grounding = false;  // the recorded action has a target point
};
StepScore score_step(const StepAction& predicted, const StepRecord& truth, int width, int height);

struct StepTotals {
  int64_t steps = 0, type_match = 0, grounding_steps = 0, grounded = 0, success = 0, episodes = 0,
          episodes_all_success = 0;
  nlohmann::json to_json() const;
};

struct StepRunOptions {
  std::string out_dir;
  int64_t limit = 0;  // episodes
  nlohmann::json config;
  bool quiet = false;
};

// Runs the policy over the episodes; writes out_dir/config.json,
// steps.jsonl (flushed per step), summary.json. false and *error when the
// policy cannot work or an image cannot be read (named).
bool run_step_eval(const std::vector<Episode>& episodes, policies::Policy& policy, const StepRunOptions& options,
                   StepTotals* totals, std::string* error);

}  // namespace deskpilot::eval
