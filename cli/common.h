// Shared pieces of the deskpilot command line: option parsing helpers and
// reading model output from a file or standard input.
#pragma once

#include <optional>
#include <string>

#include "actions/safety.h"
#include "agent/policy_factory.h"
#include "engine/device.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::cli {

// "1920x1080" -> {1920, 1080}; nullopt for anything else.
std::optional<multimodal::Size> parse_size(const std::string& text);

// Whole file (or standard input for "-"); error names the file.
bool read_input(const std::string& path, std::string* out, std::string* error);

// --deny-list FILE (- for standard input) as safety rules, the defaults for
// ""; nullopt after saying on stderr what is wrong with the file.
std::optional<actions::SafetyRules> deny_list_for_command(const std::string& path);

// --device WORD as the engine's device; nullopt and *error in flag words
// ("--device cuda: no GPU ...").
std::optional<engine::Device> device_for_command(const std::string& word, std::string* error);

// A PolicyFactory's refusal in the words of the command line's flags.
std::string policy_error_for_command(const agent::PolicyError& e, const agent::PolicySpec& spec);

// agent::policy_maker with its refusal in flag words.
agent::PolicyMaker policy_maker_for_command(const agent::PolicySpec& spec, std::string* description, std::string* error);

// The factory (it owns the model) and one policy from it, for a command.
// nullptr on failure, said on stderr, with the exit code for it: 2 when the
// options do not fit together or the checkpoint does not load, 1 when the
// policy could not be made.
std::unique_ptr<policies::Policy> policy_for_command(const agent::PolicySpec& spec,
                                                     std::unique_ptr<agent::PolicyFactory>* factory, int* exit_code);

// --model DIR on --device WORD (with --mmproj FILE and --quantize RECIPE
// where given); nullptr on failure, said on stderr.
std::unique_ptr<engine::Model> model_for_command(const std::string& dir, const std::string& device,
                                                 const std::string& mmproj = "", const std::string& quantize = "");

}  // namespace deskpilot::cli
