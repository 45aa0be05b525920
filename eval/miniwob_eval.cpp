#include "eval/miniwob_eval.h"

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "agent/agent_loop.h"
#include "agent/desktop_session.h"
#include "base/clock.h"
#include "base/files.h"
#include "base/text.h"
#include "eval/browser.h"
#include "eval/files.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using json = nlohmann::json;
using base::seconds_since;
using base::url_decode;
using clock_type = base::Clock;

// The word after `marker` on a console line (up to a space or the closing quote).
std::optional<std::string> field_after(const std::string& line, const std::string& marker) {
  const size_t at = line.find(marker);
  if (at == std::string::npos) return std::nullopt;
  const size_t start = at + marker.size();
  const size_t end = line.find_first_of("\" ", start);
  return line.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

// What the page has said on its console so far: Chromium's log, read as it grows.
class PageLog {
 public:
  explicit PageLog(std::string path) : path_(std::move(path)) {}

  void poll() {
    std::ifstream in(path_, std::ios::binary);
    if (!in) return;
    in.seekg(static_cast<std::streamoff>(offset_));
    std::string chunk((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    offset_ += chunk.size();
    pending_ += chunk;
    for (size_t nl; (nl = pending_.find('\n')) != std::string::npos; pending_.erase(0, nl + 1)) take(pending_.substr(0, nl));
  }

  std::optional<std::array<double, 4>> cover;  // x, y, w, h on the screen
  std::optional<std::string> utterance, reason, page_error;
  bool done = false;
  double reward = 0, raw = 0;

 private:
  void take(const std::string& line) {
    if (auto v = field_after(line, "DESKPILOT_COVER ")) {
      std::array<double, 4> box{};
      if (std::sscanf(url_decode(*v).c_str(), "%lf,%lf,%lf,%lf", &box[0], &box[1], &box[2], &box[3]) == 4) cover = box;
    } else if (auto u = field_after(line, "DESKPILOT_UTTERANCE ")) {
      utterance = url_decode(*u);
    } else if (auto r = field_after(line, "DESKPILOT_REASON ")) {
      reason = url_decode(*r);
    } else if (auto e = field_after(line, "DESKPILOT_ERROR ")) {
      page_error = url_decode(*e);
    } else if (!done && parse_reward_line(line, &reward, &raw)) {
      done = true;
    }
  }

  std::string path_, pending_;
  size_t offset_ = 0;
};

std::string log_tail(const std::string& path) {
  std::string text, ignored;
  base::read_file(path, &text, &ignored);
  if (text.size() > 400) text = "..." + text.substr(text.size() - 400);
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ')) text.pop_back();
  return text;
}

// DIR/site: links to everything of ROOT but miniwob/, which is a folder of
// links to ROOT/miniwob's files but the task's page, which is instrumented.
// The page's relative paths (../core/core.js) resolve as in ROOT.
bool make_site(const std::string& root, const MiniwobTask& task, const std::string& site, double episode_time_s,
               int64_t seed, std::string* error) {
  std::error_code ec;
  fs::remove_all(site, ec);
  fs::create_directories(fs::path(site) / "miniwob", ec);
  const fs::path abs_root = fs::absolute(root);
  for (const auto& e : fs::directory_iterator(abs_root, ec)) {
    if (e.path().filename() == "miniwob") continue;
    fs::create_symlink(e.path(), fs::path(site) / e.path().filename(), ec);
    if (ec) break;
  }
  for (const auto& e : fs::directory_iterator(abs_root / "miniwob", ec)) {
    if (e.path().filename() == task.name + ".html") continue;
    fs::create_symlink(e.path(), fs::path(site) / "miniwob" / e.path().filename(), ec);
    if (ec) break;
  }
  if (ec) {
    *error = site + ": cannot link " + root + ": " + ec.message();
    return false;
  }
  std::string html;
  if (!base::read_file(task.page, &html, error)) return false;
  std::ofstream(fs::path(site) / "miniwob" / (task.name + ".html")) << instrument_page(html, episode_time_s, seed);
  return true;
}

std::mutex g_write;  // results.jsonl and progress lines

class Episode {
 public:
  Episode(const MiniwobTask& task, int episode, const MiniwobOptions& o) : task_(task), o_(o) {
    r_.task = task.name;
    r_.episode = episode;
    r_.seed = o.seed + episode;
    dir_ = (fs::path(o.out_dir) / "episodes" / task.name / std::to_string(episode)).string();
  }

  MiniwobOutcome run() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
    fs::create_directories(dir_, ec);
    const std::string site = dir_ + "/site";
    std::string error;
    if (!make_site(o_.root, task_, site, o_.episode_time_s, r_.seed, &error)) return fail(error);
    const bool ok = start_browser() && start_episode() && run_agent_on_page();
    // The browser, the X clients, the display and the scratch folder.
    session_.reset();
    fs::remove_all(site, ec);
    if (!ok) return r_;
    r_.success = r_.done && r_.raw_reward > 0;
    return r_;
  }

 private:
  MiniwobOutcome fail(const std::string& why) {
    if (r_.error.empty()) r_.error = why;
    return r_;
  }
  bool failed(const std::string& why) {
    fail(why);
    return false;
  }

  bool start_browser() {
    std::string error;
    agent::DesktopOptions desktop;
    desktop.width = o_.width;
    desktop.height = o_.height;
    // The browser's profile (6 MB) and temporary files (singleton sockets)
    // in a scratch folder removed after the episode. Not in the results
    // folder: a socket's path must stay under 108 bytes.
    desktop.scratch_prefix = "deskpilot-browser";
    desktop.trajectory_dir = dir_ + "/trajectory";
    session_ = agent::DesktopSession::open(desktop, &error);
    if (!session_) return failed(error);
    log_path_ = dir_ + "/chromium.log";
    const std::string page = fs::absolute(fs::path(dir_) / "site" / "miniwob" / (task_.name + ".html")).string();
    char zoom[32];
    std::snprintf(zoom, sizeof zoom, "%g", o_.zoom);
    const std::string command =
        chromium_command(o_.browser, o_.width, o_.height, base::shell_quote(session_->scratch_dir() + "/profile")) +
        " --disable-translate --kiosk --force-device-scale-factor=" + zoom + " --enable-logging=stderr --v=0 " +
        base::shell_quote("file://" + page);
    if (session_->launch(command, {}, log_path_, &error) <= 0) return failed("cannot start " + o_.browser + ": " + error);
    log_ = std::make_unique<PageLog>(log_path_);
    const bool loaded = base::poll_until({o_.load_timeout_s, 100, o_.stop}, [&] {
      log_->poll();
      return log_->cover || log_->page_error;
    });
    if (log_->page_error) return failed(task_.page + ": " + *log_->page_error);
    if (o_.stop && o_.stop->load()) return failed("stopped by the user (Ctrl-C)");
    if (!loaded)
      return failed(task_.page + ": the page did not show its START cover within " +
                    std::to_string(static_cast<int>(o_.load_timeout_s)) + " s (" + o_.browser +
                    "'s log: " + log_tail(log_path_) + ")");
    return true;
  }

  // The START cover clicked through libxdo; the page then logs its utterance.
  bool start_episode() {
    const auto& box = *log_->cover;
    actions::Action click;
    click.type = actions::ActionType::kClick;
    click.start = actions::Point{box[0] + box[2] / 2, box[1] + box[3] / 2};
    // The cover may be drawn before the window takes input: click until the episode starts.
    for (int attempt = 0; attempt < 5 && !log_->utterance; ++attempt) {
      const actions::ExecutionResult done = session_->executor().execute(click);
      if (!done.ok) return failed("clicking the START cover: " + done.error);
      base::poll_until({2.0, 100, o_.stop}, [&] {
        log_->poll();
        return log_->utterance.has_value();
      });
    }
    if (!log_->utterance) return failed(task_.page + ": clicking the START cover did not start the episode");
    started_ = clock_type::now();
    r_.utterance = *log_->utterance;
    return true;
  }

  bool run_agent_on_page() {
    std::string error;
    std::unique_ptr<policies::Policy> policy = o_.make_policy(&error);
    if (!policy) return failed(error);
    // The page ends the episode (or Ctrl-C): the agent stops before its next step.
    std::atomic<bool> stop{false}, running{true};
    std::thread watch([&] {
      while (running) {
        log_->poll();
        if (log_->done || (o_.stop && o_.stop->load())) stop = true;
        std::this_thread::sleep_for(std::chrono::milliseconds(100));
      }
    });
    agent::AgentOptions ao;
    ao.max_steps = o_.max_steps;
    ao.timeout_s = o_.episode_time_s + 5;
    ao.stop = &stop;
    ao.source = "agent miniwob " + task_.name;
    const agent::AgentResult a =
        agent::run_agent(r_.utterance, *policy, session_->screen(), session_->executor(), session_->trajectory(), ao);
    running = false;
    watch.join();
    // The last action's reward may still be on its way.
    base::poll_until({1.0, 100, o_.stop}, [&] {
      log_->poll();
      return log_->done;
    });
    r_.seconds = seconds_since(started_);
    r_.steps = static_cast<int>(a.steps.size());
    r_.agent_status = std::string(agent::agent_status_name(a.status));
    r_.done = log_->done;
    if (r_.done) {
      r_.reward = log_->reward;
      r_.raw_reward = log_->raw;
      r_.reason = log_->reason.value_or("");
      if (r_.reason == "null" || r_.reason == "undefined") r_.reason.clear();
    } else {
      r_.reason = "the agent stopped before the episode ended (" + r_.agent_status +
                  (a.error.empty() ? "" : ": " + a.error) + ")";
    }
    return true;
  }

  const MiniwobTask& task_;
  const MiniwobOptions& o_;
  MiniwobOutcome r_;
  std::string dir_, log_path_;
  std::unique_ptr<agent::DesktopSession> session_;  // the display, the browser (launched), capture, executor
  std::unique_ptr<PageLog> log_;
  clock_type::time_point started_ = clock_type::now();
};

std::optional<MiniwobOutcome> outcome_from_json(const json& j) {
  try {
    MiniwobOutcome o;
    o.task = j.at("task").get<std::string>();
    o.episode = j.at("episode").get<int>();
    o.seed = j.value("seed", int64_t{0});
    o.utterance = j.value("utterance", "");
    o.done = j.value("done", false);
    o.reward = j.value("reward", 0.0);
    o.raw_reward = j.value("raw_reward", 0.0);
    o.reason = j.value("reason", "");
    o.success = j.at("success").get<bool>();
    o.steps = j.value("steps", 0);
    o.seconds = j.value("seconds", 0.0);
    o.agent_status = j.value("agent_status", "");
    o.error = j.value("error", "");
    return o;
  } catch (const json::exception&) {
    return std::nullopt;
  }
}

std::string episode_key(const std::string& task, int episode) { return task + "#" + std::to_string(episode); }

}  // namespace

json to_json(const MiniwobOutcome& o) {
  return {{"task", o.task},         {"episode", o.episode},     {"seed", o.seed},
          {"utterance", o.utterance}, {"done", o.done},           {"reward", o.reward},
          {"raw_reward", o.raw_reward}, {"reason", o.reason},     {"success", o.success},
          {"steps", o.steps},       {"seconds", o.seconds},     {"agent_status", o.agent_status},
          {"error", o.error}};
}

bool parse_reward_line(const std::string& line, double* reward, double* raw) {
  const size_t at = line.find("reward: ");
  if (at == std::string::npos) return false;
  double r = 0, w = 0;
  char close = 0;
  if (std::sscanf(line.c_str() + at, "reward: %lf (raw: %lf%c", &r, &w, &close) != 3 || close != ')') return false;
  *reward = r;
  *raw = w;
  return true;
}

std::string instrument_page(const std::string& html, double episode_time_s, int64_t seed) {
  char head[160];
  std::snprintf(head, sizeof head, "  var MAX_TIME = %.0f, SEED = %lld;\n", episode_time_s * 1000,
                static_cast<long long>(seed));
  const std::string script =
      "<script>\n"
      "// Added by deskpilot eval miniwob: the episode timer, the seed, and console\n"
      "// lines for the harness (the agent sees none of it).\n"
      "(function () {\n" +
      std::string(head) +
      "  function say(what, text) { console.log('DESKPILOT_' + what + ' ' + encodeURIComponent(text)); }\n"
      "  if (typeof core === 'undefined' || typeof core.startEpisodeReal !== 'function') {\n"
      "    say('ERROR', 'not a MiniWoB++ page: no core.startEpisodeReal (is core/core.js beside it?)');\n"
      "    return;\n"
      "  }\n"
      "  core.EPISODE_MAX_TIME = MAX_TIME;\n"
      "  if (typeof Math.seedrandom === 'function') Math.seedrandom(SEED);\n"
      "  var startReal = core.startEpisodeReal;\n"
      "  core.startEpisodeReal = function () {\n"
      "    startReal.apply(core, arguments);\n"
      "    var q = document.getElementById('query');\n"
      "    say('UTTERANCE', typeof core.getUtterance === 'function' ? core.getUtterance()\n"
      "        : (q ? q.textContent.replace(/\\s+/g, ' ').trim() : ''));\n"
      "  };\n"
      "  var endEpisode = core.endEpisode;\n"
      "  core.endEpisode = function () {\n"
      "    var before = WOB_EPISODE_ID;\n"
      "    endEpisode.apply(core, arguments);\n"
      "    if (WOB_EPISODE_ID !== before) say('REASON', String(WOB_REWARD_REASON));\n"
      "  };\n"
      "  var reported = false;\n"
      "  function report() {\n"
      "    var cover = document.getElementById('sync-task-cover');\n"
      "    if (reported) return;\n"
      "    if (!cover || cover.style.display === 'none') { setTimeout(report, 100); return; }\n"
      "    var r = cover.getBoundingClientRect(), s = window.devicePixelRatio || 1;\n"
      "    var dx = window.screenX + (window.outerWidth - window.innerWidth) / 2;\n"
      "    var dy = window.screenY + (window.outerHeight - window.innerHeight);\n"
      "    reported = true;\n"
      "    say('COVER', [(r.left + dx) * s, (r.top + dy) * s, r.width * s, r.height * s].map(Math.round).join(','));\n"
      "  }\n"
      "  window.addEventListener('load', function () { setTimeout(report, 0); });\n"
      "})();\n"
      "</script>\n";
  // Before the last </body>, whatever its case; at the end when there is none.
  std::string lower = html;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  const size_t body = lower.rfind("</body>");
  if (body == std::string::npos) return html + "\n" + script;
  return html.substr(0, body) + script + html.substr(body);
}

std::optional<std::vector<MiniwobTask>> list_miniwob_tasks(const std::string& root,
                                                           const std::vector<std::string>& names, std::string* error) {
  const fs::path dir = fs::path(root) / "miniwob";
  if (!fs::is_directory(root)) {
    *error = root + ": no such folder";
    return std::nullopt;
  }
  if (!fs::is_directory(dir) || !fs::exists(fs::path(root) / "core")) {
    *error = root + ": expected MiniWoB++'s html folder, with core/ and miniwob/ (the task pages) in it";
    return std::nullopt;
  }
  std::vector<MiniwobTask> all;
  for (const fs::path& p : input_files(dir.string(), {".html"})) all.push_back({p.stem().string(), p.string()});
  if (all.empty()) {
    *error = dir.string() + ": no task pages (.html)";
    return std::nullopt;
  }
  if (names.empty()) return all;
  std::vector<MiniwobTask> chosen;
  for (const std::string& n : names) {
    auto it = std::find_if(all.begin(), all.end(), [&](const MiniwobTask& t) { return t.name == n; });
    if (it == all.end()) {
      *error = "no task '" + n + "' in " + dir.string() + " (" + std::to_string(all.size()) +
               " tasks, e.g. " + all.front().name + ")";
      return std::nullopt;
    }
    chosen.push_back(*it);
  }
  return chosen;
}

json summarize_miniwob(const std::vector<MiniwobOutcome>& outcomes) {
  struct Sum {
    int64_t n = 0, ok = 0, done = 0, steps = 0, errors = 0;
    double reward = 0, seconds = 0;
  };
  std::map<std::string, Sum> per;
  Sum all;
  for (const MiniwobOutcome& o : outcomes) {
    for (Sum* s : {&per[o.task], &all}) {
      ++s->n;
      s->ok += o.success;
      s->done += o.done;
      s->steps += o.steps;
      s->errors += !o.error.empty();
      s->reward += o.reward;
      s->seconds += o.seconds;
    }
  }
  const auto row = [](const Sum& s) {
    const double n = std::max<int64_t>(1, s.n);
    return json{{"episodes", s.n},        {"succeeded", s.ok},           {"success_rate", s.ok / n},
                {"mean_reward", s.reward / n}, {"done", s.done},         {"mean_steps", s.steps / n},
                {"mean_seconds", s.seconds / n}, {"harness_errors", s.errors}};
  };
  json tasks = json::object();
  double mean_rate = 0;
  for (const auto& [name, s] : per) {
    tasks[name] = row(s);
    mean_rate += tasks[name]["success_rate"].get<double>();
  }
  json out = row(all);
  out["tasks"] = per.size();
  out["mean_task_success_rate"] = per.empty() ? 0.0 : mean_rate / per.size();
  out["per_task"] = tasks;
  return out;
}

std::string miniwob_markdown(const std::vector<MiniwobOutcome>& outcomes) {
  const json s = summarize_miniwob(outcomes);
  std::ostringstream md;
  char line[320];
  std::snprintf(line, sizeof line,
                "| MiniWoB++ | |\n| --- | ---: |\n| tasks | %lld |\n| episodes | %lld |\n"
                "| mean task success rate | %.1f%% |\n| episode success rate | %.1f%% (%lld / %lld) |\n"
                "| mean reward | %.3f |\n| mean steps | %.1f |\n| harness errors | %lld |\n",
                static_cast<long long>(s["tasks"].get<int64_t>()), static_cast<long long>(s["episodes"].get<int64_t>()),
                100 * s["mean_task_success_rate"].get<double>(), 100 * s["success_rate"].get<double>(),
                static_cast<long long>(s["succeeded"].get<int64_t>()), static_cast<long long>(s["episodes"].get<int64_t>()),
                s["mean_reward"].get<double>(), s["mean_steps"].get<double>(),
                static_cast<long long>(s["harness_errors"].get<int64_t>()));
  md << line;
  md << "\n| task | episodes | success rate | mean reward | mean steps | mean seconds |\n"
        "| --- | ---: | ---: | ---: | ---: | ---: |\n";
  for (const auto& [name, t] : s["per_task"].items()) {
    std::snprintf(line, sizeof line, "| %s | %lld | %.1f%% | %.3f | %.1f | %.1f |\n", name.c_str(),
                  static_cast<long long>(t["episodes"].get<int64_t>()), 100 * t["success_rate"].get<double>(),
                  t["mean_reward"].get<double>(), t["mean_steps"].get<double>(), t["mean_seconds"].get<double>());
    md << line;
  }
  return md.str();
}

bool run_miniwob(const std::vector<MiniwobTask>& tasks, const MiniwobOptions& options,
                 std::vector<MiniwobOutcome>* outcomes, std::string* error) {
  std::error_code ec;
  const fs::path out(options.out_dir);
  fs::create_directories(out / "episodes", ec);
  if (!fs::is_directory(out / "episodes")) {
    *error = options.out_dir + ": cannot create the results folder";
    return false;
  }
  outcomes->clear();
  std::set<std::string> done;
  if (options.resume && fs::exists(out / "results.jsonl")) {
    const bool ok = read_jsonl((out / "results.jsonl").string(), "an episode result",
                               [&](const json& j) {
                                 auto o = outcome_from_json(j);
                                 if (!o) return false;
                                 done.insert(episode_key(o->task, o->episode));
                                 outcomes->push_back(std::move(*o));
                                 return true;
                               },
                               error);
    if (!ok) return false;
  }
  json config = options.config;
  config["root"] = options.root;
  config["episodes"] = options.episodes;
  config["seed"] = options.seed;
  config["episode_time_s"] = options.episode_time_s;
  config["max_steps"] = options.max_steps;
  config["screen"] = {options.width, options.height};
  config["zoom"] = options.zoom;
  config["browser"] = options.browser;
  config["jobs"] = options.jobs;
  config["tasks"] = json::array();
  for (const MiniwobTask& t : tasks) config["tasks"].push_back(t.name);
  std::ofstream(out / "config.json") << config.dump(2) << "\n";
  std::ofstream results(out / "results.jsonl", options.resume ? std::ios::app : std::ios::trunc);
  if (!results) {
    *error = (out / "results.jsonl").string() + ": cannot write";
    return false;
  }
  std::vector<std::pair<const MiniwobTask*, int>> todo;
  for (const MiniwobTask& t : tasks)
    for (int e = 0; e < options.episodes; ++e)
      if (!done.count(episode_key(t.name, e))) todo.emplace_back(&t, e);
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < todo.size(); i = next++) {
      if (options.stop && options.stop->load()) return;
      MiniwobOutcome o = Episode(*todo[i].first, todo[i].second, options).run();
      // An episode cut short by Ctrl-C is not a result: --resume runs it again.
      if (options.stop && options.stop->load() && !o.done) return;
      std::lock_guard<std::mutex> lock(g_write);
      results << to_json(o).dump(-1, ' ', false, json::error_handler_t::replace) << "\n";
      results.flush();
      if (!options.quiet) {
        if (!o.error.empty())
          std::fprintf(stderr, "error    %s #%d: %s\n", o.task.c_str(), o.episode, o.error.c_str());
        else
          std::fprintf(stderr, "%-8s %s #%d reward %.2f (raw %.2f), %d steps, %.1f s: %s%s%s\n",
                       o.success ? "success" : "failure", o.task.c_str(), o.episode, o.reward, o.raw_reward, o.steps,
                       o.seconds, o.utterance.c_str(), o.reason.empty() ? "" : " | ", o.reason.c_str());
      }
      outcomes->push_back(std::move(o));
    }
  };
  std::vector<std::thread> threads;
  for (int j = 0; j < std::max(1, options.jobs); ++j) threads.emplace_back(worker);
  for (auto& th : threads) th.join();
  std::map<std::string, size_t> order;
  for (size_t i = 0; i < tasks.size(); ++i) order[tasks[i].name] = i;
  std::sort(outcomes->begin(), outcomes->end(), [&](const MiniwobOutcome& a, const MiniwobOutcome& b) {
    return std::make_pair(order[a.task], a.episode) < std::make_pair(order[b.task], b.episode);
  });
  std::ofstream(out / "summary.json") << summarize_miniwob(*outcomes).dump(2) << "\n";
  std::ofstream md(out / "summary.md");
  md << miniwob_markdown(*outcomes);
  if (!md) {
    *error = options.out_dir + "/summary.md: cannot write";
    return false;
  }
  return true;
}

}  // namespace deskpilot::eval
