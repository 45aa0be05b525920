// Policies from command-line choices, in one place for `deskpilot run` and
// the agent steps of scenarios: the OCR baseline, or UI-TARS over the
// in-process engine (the checkpoint loaded once, shared by every run) or an
// OpenAI-compatible endpoint.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <string>

#include "engine/model.h"
#include "policies/http_chat_model.h"
#include "policies/ocr_policy.h"
#include "policies/policy.h"
#include "policies/uitars_policy.h"

namespace deskpilot::agent {

struct PolicySpec {
  std::string kind;        // "ocr", "uitars"; empty: uitars with a model or endpoint, else ocr
  std::string model_dir;   // in-process engine: a Hugging Face folder or GGUF
  std::string mmproj;      // GGUF: the vision tower's file, when not the one beside the model
  std::string quantize;    // quantize the text weights on load (engine/quantize.h recipes); empty: as stored
  std::string device = "auto";  // where the in-process engine runs: cpu, cuda, auto
  std::string endpoint;    // or an OpenAI-compatible server
  std::string model_name;  // the endpoint's model
  std::string api_key;
  std::string prompt_style = "computer-v1.5";
  std::string model_type;  // coordinates: empty follows the style
  policies::UITarsOptions uitars;
  policies::OcrPolicyOptions ocr;
  double http_timeout_s = 300;
};

// Why PolicyFactory::create refused, and what is wrong in the library's words
// (the command line says it in flag names: cli/common.h).
enum class PolicyProblem {
  kUnknownKind,   // kind is not ocr or uitars
  kNoModel,       // uitars with neither (or both) model_dir and endpoint
  kPromptStyle,   // prompt_style unknown
  kModelType,     // model_type unknown
  kEndpoint,      // endpoint is not an http(s) URL
  kNoModelName,   // endpoint without model_name
  kDevice,        // device unknown or not usable
  kLoad,          // the checkpoint did not load, or has no vision tower
};
struct PolicyError {
  PolicyProblem problem = PolicyProblem::kLoad;
  std::string message;
};

class PolicyFactory {
 public:
  // Validates the choices and loads the checkpoint (once). nullptr and *error.
  static std::unique_ptr<PolicyFactory> create(PolicySpec spec, PolicyError* error);
  // A fresh policy for one run; safe from several threads.
  std::unique_ptr<policies::Policy> make(std::string* error);
  // "ocr", "uitars over engine DIR", "uitars over http://..."
  std::string describe() const;

 private:
  explicit PolicyFactory(PolicySpec spec) : spec_(std::move(spec)) {}
  PolicySpec spec_;
  std::unique_ptr<engine::Model> model_;
  std::mutex mutex_;
};

// For runners that want a fresh policy per task, episode or agent step: a
// function that makes one, sharing the factory (and its model) between all
// of them and every thread. *description as describe() says it. An empty
// function and *error when the choices do not fit together or loading failed.
using PolicyMaker = std::function<std::unique_ptr<policies::Policy>(std::string* error)>;
PolicyMaker policy_maker(const PolicySpec& spec, std::string* description, PolicyError* error);

}  // namespace deskpilot::agent
