// MiniWoB++ in Chromium, driven only by screenshots and real input. Each
// episode gets a fresh private display and browser:
//
//   1. ROOT/miniwob/TASK.html is served from a mirror of ROOT (links to it)
//      whose copy of the page has one script added at the end of its body:
//      core.EPISODE_MAX_TIME raised (MiniWoB's 10 s is too short for a
//      model), Math.seedrandom(SEED + EPISODE) (the same call as MiniWoB's
//      own Python environment), and console lines saying where the START
//      cover is and, once the episode starts, what the utterance is.
//   2. Chromium opens it from file:// full screen on Xvfb, its console on
//      stderr (--enable-logging=stderr).
//   3. deskpilot clicks the START cover (#sync-task-cover) through libxdo;
//      the task draws its problem and starts its timer.
//   4. The agent gets the utterance as its instruction and sees nothing but
//      screenshots; its actions go through libxdo.
//   5. The episode ends when the page says so: core.endEpisode logs
//      "reward: X (raw: Y)" (WOB_REWARD_GLOBAL, WOB_RAW_REWARD_GLOBAL); the
//      agent is stopped then. An agent that stops first leaves the episode
//      undone: reward 0, as MiniWoB's environment counts it.
//
// Success is a raw reward above 0. Results: OUT/config.json,
// OUT/results.jsonl (an episode per line, flushed as each ends; --resume
// keeps them; an episode cut short by Ctrl-C is not written),
// OUT/summary.json and summary.md (per task and the mean of the tasks'
// success rates, MiniWoB's usual figure), and OUT/episodes/TASK/EPISODE/
// (trajectory, chromium.log).
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "policies/policy.h"

namespace deskpilot::eval {

struct MiniwobTask {
  std::string name;  // "click-button"
  std::string page;  // ROOT/miniwob/click-button.html
};

// The tasks of ROOT/miniwob (every .html, name order), or the ones named.
// nullopt and *error naming ROOT or the unknown task.
std::optional<std::vector<MiniwobTask>> list_miniwob_tasks(const std::string& root,
                                                           const std::vector<std::string>& names, std::string* error);

struct MiniwobOptions {
  std::string root;                // MiniWoB++'s html folder (core/, common/, miniwob/)
  std::string out_dir = "eval-miniwob";
  int episodes = 1;                // per task
  int64_t seed = 0;                // episode e of every task: Math.seedrandom(seed + e)
  double episode_time_s = 60;      // core.EPISODE_MAX_TIME
  int max_steps = 10;              // the agent's, per episode
  int width = 1024, height = 768;  // the display
  double zoom = 1.0;               // Chromium's device scale factor
  std::string browser = "chromium";
  int jobs = 1;
  bool resume = false;
  double load_timeout_s = 30;      // the page's first console line
  std::function<std::unique_ptr<policies::Policy>(std::string* error)> make_policy;
  nlohmann::json config;           // written to config.json with the above
  const std::atomic<bool>* stop = nullptr;
  bool quiet = false;
};

struct MiniwobOutcome {
  std::string task;
  int episode = 0;
  int64_t seed = 0;
  std::string utterance;
  bool done = false;          // the page ended the episode
  double reward = 0;          // WOB_REWARD_GLOBAL (time-scaled for some tasks); 0 when not done
  double raw_reward = 0;      // WOB_RAW_REWARD_GLOBAL
  std::string reason;         // WOB_REWARD_REASON, or why the episode did not end
  bool success = false;       // raw_reward > 0
  int steps = 0;              // the agent's
  double seconds = 0;         // from the START click
  std::string agent_status;   // finished, failed, step_limit, stopped
  std::string error;          // the harness's: the page or browser failed
};
nlohmann::json to_json(const MiniwobOutcome& o);

// Runs every episode of every task; writes the folder. false and *error when
// the folder cannot be written; a failed episode is an outcome, not an error.
bool run_miniwob(const std::vector<MiniwobTask>& tasks, const MiniwobOptions& options,
                 std::vector<MiniwobOutcome>* outcomes, std::string* error);

nlohmann::json summarize_miniwob(const std::vector<MiniwobOutcome>& outcomes);
std::string miniwob_markdown(const std::vector<MiniwobOutcome>& outcomes);

// The protocol's pieces, for tests. A console line of Chromium's log ->
// reward and raw reward when it is MiniWoB's "reward: X (raw: Y)".
bool parse_reward_line(const std::string& line, double* reward, double* raw);
// The page with deskpilot's script added before its last </body>.
std::string instrument_page(const std::string& html, double episode_time_s, int64_t seed);

}  // namespace deskpilot::eval
