#include "cli/run.h"

#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <regex>
#include <thread>

#include "actions/formatter.h"
#include "actions/safety.h"
#include "agent/agent_loop.h"
#include "agent/desktop_session.h"
#include "cli/common.h"
#include "agent/policy_factory.h"
#include "agent/report.h"
#include "vision/x11_windows.h"

namespace deskpilot::cli {
namespace {

std::atomic<bool> g_stop{false};
extern "C" void on_run_sigint(int) {
  g_stop.store(true);
  std::signal(SIGINT, SIG_DFL);  // a second Ctrl-C ends the process
}

struct RunCliOptions {
  std::string instruction;
  agent::PolicySpec policy;
  std::string display;
  std::string xvfb;  // WxH: a private display of this size
  std::vector<std::string> launch;
  std::string wait_window;
  int max_steps = 15;
  double timeout_s = 0;
  std::string out_dir = "deskpilot-out/run";
  std::string report;
  bool confirm = false;
  bool unattended = false;
  bool json = false;
  std::string deny_list;
  vision::SettleOptions settle;
  double temperature = 0;
  uint64_t seed = 0;
};

std::string action_list(const std::vector<actions::Action>& as) {
  std::string out;
  for (const auto& a : as) out += (out.empty() ? "" : "; ") + actions::format_action(a);
  return out;
}

bool ask_action(const actions::Action& a) {
  std::cerr << "deskpilot: " << actions::format_action(a) << " ? [y/N] " << std::flush;
  std::string answer;
  return std::getline(std::cin, answer) && (answer == "y" || answer == "Y" || answer == "yes");
}

bool ask_person(const std::string& message) {
  std::cerr << "\ndeskpilot: the agent asks for you: " << message
            << "\n  do it on the screen, then press Enter to let the agent go on (or type stop): " << std::flush;
  std::string answer;
  return std::getline(std::cin, answer) && answer != "stop";
}

int run(RunCliOptions o) {
  std::string error;
  if (!o.display.empty() && !o.xvfb.empty()) {
    std::cerr << "deskpilot: --display and --xvfb exclude each other\n";
    return 2;
  }
  std::optional<std::regex> wait_window;
  if (!o.wait_window.empty()) {
    try {
      wait_window.emplace(o.wait_window);
    } catch (const std::regex_error& e) {
      std::cerr << "deskpilot: --wait-window '" << o.wait_window << "': invalid regular expression: " << e.what() << "\n";
      return 2;
    }
  }
  std::optional<multimodal::Size> xvfb_size;
  if (!o.xvfb.empty() && !(xvfb_size = parse_size(o.xvfb))) {
    std::cerr << "deskpilot: --xvfb '" << o.xvfb << "': expected WIDTHxHEIGHT\n";
    return 2;
  }
  const std::optional<actions::SafetyRules> rules = deny_list_for_command(o.deny_list);
  if (!rules) return 2;
  const actions::SafetyRules& safety = *rules;
  o.policy.uitars.sampling.temperature = o.temperature;
  o.policy.uitars.sampling.seed = o.seed;
  std::unique_ptr<agent::PolicyFactory> factory;
  int exit_code = 0;
  auto policy = policy_for_command(o.policy, &factory, &exit_code);
  if (!policy) return exit_code;

  // The display: a private Xvfb, the one named, or $DISPLAY.
  agent::DesktopOptions desktop;
  desktop.display = o.display;
  if (xvfb_size) {
    desktop.width = static_cast<int>(xvfb_size->width);
    desktop.height = static_cast<int>(xvfb_size->height);
  } else if (desktop.display.empty()) {
    const char* env = std::getenv("DISPLAY");
    if (!env || !*env) {
      std::cerr << "deskpilot: no display: set DISPLAY, or give --display :N or --xvfb WxH\n";
      return 2;
    }
    desktop.display = env;
  }
  const std::string trajectory_dir = o.out_dir + "/trajectory";
  desktop.trajectory_dir = trajectory_dir;
  desktop.safety = safety;
  if (o.confirm) desktop.confirm = ask_action;
  std::error_code ec;
  std::filesystem::create_directories(o.out_dir, ec);
  auto session = agent::DesktopSession::open(desktop, &error);
  if (!session) {
    std::cerr << "deskpilot: " << error << "\n";
    return 1;
  }
  const std::string& display = session->display();
  for (size_t i = 0; i < o.launch.size(); ++i) {
    if (session->launch(o.launch[i], {}, o.out_dir + "/launch_" + std::to_string(i) + ".log", &error) <= 0) {
      std::cerr << "deskpilot: --launch '" << o.launch[i] << "': " << error << "\n";
      return 1;
    }
  }
  if (wait_window) {
    const auto window = session->wait_for_window(*wait_window, 30, false, &error);
    if (!window) {
      std::cerr << "deskpilot: --wait-window: no window titled /" << o.wait_window << "/ within 30 s\n";
      return 1;
    }
    // A private display has no window manager: give the window the focus.
    if (!vision::activate_window(display, window->id, &error))
      std::fprintf(stderr, "deskpilot: cannot activate '%s': %s\n", window->title.c_str(), error.c_str());
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
  }

  agent::AgentOptions ao;
  ao.max_steps = o.max_steps;
  ao.timeout_s = o.timeout_s;
  ao.settle = o.settle;
  ao.stop = &g_stop;
  if (!o.unattended && isatty(STDIN_FILENO)) ao.call_user = ask_person;
  ao.on_step = [](const agent::AgentStep& s) {
    std::fprintf(stderr, "step %d | capture %.0f ms | think %.0f ms | act %.0f ms | settle %.0f ms | %s%s%s\n", s.step,
                 s.latency.capture_ms, s.latency.think_ms, s.latency.act_ms, s.latency.settle_ms,
                 action_list(s.actions).c_str(), s.thought.empty() ? "" : " | ", s.thought.c_str());
    if (!s.error.empty()) std::fprintf(stderr, "       error: %s\n", s.error.c_str());
  };
  std::fprintf(stderr, "deskpilot: %s on %s (%dx%d), at most %d steps\n", factory->describe().c_str(), display.c_str(),
               session->width(), session->height(), o.max_steps);
  std::signal(SIGINT, on_run_sigint);
  const agent::AgentResult r =
      agent::run_agent(o.instruction, *policy, session->screen(), session->executor(), session->trajectory(), ao);
  std::signal(SIGINT, SIG_DFL);
  session->save_final_frame();
  const std::string status(agent::agent_status_name(r.status));
  if (o.json) {
    nlohmann::ordered_json j = {{"status", status}, {"steps", r.steps.size()}, {"seconds", r.seconds},
                                {"error", r.error}, {"content", r.content}, {"trajectory", trajectory_dir},
                                {"policy", factory->describe()}};
    std::cout << j.dump() << "\n";
  } else {
    std::cout << status << " after " << r.steps.size() << " steps (" << static_cast<int>(r.seconds * 1000) << " ms)";
    if (!r.content.empty()) std::cout << ": " << r.content;
    if (!r.error.empty()) std::cout << ": " << r.error;
    std::cout << "\ntrajectory: " << trajectory_dir << "\n";
  }
  if (!o.report.empty()) {
    const std::string detail = r.error.empty() ? r.content : r.error;
    if (!agent::write_report(o.report, "deskpilot run: " + o.instruction,
                      {{o.instruction, r.status == agent::AgentStatus::kFinished ? "passed" : "failed", detail, trajectory_dir}},
                      &error)) {
      std::cerr << "deskpilot: " << error << "\n";
      return 1;
    }
    if (!o.json) std::cout << "report: " << o.report << "\n";
  }
  return agent::agent_exit_code(r.status);
}

}  // namespace

// Options shared with `scenario run` (agent steps) and `eval`.
void add_policy_options(CLI::App* cmd, agent::PolicySpec* p) {
  cmd->add_option("--policy", p->kind, "uitars or ocr (default: uitars with --model/--endpoint, else ocr)");
  cmd->add_option("--model", p->model_dir,
                  "UI-TARS checkpoint, run in-process: a Hugging Face folder, or a GGUF file (or folder of them)");
  cmd->add_option("--mmproj", p->mmproj, "GGUF: the vision tower's mmproj file (default: the one beside --model)");
  cmd->add_option("--quantize", p->quantize, "Quantize the text weights on load: q8_0, q4_k_m, q5_k_m, q6_k, ...");
  cmd->add_option("--device", p->device, "Where --model runs: cpu, cuda or auto (the GPU when there is one)")
      ->capture_default_str();
  cmd->add_option("--endpoint", p->endpoint, "OpenAI-compatible server, e.g. http://127.0.0.1:8000/v1");
  cmd->add_option("--model-name", p->model_name, "The endpoint's model name");
  cmd->add_option("--api-key", p->api_key, "Bearer key for the endpoint (default: $OPENAI_API_KEY)")
      ->envname("OPENAI_API_KEY");
  cmd->add_option("--prompt-style", p->prompt_style, "computer-v1.5, computer-v1, mobile-v1.5, grounding")
      ->capture_default_str();
  cmd->add_option("--language", p->uitars.language, "Language of the model's Thought")->capture_default_str();
  cmd->add_option("--history", p->uitars.history_n, "Screenshots kept in the conversation")
      ->check(CLI::Range(1, 50))->capture_default_str();
  cmd->add_option("--model-type", p->model_type, "Coordinates: qwen25vl, qwen2vl, doubao (default: from the model)");
  cmd->add_option("--max-tokens", p->uitars.max_tokens, "Answer length limit per step")->capture_default_str();
  cmd->add_option("--max-pixels", p->uitars.resize.max_pixels,
                  "Screenshot pixel limit sent to an endpoint (the model's own processor decides in-process)")
      ->capture_default_str();
}

void add_run_command(CLI::App& app, int* exit_code) {
  auto o = std::make_shared<RunCliOptions>();
  CLI::App* cmd = app.add_subcommand("run", "Carry out an instruction on the screen with the agent loop");
  cmd->add_option("instruction", o->instruction, "What to do, in plain words")->required();
  add_policy_options(cmd, &o->policy);
  cmd->add_option("--display", o->display, "X display to act on (default: $DISPLAY)");
  cmd->add_option("--xvfb", o->xvfb, "Act on a private Xvfb display of this size (WxH) instead");
  cmd->add_option("--launch", o->launch, "Start this command on the display first (repeatable); stopped at the end");
  cmd->add_option("--wait-window", o->wait_window, "Before the first step, wait for a window titled like this regex");
  cmd->add_option("--max-steps", o->max_steps, "Step limit")->check(CLI::Range(1, 1000))->capture_default_str();
  cmd->add_option("--timeout", o->timeout_s, "Whole-run limit in seconds (0: none)")->capture_default_str();
  cmd->add_option("--out", o->out_dir, "Folder for the trajectory")->capture_default_str();
  cmd->add_option("--report", o->report, "Write a self-contained HTML report here");
  cmd->add_flag("--confirm", o->confirm, "Ask on the terminal before each action");
  cmd->add_flag("--unattended", o->unattended, "call_user() fails the run instead of asking (default when stdin is no terminal)");
  cmd->add_option("--deny-list", o->deny_list, "JSON safety rules replacing the default deny list");
  cmd->add_option("--temperature", o->temperature, "Sampling temperature (0: greedy)")->capture_default_str();
  cmd->add_option("--seed", o->seed, "Sampling seed");
  cmd->add_option("--settle-timeout-ms", o->settle.timeout_ms, "Wait at most this long for the screen to settle")
      ->check(CLI::Range(0, 600000))->capture_default_str();
  cmd->add_flag("--json", o->json, "Print the outcome as one JSON object");
  cmd->callback([o, exit_code] { *exit_code = run(*o); });
}

}  // namespace deskpilot::cli
