#include "cli/parse.h"

#include <iostream>
#include <memory>

#include "actions/action_json.h"
#include "actions/coords.h"
#include "actions/executor.h"
#include "actions/formatter.h"
#include "actions/parser.h"
#include "actions/safety.h"
#include "cli/common.h"

namespace deskpilot::cli {
namespace {

// Options shared by parse and plan: how model coordinates map to the screen.
struct MappingOptions {
  std::string model_type = "qwen25vl";
  std::string screen = "1920x1080";
  std::string screenshot;  // defaults to the screen size
  int64_t max_pixels = multimodal::SmartResizeParams{}.max_pixels;
  int64_t min_pixels = multimodal::SmartResizeParams{}.min_pixels;

  void add_to(CLI::App* cmd) {
    cmd->add_option("--model-type", model_type, "Coordinate convention: qwen25vl (UI-TARS-1.5, "
                                                "absolute pixels of the resized image), qwen2vl or "
                                                "doubao (relative 0..1000), screen (pixels)")
        ->check(CLI::IsMember({"qwen25vl", "qwen2vl", "doubao", "screen"}))
        ->capture_default_str();
    cmd->add_option("--screen", screen, "Screen size WxH that receives the input")->capture_default_str();
    cmd->add_option("--screenshot", screenshot,
                    "Size WxH of the screenshot the model saw (default: the screen size)");
    cmd->add_option("--max-pixels", max_pixels, "smart_resize max_pixels (qwen25vl)")->capture_default_str();
    cmd->add_option("--min-pixels", min_pixels, "smart_resize min_pixels (qwen25vl)")->capture_default_str();
  }

  // The mapper, or nullopt with the reason on stderr.
  std::optional<actions::CoordinateMapper> mapper() const {
    actions::CoordinateMapping m;
    m.model_type = *actions::model_type_from_name(model_type);
    auto screen_size = parse_size(screen);
    if (!screen_size) {
      std::cerr << "deskpilot: --screen: expected WxH such as 1920x1080, got '" << screen << "'\n";
      return std::nullopt;
    }
    m.screen = *screen_size;
    m.screenshot = m.screen;
    if (!screenshot.empty()) {
      auto shot = parse_size(screenshot);
      if (!shot) {
        std::cerr << "deskpilot: --screenshot: expected WxH such as 1920x1080, got '" << screenshot << "'\n";
        return std::nullopt;
      }
      m.screenshot = *shot;
    }
    m.resize.max_pixels = max_pixels;
    m.resize.min_pixels = min_pixels;
    std::string error;
    auto mapper = actions::CoordinateMapper::create(m, &error);
    if (!mapper) std::cerr << "deskpilot: " << error << "\n";
    return mapper;
  }
};

// Reads and parses one model output; prints the reason and returns nullopt on failure.
std::optional<actions::ParsedResponse> parse_file(const std::string& path,
                                                  const actions::CoordinateMapper& mapper) {
  std::string text, error;
  if (!read_input(path, &text, &error)) {
    std::cerr << "deskpilot: " << error << "\n";
    return std::nullopt;
  }
  actions::ParseResult parsed = actions::parse_response(text);
  if (!parsed.ok()) {
    std::cerr << "deskpilot: " << (path == "-" ? "<stdin>" : path) << ": cannot parse model output: "
              << parsed.error->message() << "\n";
    return std::nullopt;
  }
  for (auto& a : parsed.response.actions) mapper.to_screen_in_place(&a);
  return std::move(parsed.response);
}

}  // namespace

void add_parse_commands(CLI::App& app, int* exit_code) {
  {
    auto options = std::make_shared<MappingOptions>();
    auto file = std::make_shared<std::string>("-");
    CLI::App* cmd = app.add_subcommand(
        "parse", "Parse one model output into actions and print them as JSON (screen pixels)");
    options->add_to(cmd);
    cmd->add_option("file", *file, "Model output file, or - for standard input")->capture_default_str();
    cmd->callback([options, file, exit_code] {
      auto mapper = options->mapper();
      if (!mapper) {
        *exit_code = 2;
        return;
      }
      auto response = parse_file(*file, *mapper);
      if (!response) {
        *exit_code = 2;
        return;
      }
      std::cout << actions::response_to_json(*response).dump() << "\n";
      *exit_code = 0;
    });
  }
  {
    auto options = std::make_shared<MappingOptions>();
    auto files = std::make_shared<std::vector<std::string>>();
    auto deny_list = std::make_shared<std::string>();
    CLI::App* cmd = app.add_subcommand(
        "plan", "Parse model outputs and print what a dry-run executor would do on the screen, and what the "
                "deny list would refuse (exit 3 when it would refuse something, 2 for errors)");
    options->add_to(cmd);
    cmd->add_option("files", *files, "Model output files (- for standard input)")->required();
    cmd->add_option("--deny-list", *deny_list, "JSON safety rules replacing the default deny list's");
    cmd->callback([options, files, deny_list, exit_code] {
      auto mapper = options->mapper();
      const auto rules = deny_list_for_command(*deny_list);
      if (!mapper || !rules) {
        *exit_code = 2;
        return;
      }
      actions::InputPlanOptions plan_options;
      plan_options.screen = mapper->mapping().screen;
      actions::DryRunExecutor dry_run(std::cout, plan_options);
      // The files in order as one session in one window, as the guard of a
      // real run would see them.
      actions::GuardedExecutor executor(dry_run, *rules);
      int failures = 0, refused = 0;
      for (const auto& path : *files) {
        std::cout << "== " << path << "\n";
        auto response = parse_file(path, *mapper);
        if (!response) {
          ++failures;
          continue;
        }
        if (response->thought) std::cout << "Thought: " << *response->thought << "\n";
        for (const auto& a : response->actions) {
          const actions::ExecutionResult r = executor.execute(a);
          if (r.ok) continue;
          if (r.error.rfind("blocked by the deny list", 0) == 0) {
            std::cout << actions::format_action(a) << "\n  refused: " << r.error << "\n";
            ++refused;
          } else {
            ++failures;
          }
        }
      }
      *exit_code = failures > 0 ? 2 : refused > 0 ? 3 : 0;
    });
  }
}

}  // namespace deskpilot::cli
