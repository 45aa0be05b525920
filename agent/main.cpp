// deskpilot: the command line. Each subcommand lives in its own cli_*.cpp.
#include <CLI/CLI.hpp>

#include "agent/cli_capture.h"
#include "agent/cli_eval.h"
#include "agent/cli_generate.h"
#include "agent/cli_parse.h"
#include "agent/cli_run.h"
#include "agent/cli_serve.h"
#include "agent/cli_scenario.h"

#ifndef DESKPILOT_VERSION
#define DESKPILOT_VERSION "0.0.0"
#endif

int main(int argc, char** argv) {
  CLI::App app{"deskpilot: a native runtime for GUI agents in the UI-TARS style"};
  app.set_version_flag("--version", std::string("deskpilot ") + DESKPILOT_VERSION);
  app.require_subcommand(1);
  int exit_code = 0;
  deskpilot::agent::add_parse_commands(app, &exit_code);
  deskpilot::agent::add_capture_command(app, &exit_code);
  deskpilot::agent::add_scenario_command(app, &exit_code);
  deskpilot::agent::add_report_command(app, &exit_code);
  deskpilot::agent::add_generate_command(app, &exit_code);
  deskpilot::agent::add_tokenize_command(app, &exit_code);
  deskpilot::agent::add_run_command(app, &exit_code);
  deskpilot::agent::add_serve_command(app, &exit_code);
  deskpilot::agent::add_eval_command(app, &exit_code);
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
