#include "cli/common.h"

#include "base/files.h"
#include "base/json_reader.h"
#include "engine/quantize.h"

#include <charconv>
#include <iostream>
#include <sstream>

namespace deskpilot::cli {

std::optional<multimodal::Size> parse_size(const std::string& text) {
  const size_t x = text.find_first_of("xX");
  if (x == std::string::npos) return std::nullopt;
  multimodal::Size s;
  const char* begin = text.data();
  const char* end = text.data() + text.size();
  auto [p1, e1] = std::from_chars(begin, begin + x, s.width);
  auto [p2, e2] = std::from_chars(begin + x + 1, end, s.height);
  if (e1 != std::errc() || e2 != std::errc() || p1 != begin + x || p2 != end) return std::nullopt;
  if (s.width <= 0 || s.height <= 0 || s.width > 1'000'000 || s.height > 1'000'000) return std::nullopt;
  return s;
}

bool read_input(const std::string& path, std::string* out, std::string* error) {
  if (path == "-") {
    std::ostringstream ss;
    ss << std::cin.rdbuf();
    *out = ss.str();
    return true;
  }
  return base::read_file(path, out, error);
}

std::optional<actions::SafetyRules> deny_list_for_command(const std::string& path) {
  if (path.empty()) return actions::default_safety_rules();
  std::string text, error;
  std::optional<actions::SafetyRules> rules;
  if (read_input(path, &text, &error)) {
    try {
      rules = actions::safety_rules_from_json(base::parse_json(text), &error);
    } catch (const base::JsonError& e) {
      error = e.message;
    }
    if (!rules) error = (path == "-" ? "<stdin>" : path) + ": " + error;
  }
  if (!rules) std::cerr << "deskpilot: --deny-list: " << error << "\n";
  return rules;
}

namespace {

// The engine's reason for refusing a device word, as the flag's error.
std::string device_error(const std::string& word, const std::string& why) { return "--device " + word + ": " + why; }

}  // namespace

std::optional<engine::Device> device_for_command(const std::string& word, std::string* error) {
  engine::Device device;
  if (engine::resolve_device(word, &device, error)) return device;
  *error = device_error(word, *error);
  return std::nullopt;
}

std::string policy_error_for_command(const agent::PolicyError& e, const agent::PolicySpec& spec) {
  using P = agent::PolicyProblem;
  switch (e.problem) {
    case P::kUnknownKind: return "--policy '" + spec.kind + "': expected uitars or ocr";
    case P::kNoModel: return "--policy uitars needs either --model DIR (in-process) or --endpoint URL --model-name NAME";
    case P::kPromptStyle:
      return "--prompt-style '" + spec.prompt_style + "': expected computer-v1, computer-v1.5, mobile-v1.5 or grounding";
    case P::kModelType: return "--model-type '" + spec.model_type + "': expected qwen25vl, qwen2vl, doubao or screen";
    case P::kEndpoint: return e.message;  // "endpoint 'ftp://x': expected http://..."
    case P::kNoModelName: return "--endpoint needs --model-name (the name the server lists in /v1/models)";
    case P::kDevice: return device_error(spec.device, e.message);
    case P::kLoad: return e.message;
  }
  return e.message;
}

agent::PolicyMaker policy_maker_for_command(const agent::PolicySpec& spec, std::string* description,
                                            std::string* error) {
  agent::PolicyError refused;
  agent::PolicyMaker maker = agent::policy_maker(spec, description, &refused);
  if (!maker) *error = policy_error_for_command(refused, spec);
  return maker;
}

std::unique_ptr<policies::Policy> policy_for_command(const agent::PolicySpec& spec,
                                                     std::unique_ptr<agent::PolicyFactory>* factory, int* exit_code) {
  agent::PolicyError refused;
  *factory = agent::PolicyFactory::create(spec, &refused);
  if (!*factory) {
    std::cerr << "deskpilot: " << policy_error_for_command(refused, spec) << "\n";
    *exit_code = 2;
    return nullptr;
  }
  std::string error;
  auto policy = (*factory)->make(&error);
  if (!policy) {
    std::cerr << "deskpilot: " << error << "\n";
    *exit_code = 1;
  }
  return policy;
}

std::unique_ptr<engine::Model> model_for_command(const std::string& dir, const std::string& device_word,
                                                 const std::string& mmproj, const std::string& quantize) {
  std::string error;
  const std::optional<engine::Device> device = device_for_command(device_word, &error);
  std::optional<engine::QuantRecipe> recipe;
  if (!quantize.empty()) {
    recipe = engine::parse_quant_recipe(quantize, &error);
    if (!recipe) error = "--quantize: " + error;
  }
  engine::LoadOptions options;
  options.mmproj = mmproj;
  options.quantize = recipe ? &*recipe : nullptr;
  if (device) options.device = *device;
  std::unique_ptr<engine::Model> model =
      device && (quantize.empty() || recipe) ? engine::Model::load(dir, options, &error) : nullptr;
  if (!model) std::cerr << "deskpilot: " << error << "\n";
  return model;
}

}  // namespace deskpilot::cli
