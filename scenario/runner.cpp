#include "scenario/runner.h"

#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <map>
#include <regex>
#include <thread>

#include <opencv2/imgcodecs.hpp>

#include "actions/action_json.h"
#include "actions/formatter.h"
#include "actions/parser.h"
#include "actions/safety.h"
#include "agent/agent_loop.h"
#include "agent/desktop_session.h"
#include "base/clock.h"
#include "base/process.h"
#include "base/files.h"
#include "policies/ocr_policy.h"
#include "vision/ocr.h"
#include "vision/settle.h"
#include "vision/template_match.h"

namespace deskpilot::scenario {
namespace {

using agent::AgentOptions;
using agent::AgentResult;
using agent::AgentStatus;
using base::CommandResult;
using base::Environment;
using base::ms_since;
using base::seconds_since;
using clock_type = base::Clock;

// $NAME and ${NAME} for the variables deskpilot sets (WORK, SCENARIO_DIR,
// DISPLAY, TMPDIR and the scenario's env); anything else is left as written.
std::string expand(const std::string& text, const Environment& env) {
  std::string out;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '$') {
      out.push_back(text[i]);
      continue;
    }
    const bool braced = i + 1 < text.size() && text[i + 1] == '{';
    size_t start = i + (braced ? 2 : 1), end = start;
    while (end < text.size() && (std::isalnum(static_cast<unsigned char>(text[end])) || text[end] == '_')) ++end;
    auto it = env.find(text.substr(start, end - start));
    if (it == env.end() || (braced && (end >= text.size() || text[end] != '}'))) {
      out.push_back('$');
      continue;
    }
    out += it->second;
    i = braced ? end : end - 1;
  }
  return out;
}

// Polls `attempt` every 100 ms until it succeeds or `timeout_s` passes; the
// last failure message is kept.
template <typename F>
bool retry(double timeout_s, std::string* error, F&& attempt) {
  return base::poll_until({timeout_s}, [&] { return attempt(error); });
}

class Runner {
 public:
  Runner(const Scenario& s, const RunOptions& o) : s_(s), o_(o) {}

  ScenarioResult run() {
    const auto start = clock_type::now();
    r_.name = s_.name;
    r_.file = s_.file;
    r_.out_dir = o_.out_dir + "/" + slug(s_.name);
    if (prepare()) {
      bool ok = run_setup();
      ok = ok && run_steps();
      if (ok) run_checks();
    }
    run_teardown();
    r_.passed = r_.error.empty();
    r_.seconds = seconds_since(start);
    return r_;
  }

 private:
  bool fail(const std::string& what) {
    if (r_.error.empty()) r_.error = what;
    return false;
  }

  // Seconds left of the scenario's timeout_s (negative once it ran out).
  double remaining_s() const { return s_.timeout_s - seconds_since(start_); }
  bool timed_out() const { return remaining_s() < 0; }
  // A part's own limit, within what is left of the scenario's.
  double within_scenario(double own_s) const { return std::max(0.0, std::min(own_s, remaining_s())); }
  std::string out_of_time() const {
    return "the scenario's timeout of " + std::to_string(s_.timeout_s) + " s ran out";
  }
  bool stop_requested() const { return o_.stop && o_.stop->load(); }

  bool prepare() {
    start_ = clock_type::now();
    std::error_code ec;
    std::filesystem::remove_all(r_.out_dir, ec);
    work_ = r_.out_dir + "/work";
    std::filesystem::create_directories(work_, ec);
    if (ec) return fail(work_ + ": " + ec.message());
    work_ = std::filesystem::absolute(work_).string();
    std::string error;
    agent::DesktopOptions desktop;
    desktop.display = o_.display;
    desktop.width = s_.screen.width;
    desktop.height = s_.screen.height;
    // Applications' temporary files (Chromium's singleton socket and lock,
    // left behind when it is stopped) in a scratch folder removed at teardown.
    desktop.scratch_prefix = "deskpilot-scenario";
    desktop.trajectory_dir = r_.out_dir + "/trajectory";
    desktop.safety = o_.safety;
    desktop.confirm = o_.confirm;
    session_ = agent::DesktopSession::open(desktop, &error);
    if (!session_) return fail(error);
    env_["TMPDIR"] = session_->scratch_dir();
    env_["DISPLAY"] = session_->display();
    env_["WORK"] = work_;
    env_["SCENARIO_DIR"] = std::filesystem::absolute(s_.directory).string();
    env_[base::kSessionTagVariable] = session_->tag();  // so that teardown finds what they daemonize
    for (const auto& [k, v] : s_.env) env_[k] = expand(v, env_);
    return true;
  }

  // A command of setup (within the scenario's time) or teardown (within
  // it plus kTeardownGrace_s, so that cleaning up still runs after a
  // timeout, for a bounded time).
  bool run_command_step(const SetupStep& step, std::vector<PartResult>* into, double grace_s = 0) {
    PartResult part{step.json_path, "run " + step.command, false, "", 0};
    const double limit_s = std::max(0.0, std::min(step.timeout_s, remaining_s() + grace_s));
    const auto t = clock_type::now();
    if (step.background) {
      std::string error;
      const std::string log = r_.out_dir + "/background_" + std::to_string(background_.size()) + ".log";
      const pid_t pid = session_->launch(step.command, env_, log, &error, work_);
      part.ok = pid > 0;
      part.error = error;
      if (part.ok) background_.push_back({pid, step.command, log});
    } else if (limit_s <= 0) {
      part.error = out_of_time();
    } else {
      CommandResult c = base::run_command(step.command, env_, static_cast<int>(limit_s * 1000), work_);
      part.ok = c.started && !c.timed_out && c.exit_status == 0;
      if (!c.started) part.error = c.error;
      else if (c.timed_out)
        part.error = "did not finish within " + std::to_string(limit_s) + " s" +
                     (limit_s < step.timeout_s ? " (" + out_of_time() + ")" : "");
      else if (c.exit_status != 0) part.error = "exit status " + std::to_string(c.exit_status) + ": " + c.output.substr(0, 500);
    }
    part.seconds = seconds_since(t);
    into->push_back(part);
    return part.ok || fail(step.json_path + ": " + part.description + ": " + part.error);
  }

  bool run_setup() {
    for (const auto& step : s_.setup) {
      if (step.kind == SetupStep::Kind::kRun) {
        if (!run_command_step(step, &r_.setup)) return false;
        continue;
      }
      PartResult part{step.json_path, "", false, "", 0};
      const auto t = clock_type::now();
      if (step.kind == SetupStep::Kind::kWaitText) {
        part.description = "wait for the text '" + step.text + "' on the screen";
        Target t;
        t.text = step.text;
        actions::Point at;
        part.ok = locate(t, within_scenario(step.timeout_s), &at, &part.error);
      } else if (step.kind == SetupStep::Kind::kSleep) {
        part.description = "sleep " + std::to_string(step.seconds) + " s";
        std::this_thread::sleep_for(std::chrono::duration<double>(within_scenario(step.seconds)));
        part.ok = !timed_out();
        if (!part.ok) part.error = out_of_time();
      } else {
        const bool activate = step.kind == SetupStep::Kind::kActivateWindow;
        part.description = std::string(activate ? "activate" : "wait for") + " a window titled /" +
                           step.title_regex + "/";
        part.ok = session_->wait_for_window(std::regex(step.title_regex), within_scenario(step.timeout_s), activate,
                                            &part.error)
                      .has_value();
      }
      part.seconds = seconds_since(t);
      r_.setup.push_back(part);
      if (!part.ok) return fail(step.json_path + ": " + part.description + ": " + part.error + exited_background());
    }
    return true;
  }

  // When a setup step fails, say which background application already died
  // (a missing program exits with 127) and what it printed.
  std::string exited_background() {
    std::string out;
    for (const auto& b : background_) {
      int status = 0;
      if (waitpid(b.pgid, &status, WNOHANG) != b.pgid) continue;
      const int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
      std::string log, ignored;
      base::read_file(b.log, &log, &ignored);
      if (log.size() > 300) log = "..." + log.substr(log.size() - 300);
      while (!log.empty() && (log.back() == '\n' || log.back() == ' ')) log.pop_back();
      out += "; the background command '" + b.command + "' exited with status " + std::to_string(code) +
             (code == 127 ? " (command not found)" : "") + (log.empty() ? "" : ": " + log);
    }
    return out;
  }

  // The OCR engine, opened on first use (most scenarios never read text).
  vision::OcrEngine* ocr(std::string* error) {
    if (!ocr_) ocr_ = vision::OcrEngine::open("eng", error);
    return ocr_.get();
  }

  // Where the target is: a point as given, the centre of the template's best
  // match once it scores above threshold, or the centre of an OCR phrase.
  bool locate(const Target& target, double timeout_s, actions::Point* at, std::string* error) {
    if (target.point) {
      *at = {static_cast<double>(target.point->x), static_cast<double>(target.point->y)};
      return true;
    }
    if (!target.text.empty()) {
      vision::OcrEngine* engine = ocr(error);
      if (!engine) return false;
      return retry(timeout_s, error, [&](std::string* e) {
        cv::Mat frame;
        std::vector<vision::OcrWord> words;
        if (!session_->screen().grab(&frame, e) || !engine->read_words(frame, &words, e)) return false;
        if (auto box = vision::find_phrase(words, target.text)) {
          *at = {box->x + box->width / 2.0, box->y + box->height / 2.0};
          return true;
        }
        *e = "the text '" + target.text + "' is not on the screen (OCR read " + std::to_string(words.size()) +
             " words)";
        return false;
      });
    }
    // Read once per scenario, not on every retry.
    auto cached = templates_.find(target.template_path);
    if (cached == templates_.end()) {
      cached = templates_.emplace(target.template_path, cv::imread(target.template_path, cv::IMREAD_COLOR)).first;
    }
    const cv::Mat& templ = cached->second;
    if (templ.empty()) {
      *error = target.template_path + ": cannot read the template image";
      return false;
    }
    return retry(timeout_s, error, [&](std::string* e) {
      cv::Mat frame;
      if (!session_->screen().grab(&frame, e)) return false;
      auto match = vision::find_template(frame, templ);
      if (match && match->score >= target.threshold) {
        *at = {match->box.x + match->box.width / 2.0, match->box.y + match->box.height / 2.0};
        return true;
      }
      *e = target.template_path + " not found on the screen (best score " +
           std::to_string(match ? match->score : 0.0) + ", need " + std::to_string(target.threshold) + ")";
      return false;
    });
  }

  // An agent step: the policy carries out the instruction on this display;
  // its steps go into the same trajectory.
  bool run_agent_step(const Step& step) {
    PartResult part{step.json_path, "agent: " + step.agent_instruction, false, "", 0};
    const auto t = clock_type::now();
    std::string error;
    std::unique_ptr<policies::Policy> policy =
        o_.make_policy ? o_.make_policy(&error) : policies::OcrPolicy::create(policies::OcrPolicyOptions(), &error);
    if (policy) {
      AgentOptions ao;
      ao.max_steps = step.agent_max_steps;
      ao.timeout_s = std::max(1.0, s_.timeout_s - seconds_since(start_));
      ao.settle = o_.settle;
      ao.stop = o_.stop;
      ao.step_offset = trajectory_steps_;
      ao.source = "agent " + step.json_path;
      const AgentResult r = agent::run_agent(step.agent_instruction, *policy, session_->screen(), session_->executor(),
                                               session_->trajectory(), ao);
      trajectory_steps_ += static_cast<int>(r.steps.size());
      part.agent_steps = static_cast<int>(r.steps.size());
      part.ok = r.status == AgentStatus::kFinished;
      part.description += " (" + policy->name() + ", " + std::to_string(r.steps.size()) + " steps)";
      if (!part.ok) error = std::string(agent_status_name(r.status)) + ": " + r.error;
    }
    part.error = error;
    part.seconds = seconds_since(t);
    r_.steps.push_back(part);
    return part.ok || fail(step.json_path + ": " + part.error);
  }

  bool run_steps() {
    for (size_t i = 0; i < s_.steps.size(); ++i) {
      const Step& step = s_.steps[i];
      if (!step.agent_instruction.empty()) {
        if (!run_agent_step(step)) return false;
        continue;
      }
      PartResult part{step.json_path, step.actions.empty() ? step.pointer_action : step.actions, false, "", 0};
      const auto t = clock_type::now();
      agent::StepRecord record;
      record.time = base::iso8601_now();
      record.source = "scenario";
      record.json_path = step.json_path;
      cv::Mat before;
      const auto tc = clock_type::now();
      std::string error;
      if (!session_->screen().grab(&before, &error)) before.release();
      record.latency.capture_ms = ms_since(tc);
      part.ok = !timed_out() && !stop_requested();
      if (!part.ok) {
        error = stop_requested() ? "stopped by the user (Ctrl-C)" : out_of_time();
      }
      std::vector<actions::Action> actions;
      if (part.ok && !step.actions.empty()) {
        actions = actions::parse_action_calls(step.actions).response.actions;  // validated at load
      } else if (part.ok) {
        actions::Action a;
        a.type = *actions::action_type_from_name(step.pointer_action);
        actions::Point p;
        part.ok = locate(*step.target, within_scenario(step.timeout_s), &p, &error);
        a.start = p;
        actions.push_back(a);
      }
      for (const auto& a : actions) {
        if (!part.ok) break;
        record.actions.push_back(actions::action_to_json(a));
        const auto ta = clock_type::now();
        actions::ExecutionResult res = session_->executor().execute(a);
        record.latency.act_ms += ms_since(ta);
        for (const auto& e : res.events) record.events.push_back(actions::describe_event(e));
        if (!res.ok) {
          part.ok = false;
          error = actions::format_action(a) + ": " + res.error;
        }
        if (part.ok && step.settle) {
          vision::SettleResult sr = vision::wait_for_settle(session_->screen(), o_.settle);
          record.latency.settle_ms += sr.waited_ms;
          record.settle = {{"settled", sr.settled}, {"waited_ms", sr.waited_ms}, {"frames", sr.frames}};
        }
      }
      part.error = error;
      part.seconds = seconds_since(t);
      record.error = part.ok ? "" : (error.empty() ? "failed" : error);
      std::string write_error;
      if (!session_->trajectory()->append(++trajectory_steps_, before, agent::trajectory_line(record), &write_error)) {
        part.ok = false;
        part.error = write_error;
      }
      r_.steps.push_back(part);
      if (!part.ok) return fail(step.json_path + ": " + part.error);
    }
    return true;
  }

  // `deadline`: when this check's time (its own timeout_s, within the
  // scenario's) is up; a command check's command gets what is left of it.
  bool check_once(const Check& c, clock_type::time_point deadline, std::string* error) {
    switch (c.kind) {
      case Check::Kind::kFileExists: {
        const std::string p = expand(c.path, env_);
        if (std::filesystem::exists(p)) return true;
        *error = p + " does not exist";
        return false;
      }
      case Check::Kind::kFileContains:
      case Check::Kind::kFileMatches: {
        const std::string p = expand(c.path, env_);
        std::string text;
        if (!base::read_file(p, &text, error)) return false;
        if (c.kind == Check::Kind::kFileContains ? text.find(c.text) != std::string::npos
                                                 : std::regex_search(text, std::regex(c.regex))) {
          return true;
        }
        *error = p + " has " + std::to_string(text.size()) + " bytes without " +
                 (c.kind == Check::Kind::kFileContains ? "'" + c.text + "'" : "a match for /" + c.regex + "/") +
                 ": '" + text.substr(0, 200) + "'";
        return false;
      }
      case Check::Kind::kCommand: {
        const auto left_ms = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now()).count();
        const int limit_ms = static_cast<int>(std::max<int64_t>(100, left_ms));
        CommandResult r = base::run_command(c.command, env_, limit_ms, work_);
        if (!r.started || r.timed_out) {
          *error = r.started ? "did not finish within " + std::to_string(limit_ms / 1000.0) + " s" : r.error;
          return false;
        }
        if (r.exit_status != c.exit_status) {
          *error = "exit status " + std::to_string(r.exit_status) + ", expected " + std::to_string(c.exit_status);
          return false;
        }
        if (!c.text.empty() && r.output.find(c.text) == std::string::npos) {
          *error = "output does not contain '" + c.text + "': '" + r.output.substr(0, 200) + "'";
          return false;
        }
        if (!c.regex.empty() && !std::regex_search(r.output, std::regex(c.regex))) {
          *error = "output does not match /" + c.regex + "/: '" + r.output.substr(0, 200) + "'";
          return false;
        }
        return true;
      }
      case Check::Kind::kWindowTitle: {
        std::vector<vision::WindowInfo> windows;
        if (!vision::list_windows(session_->display(), &windows, error)) return false;
        const std::regex re(c.regex);
        std::string titles;
        for (const auto& w : windows) {
          if (std::regex_search(w.title, re)) return true;
          titles += (titles.empty() ? "'" : ", '") + w.title + "'";
        }
        *error = "no window title matches; titles: " + (titles.empty() ? "none" : titles);
        return false;
      }
      case Check::Kind::kTemplatePresent:
      case Check::Kind::kTemplateAbsent:
      case Check::Kind::kTextPresent:
      case Check::Kind::kTextAbsent: {
        actions::Point at;
        std::string e;
        const bool found = locate(c.target, 0, &at, &e);
        const bool want = c.kind == Check::Kind::kTemplatePresent || c.kind == Check::Kind::kTextPresent;
        if (found == want) return true;
        *error = want ? e : c.target.describe() + " is on the screen";
        return false;
      }
    }
    return false;
  }

  void run_checks() {
    for (const auto& c : s_.checks) {
      PartResult part{c.json_path, c.describe(), false, "", 0};
      const auto t = clock_type::now();
      if (remaining_s() <= 0) {
        part.error = out_of_time() + " before this check";
      } else {
        // A command needs time to run even when the check is tried once (timeout_s 0).
        const double own_s = c.kind == Check::Kind::kCommand && c.timeout_s <= 0 ? remaining_s() : c.timeout_s;
        const double limit_s = within_scenario(own_s);
        const auto deadline = clock_type::now() + std::chrono::milliseconds(static_cast<int64_t>(limit_s * 1000));
        part.ok = retry(limit_s, &part.error, [&](std::string* e) { return check_once(c, deadline, e); });
      }
      part.seconds = seconds_since(t);
      if (!part.ok) fail(c.json_path + ": " + part.description + ": " + part.error);
      r_.checks.push_back(part);
    }
    if (session_) session_->save_final_frame();
  }

  void run_teardown() {
    for (const auto& step : s_.teardown) {
      if (session_) run_command_step(step, &r_.teardown, kTeardownGrace_s);
    }
    // Stops the background applications, then the display; removes the scratch folder.
    session_.reset();
  }

  static constexpr double kTeardownGrace_s = 5;  // teardown commands may run this far past timeout_s

  const Scenario& s_;
  const RunOptions& o_;
  ScenarioResult r_;
  clock_type::time_point start_;
  std::string work_;
  Environment env_;
  std::unique_ptr<agent::DesktopSession> session_;  // display, apps, capture, executor, trajectory
  int trajectory_steps_ = 0;  // lines written (scenario and agent steps)
  std::unique_ptr<vision::OcrEngine> ocr_;
  std::map<std::string, cv::Mat> templates_;  // template images by path (empty: unreadable)
  struct Background {
    pid_t pgid;
    std::string command;
    std::string log;
  };
  std::vector<Background> background_;
};

}  // namespace

std::string slug(const std::string& name) {
  std::string out;
  for (char c : name) {
    const bool keep = std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '_' || c == '.';
    out.push_back(keep ? c : '_');
  }
  return out.empty() ? "scenario" : out;
}

ScenarioResult run_scenario(const Scenario& scenario, const RunOptions& options) {
  return Runner(scenario, options).run();
}

}  // namespace deskpilot::scenario
