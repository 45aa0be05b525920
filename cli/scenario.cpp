#include "cli/scenario.h"

#include <atomic>
#include <csignal>
#include <fstream>
#include <iostream>
#include <mutex>
#include <thread>

#include "actions/formatter.h"
#include "cli/common.h"
#include "cli/run.h"
#include "scenario/junit.h"
#include "agent/policy_factory.h"
#include "agent/report.h"
#include "scenario/runner.h"

namespace deskpilot::cli {
namespace {

// Ctrl-C: the first one stops every scenario after its current step (the
// trajectory and teardown still happen); a second one ends the process.
std::atomic<bool> g_stop{false};
extern "C" void on_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);
}

struct ScenarioOptions {
  std::vector<std::string> files;
  int jobs = 1;
  std::string display;
  bool confirm = false;
  std::string deny_list;
  vision::SettleOptions settle;
  std::string junit;
  std::string report;
  std::string out_dir = "deskpilot-out";
  agent::PolicySpec policy;  // agent steps
};

void print_result(const scenario::ScenarioResult& r) {
  std::cout << (r.passed ? "PASS " : "FAIL ") << r.name << " (" << r.file << ", " << static_cast<int>(r.seconds * 1000)
            << " ms)\n";
  if (!r.passed) std::cout << "     " << r.error << "\n";
  std::cout << "     trajectory: " << r.out_dir << "/trajectory\n";
}

// Asks on the terminal; anything but y/yes refuses. One question at a time.
bool ask(const actions::Action& a) {
  static std::mutex m;
  std::lock_guard<std::mutex> lock(m);
  std::cerr << "deskpilot: " << actions::format_action(a) << " ? [y/N] " << std::flush;
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "y" || answer == "Y" || answer == "yes";
}

int run_scenarios(const ScenarioOptions& o) {
  scenario::RunOptions ro;
  ro.out_dir = o.out_dir;
  ro.display = o.display;
  ro.settle = o.settle;
  ro.stop = &g_stop;
  if (o.confirm) ro.confirm = ask;
  const std::optional<actions::SafetyRules> rules = deny_list_for_command(o.deny_list);
  if (!rules) return 2;
  ro.safety = *rules;
  if (!o.display.empty() && o.jobs > 1) {
    std::cerr << "deskpilot: --display runs scenarios one at a time on that display: drop -j\n";
    return 2;
  }
  // The agent steps' policy: loaded once, a fresh one per agent step.
  {
    std::string error;
    ro.make_policy = policy_maker_for_command(o.policy, nullptr, &error);
    if (!ro.make_policy) {
      std::cerr << "deskpilot: " << error << "\n";
      return 2;
    }
  }
  std::signal(SIGINT, on_sigint);
  std::vector<scenario::Scenario> scenarios;
  std::vector<std::pair<std::string, std::string>> invalid;
  for (const auto& f : o.files) {
    std::string error;
    auto s = scenario::load_scenario(f, &error);
    if (s) {
      scenarios.push_back(std::move(*s));
    } else {
      std::cerr << "deskpilot: " << error << "\n";
      invalid.emplace_back(f, error);
    }
  }
  // N scenarios at once, each on its own display; results in file order.
  std::vector<scenario::ScenarioResult> results(scenarios.size());
  std::atomic<size_t> next{0};
  std::mutex print;
  auto worker = [&] {
    for (size_t i = next++; i < scenarios.size(); i = next++) {
      results[i] = scenario::run_scenario(scenarios[i], ro);
      std::lock_guard<std::mutex> lock(print);
      print_result(results[i]);
      std::cout.flush();
    }
  };
  std::vector<std::thread> threads;
  for (int t = 0; t < std::max(1, o.jobs); ++t) threads.emplace_back(worker);
  for (auto& t : threads) t.join();

  int passed = 0;
  for (const auto& r : results) passed += r.passed ? 1 : 0;
  const int failed = static_cast<int>(results.size()) - passed + static_cast<int>(invalid.size());
  std::cout << "scenarios: " << passed << " passed, " << failed << " failed\n";
  if (!o.report.empty()) {
    std::vector<agent::ReportSection> sections;
    for (const auto& r : results) {
      sections.push_back({r.name + " (" + r.file + ")", r.passed ? "passed" : "failed", r.error, r.out_dir + "/trajectory"});
    }
    std::string error;
    if (!agent::write_report(o.report, "deskpilot scenarios: " + std::to_string(passed) + " passed, " +
                                    std::to_string(failed) + " failed", sections, &error)) {
      std::cerr << "deskpilot: " << error << "\n";
      return 1;
    }
    std::cout << "report: " << o.report << "\n";
  }
  if (!o.junit.empty()) {
    std::ofstream out(o.junit);
    out << scenario::junit_xml(results, invalid);
    if (!out) {
      std::cerr << "deskpilot: " << o.junit << ": cannot write\n";
      return 1;
    }
  }
  return failed == 0 ? 0 : 1;
}

int report_trajectory(const std::string& dir, const std::string& out, const std::string& title) {
  std::string error;
  if (!agent::write_report(out, title.empty() ? "deskpilot trajectory " + dir : title, {{dir, "", "", dir}}, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::cout << "report: " << out << "\n";
  return 0;
}

}  // namespace

void add_report_command(CLI::App& app, int* exit_code) {
  auto dir = std::make_shared<std::string>();
  auto out = std::make_shared<std::string>("report.html");
  auto title = std::make_shared<std::string>();
  CLI::App* cmd = app.add_subcommand("report", "Build a self-contained HTML report from a trajectory folder");
  cmd->add_option("trajectory", *dir, "Folder with trajectory.jsonl and its screenshots")->required()->check(CLI::ExistingDirectory);
  cmd->add_option("--out", *out, "HTML file to write")->capture_default_str();
  cmd->add_option("--title", *title, "Page title");
  cmd->callback([dir, out, title, exit_code] { *exit_code = report_trajectory(*dir, *out, *title); });
}

void add_scenario_command(CLI::App& app, int* exit_code) {
  CLI::App* scenario = app.add_subcommand("scenario", "Scripted scenarios on private displays");
  scenario->require_subcommand(1);
  auto o = std::make_shared<ScenarioOptions>();
  CLI::App* run = scenario->add_subcommand("run", "Run scenario files, each on a fresh Xvfb display");
  run->add_option("files", o->files, "Scenario JSON files")->required();
  run->add_option("-j,--jobs", o->jobs, "Scenarios at once")->check(CLI::Range(1, 64))->capture_default_str();
  run->add_option("--junit", o->junit, "Write JUnit XML here");
  run->add_option("--report", o->report, "Write a self-contained HTML report here");
  run->add_option("--display", o->display,
                  "Act on this existing display (e.g. :0) instead of a private Xvfb per scenario");
  run->add_flag("--confirm", o->confirm, "Ask on the terminal before each action");
  run->add_option("--settle-timeout-ms", o->settle.timeout_ms,
                  "After each step, wait at most this long for the screen to stop changing")
      ->check(CLI::Range(0, 600000))->capture_default_str();
  run->add_option("--settle-threshold", o->settle.changed_fraction,
                  "Share of changed pixels below which two frames count as the same")
      ->check(CLI::Range(0.0, 1.0))->capture_default_str();
  run->add_option("--deny-list", o->deny_list,
                  "JSON {\"denied_text\": [...], \"denied_hotkeys\": [...]} replacing the default deny list");
  run->add_option("--out", o->out_dir, "Results folder (one sub-folder per scenario)")->capture_default_str();
  add_policy_options(run, &o->policy);
  run->callback([o, exit_code] { *exit_code = run_scenarios(*o); });
}

}  // namespace deskpilot::cli
