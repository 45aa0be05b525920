#include "cli/eval.h"

#include <atomic>
#include <csignal>
#include <fstream>
#include <cstdio>
#include <iostream>

#include "cli/common.h"
#include "cli/run.h"
#include "eval/compare.h"
#include "eval/grounding_eval.h"
#include "eval/miniwob_eval.h"
#include "eval/step_eval.h"
#include "eval/task_eval.h"
#include "agent/policy_factory.h"

namespace deskpilot::cli {
namespace {

struct GroundingCli {
  std::string data, format, images, out = "eval-grounding";
  int64_t limit = 0;
  bool resume = false, json = false, quiet = false;
  agent::PolicySpec policy;
};

int run_grounding_eval(GroundingCli o) {
  std::string error;
  const auto format = eval::grounding_format_from_name(o.format);
  if (!format) {
    std::cerr << "deskpilot: --format '" << o.format << "': expected screenspot, screenspot-v2 or screenspot-pro\n";
    return 2;
  }
  auto set = eval::load_grounding_set(o.data, *format, o.images, &error);
  if (!set) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  if (o.policy.kind.empty()) o.policy.kind = o.policy.model_dir.empty() && o.policy.endpoint.empty() ? "ocr" : "uitars";
  std::unique_ptr<eval::Grounder> grounder;
  std::unique_ptr<agent::PolicyFactory> factory;
  if (o.policy.kind == "ocr") {
    grounder = eval::OcrGrounder::create(o.policy.ocr.language, &error);
  } else {
    int exit_code = 0;
    auto policy = policy_for_command(o.policy, &factory, &exit_code);
    if (!policy) return exit_code;
    grounder = std::make_unique<eval::PolicyGrounder>(std::move(policy));
  }
  if (!grounder) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  eval::GroundingRunOptions run;
  run.out_dir = o.out;
  run.limit = o.limit;
  run.resume = o.resume;
  run.config = {{"policy", o.policy.kind},
                {"model", o.policy.model_dir},
                {"endpoint", o.policy.endpoint},
                {"model_name", o.policy.model_name},
                {"prompt_style", o.policy.prompt_style},
                {"limit", o.limit}};
  if (!o.quiet)
    run.on_result = [](const eval::GroundingResult& r, size_t done, size_t total) {
      std::fprintf(stderr, "[%zu/%zu] %-12s %s (%.0f ms)\n", done, total, r.correctness.c_str(), r.id.c_str(), r.ms);
    };
  std::vector<eval::GroundingResult> results;
  if (!eval::run_grounding(*set, *grounder, run, &results, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  const eval::GroundingSummary summary = eval::summarize(results);
  if (o.json) {
    nlohmann::json j = eval::to_json(summary);
    j["out"] = o.out;
    std::cout << j.dump() << "\n";
  } else {
    std::cout << eval::summary_markdown(summary, std::string(eval::grounding_format_name(*format)) + " with " +
                                                     grounder->name())
              << "\nResults in " << o.out << " (summary.md, summary.json, samples.jsonl, report.html)\n";
  }
  return 0;
}

struct StepsCli {
  std::string data, format, images, out = "eval-steps";
  int64_t limit = 0;
  bool json = false, quiet = false;
  agent::PolicySpec policy;
};

int run_steps_eval(StepsCli o) {
  std::string error;
  const auto format = eval::step_format_from_name(o.format);
  if (!format) {
    std::cerr << "deskpilot: --format '" << o.format << "': expected androidcontrol or gui-odyssey\n";
    return 2;
  }
  auto episodes = eval::load_episodes(o.data, *format, o.images, &error);
  if (!episodes) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::unique_ptr<agent::PolicyFactory> factory;
  int exit_code = 0;
  auto policy = policy_for_command(o.policy, &factory, &exit_code);
  if (!policy) return exit_code;
  eval::StepRunOptions run;
  run.out_dir = o.out;
  run.limit = o.limit;
  run.quiet = o.quiet;
  run.config = {{"data", o.data},         {"format", o.format},      {"policy", policy->name()},
                {"endpoint", o.policy.endpoint}, {"model", o.policy.model_dir}, {"prompt_style", o.policy.prompt_style},
                {"episodes", episodes->size()}};
  eval::StepTotals totals;
  if (!eval::run_step_eval(*episodes, *policy, run, &totals, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  const nlohmann::json j = totals.to_json();
  if (o.json) {
    std::cout << j.dump() << "\n";
  } else {
    std::printf("| %s with %s | |\n| --- | ---: |\n", o.format.c_str(), policy->name().c_str());
    // The summary's rate, then the counts behind it, as the tasks summary gives them.
    const auto row = [&j](const char* name, const char* rate, int64_t n, int64_t of) {
      std::printf("| %s | %.1f%% (%lld / %lld) |\n", name, 100 * j[rate].get<double>(), static_cast<long long>(n),
                  static_cast<long long>(of));
    };
    row("action type accuracy", "type_accuracy", totals.type_match, totals.steps);
    row("grounding accuracy (steps with a target)", "grounding_accuracy", totals.grounded, totals.grounding_steps);
    row("step success rate", "step_success_rate", totals.success, totals.steps);
    row("episode success rate", "episode_success_rate", totals.episodes_all_success, totals.episodes);
    std::printf("\nResults in %s\n", o.out.c_str());
  }
  return 0;
}

struct TasksCli {
  std::string path, out = "eval-tasks", shard = "1/1";
  int jobs = 1;
  bool resume = false, json = false, quiet = false;
  agent::PolicySpec policy;
};

std::atomic<bool> g_stop_tasks{false};
void on_sigint_tasks(int) { g_stop_tasks = true; }

int run_tasks_eval(TasksCli o) {
  std::string error;
  eval::TaskRunOptions run;
  if (!eval::parse_shard(o.shard, &run.shard_index, &run.shard_count)) {
    std::cerr << "deskpilot: --shard '" << o.shard << "': expected i/N with 1 <= i <= N\n";
    return 2;
  }
  auto tasks = eval::load_tasks(o.path, &error);
  if (!tasks) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::string policy;
  run.make_policy = policy_maker_for_command(o.policy, &policy, &error);
  if (!run.make_policy) {
    std::cerr << "deskpilot: " << error << "\n";
    return 2;
  }
  run.out_dir = o.out;
  run.jobs = o.jobs;
  run.resume = o.resume;
  run.quiet = o.quiet;
  run.stop = &g_stop_tasks;
  run.config = {{"tasks_path", o.path}, {"policy", policy}};
  std::signal(SIGINT, on_sigint_tasks);
  std::vector<eval::TaskOutcome> outcomes;
  if (!eval::run_tasks(*tasks, run, &outcomes, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  if (o.json) std::cout << eval::summarize_tasks(outcomes).dump() << "\n";
  else std::cout << eval::tasks_markdown(outcomes) << "\nResults in " << o.out << "\n";
  return g_stop_tasks ? 130 : 0;
}

struct MiniwobCli {
  std::string root, out = "eval-miniwob", screen = "1024x768", browser = "chromium";
  std::vector<std::string> tasks;
  int episodes = 1, jobs = 1, max_steps = 10;
  int64_t seed = 0;
  double episode_time = 60, zoom = 1;
  bool resume = false, json = false, quiet = false;
  agent::PolicySpec policy;
};

int run_miniwob_eval(MiniwobCli o) {
  std::string error;
  eval::MiniwobOptions run;
  if (std::sscanf(o.screen.c_str(), "%dx%d", &run.width, &run.height) != 2 || run.width < 320 || run.height < 240) {
    std::cerr << "deskpilot: --screen '" << o.screen << "': expected WIDTHxHEIGHT, at least 320x240\n";
    return 2;
  }
  auto tasks = eval::list_miniwob_tasks(o.root, o.tasks, &error);
  if (!tasks) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  std::string policy;
  run.make_policy = policy_maker_for_command(o.policy, &policy, &error);
  if (!run.make_policy) {
    std::cerr << "deskpilot: " << error << "\n";
    return 2;
  }
  run.root = o.root;
  run.out_dir = o.out;
  run.episodes = o.episodes;
  run.seed = o.seed;
  run.episode_time_s = o.episode_time;
  run.max_steps = o.max_steps;
  run.zoom = o.zoom;
  run.browser = o.browser;
  run.jobs = o.jobs;
  run.resume = o.resume;
  run.quiet = o.quiet;
  run.stop = &g_stop_tasks;
  run.config = {{"policy", policy}};
  std::signal(SIGINT, on_sigint_tasks);
  std::vector<eval::MiniwobOutcome> outcomes;
  if (!eval::run_miniwob(*tasks, run, &outcomes, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  if (o.json) std::cout << eval::summarize_miniwob(outcomes).dump() << "\n";
  else std::cout << eval::miniwob_markdown(outcomes) << "\nResults in " << o.out << "\n";
  return g_stop_tasks ? 130 : 0;
}

}  // namespace

void add_eval_command(CLI::App& app, int* exit_code) {
  CLI::App* eval_cmd = app.add_subcommand("eval", "Evaluate agents on GUI benchmarks");
  eval_cmd->require_subcommand(1);

  auto g = std::make_shared<GroundingCli>();
  g->policy.prompt_style = "grounding";
  CLI::App* grounding = eval_cmd->add_subcommand("grounding", "Grounding accuracy on a ScreenSpot-family set");
  grounding->add_option("--data", g->data, "The dataset folder (annotation .json/.jsonl files)")->required();
  grounding->add_option("--format", g->format, "screenspot, screenspot-v2 or screenspot-pro")->required();
  grounding->add_option("--images", g->images, "Image folder (default: DATA/images, DATA/screenspotv2_image, DATA)");
  grounding->add_option("--out", g->out, "Results folder")->capture_default_str();
  grounding->add_option("--limit", g->limit, "Only the first N samples")->check(CLI::NonNegativeNumber);
  grounding->add_flag("--resume", g->resume, "Keep the samples the results folder already has");
  grounding->add_flag("--json", g->json, "Print the summary as one JSON object");
  grounding->add_flag("--quiet", g->quiet, "No progress lines");
  add_policy_options(grounding, &g->policy);
  grounding->callback([g, exit_code] { *exit_code = run_grounding_eval(*g); });

  auto st = std::make_shared<StepsCli>();
  st->policy.prompt_style = "mobile-v1.5";
  CLI::App* steps = eval_cmd->add_subcommand("steps", "Offline step-level scoring on recorded episodes");
  steps->add_option("--data", st->data, "An episode file or a folder of them")->required();
  steps->add_option("--format", st->format, "androidcontrol or gui-odyssey")->required();
  steps->add_option("--images", st->images, "Screenshot folder (default: the episode file's)");
  steps->add_option("--out", st->out, "Results folder")->capture_default_str();
  steps->add_option("--limit", st->limit, "Only the first N episodes")->check(CLI::NonNegativeNumber);
  steps->add_flag("--json", st->json, "Print the summary as one JSON object");
  steps->add_flag("--quiet", st->quiet, "No progress lines");
  add_policy_options(steps, &st->policy);
  steps->callback([st, exit_code] { *exit_code = run_steps_eval(*st); });

  auto tk = std::make_shared<TasksCli>();
  CLI::App* tasks = eval_cmd->add_subcommand("tasks", "Live task suites (OSWorld-style JSON), each on a fresh display");
  tasks->add_option("tasks", tk->path, "A task file or a folder of them")->required();
  tasks->add_option("--out", tk->out, "Results folder")->capture_default_str();
  tasks->add_option("-j,--jobs", tk->jobs, "Tasks at once")->check(CLI::Range(1, 64))->capture_default_str();
  tasks->add_option("--shard", tk->shard, "Run the i-th of N shards (every N-th task), e.g. 2/8")->capture_default_str();
  tasks->add_flag("--resume", tk->resume, "Keep the tasks the results folder already has");
  tasks->add_flag("--json", tk->json, "Print the summary as one JSON object");
  tasks->add_flag("--quiet", tk->quiet, "No progress lines");
  add_policy_options(tasks, &tk->policy);
  tasks->callback([tk, exit_code] { *exit_code = run_tasks_eval(*tk); });

  auto mw = std::make_shared<MiniwobCli>();
  CLI::App* miniwob = eval_cmd->add_subcommand("miniwob", "MiniWoB++ tasks in Chromium, from screenshots and real input only");
  miniwob->add_option("--root", mw->root, "MiniWoB++'s html folder (core/, common/, miniwob/)")->required();
  miniwob->add_option("--tasks", mw->tasks, "Task names (default: every page of ROOT/miniwob)")->delimiter(',');
  miniwob->add_option("--episodes", mw->episodes, "Episodes per task")->check(CLI::Range(1, 100000))->capture_default_str();
  miniwob->add_option("--seed", mw->seed, "Episode e of each task: Math.seedrandom(SEED + e)")->capture_default_str();
  miniwob->add_option("--episode-time", mw->episode_time, "Seconds before the page times out (core.EPISODE_MAX_TIME)")
      ->check(CLI::Range(1.0, 86400.0))->capture_default_str();
  miniwob->add_option("--max-steps", mw->max_steps, "Agent steps per episode")->check(CLI::Range(1, 1000))->capture_default_str();
  miniwob->add_option("--screen", mw->screen, "Display size WIDTHxHEIGHT")->capture_default_str();
  miniwob->add_option("--zoom", mw->zoom, "Chromium's device scale factor")->check(CLI::Range(0.5, 4.0))->capture_default_str();
  miniwob->add_option("--browser", mw->browser, "The Chromium command")->capture_default_str();
  miniwob->add_option("--out", mw->out, "Results folder")->capture_default_str();
  miniwob->add_option("-j,--jobs", mw->jobs, "Episodes at once")->check(CLI::Range(1, 64))->capture_default_str();
  miniwob->add_flag("--resume", mw->resume, "Keep the episodes the results folder already has");
  miniwob->add_flag("--json", mw->json, "Print the summary as one JSON object");
  miniwob->add_flag("--quiet", mw->quiet, "No progress lines");
  add_policy_options(miniwob, &mw->policy);
  miniwob->callback([mw, exit_code] { *exit_code = run_miniwob_eval(*mw); });

  auto merge = std::make_shared<std::vector<std::string>>();
  CLI::App* merge_cmd = eval_cmd->add_subcommand("merge", "Join the results folders of task shards into OUT");
  merge_cmd->add_option("folders", *merge, "OUT, then the shards' folders")->required()->expected(2, 1000);
  merge_cmd->callback([merge, exit_code] {
    std::string error;
    const std::vector<std::string> dirs(merge->begin() + 1, merge->end());
    if (!eval::merge_task_results(merge->front(), dirs, &error)) {
      std::cerr << "deskpilot: " << error << "\n";
      *exit_code = 1;
      return;
    }
    std::ifstream summary(merge->front() + "/summary.md");
    std::cout << summary.rdbuf() << "\nMerged into " << merge->front() << "\n";
    *exit_code = 0;
  });

  auto pair = std::make_shared<std::vector<std::string>>();
  CLI::App* compare = eval_cmd->add_subcommand("compare", "Two results folders of the same kind side by side");
  compare->add_option("runs", *pair, "Results folders A and B")->required()->expected(2);
  compare->callback([pair, exit_code] {
    std::string md, error;
    if (!eval::compare_runs((*pair)[0], (*pair)[1], &md, &error)) {
      std::cerr << "deskpilot: " << error << "\n";
      *exit_code = 1;
      return;
    }
    std::cout << md;
    *exit_code = 0;
  });
}

}  // namespace deskpilot::cli
