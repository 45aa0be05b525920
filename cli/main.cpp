// deskpilot: the command line. Each subcommand lives in its own file here (cli/README.md).
#include <CLI/CLI.hpp>

#include "cli/capture.h"
#include "cli/eval.h"
#include "cli/generate.h"
#include "cli/parse.h"
#include "cli/quantize.h"
#include "cli/run.h"
#include "cli/serve.h"
#include "cli/scenario.h"
#include "kernels/cpu/gemm.h"

#ifndef DESKPILOT_VERSION
#define DESKPILOT_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"deskpilot: a native runtime for GUI agents in the UI-TARS style"};
  app.set_version_flag("--version", [] {
    return std::string("deskpilot ") + DESKPILOT_VERSION + "\ncpu: " + deskpilot::kernels::cpu_gemm_summary();
  });
  app.require_subcommand(1);
  int exit_code = 0;
  deskpilot::cli::add_parse_commands(app, &exit_code);
  deskpilot::cli::add_capture_command(app, &exit_code);
  deskpilot::cli::add_scenario_command(app, &exit_code);
  deskpilot::cli::add_report_command(app, &exit_code);
  deskpilot::cli::add_generate_command(app, &exit_code);
  deskpilot::cli::add_tokenize_command(app, &exit_code);
  deskpilot::cli::add_run_command(app, &exit_code);
  deskpilot::cli::add_serve_command(app, &exit_code);
  deskpilot::cli::add_eval_command(app, &exit_code);
  deskpilot::cli::add_quantize_command(app, &exit_code);
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    app.exit(e);
    return 2;  // usage errors, like argparse
  }
  return exit_code;
}
