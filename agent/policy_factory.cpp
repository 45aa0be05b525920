#include "agent/policy_factory.h"

#include "engine/quantize.h"

#include "policies/engine_chat_model.h"

namespace deskpilot::agent {

namespace {

std::nullptr_t refuse(PolicyError* error, PolicyProblem problem, std::string message) {
  *error = {problem, std::move(message)};
  return nullptr;
}

}  // namespace

std::unique_ptr<PolicyFactory> PolicyFactory::create(PolicySpec spec, PolicyError* error) {
  using P = PolicyProblem;
  if (spec.kind.empty()) spec.kind = spec.model_dir.empty() && spec.endpoint.empty() ? "ocr" : "uitars";
  if (spec.kind != "ocr" && spec.kind != "uitars")
    return refuse(error, P::kUnknownKind, "policy '" + spec.kind + "': expected uitars or ocr");
  if (spec.kind == "uitars") {
    if (spec.model_dir.empty() == spec.endpoint.empty())
      return refuse(error, P::kNoModel, "the uitars policy needs either a model folder or an endpoint with its model name");
    const auto style = policies::prompt_style_from_name(spec.prompt_style);
    if (!style) {
      return refuse(error, P::kPromptStyle, "prompt style '" + spec.prompt_style +
                                                "': expected computer-v1, computer-v1.5, mobile-v1.5 or grounding");
    }
    spec.uitars.style = *style;
    if (!spec.model_type.empty()) {
      const auto type = actions::model_type_from_name(spec.model_type);
      if (!type) {
        return refuse(error, P::kModelType,
                      "model type '" + spec.model_type + "': expected qwen25vl, qwen2vl, doubao or screen");
      }
      spec.uitars.model_type = *type;
    }
    if (!spec.endpoint.empty()) {
      std::string why;
      if (!policies::parse_endpoint(spec.endpoint, &why)) return refuse(error, P::kEndpoint, why);
      if (spec.model_name.empty())
        return refuse(error, P::kNoModelName, "an endpoint needs the model name the server lists in /v1/models");
    }
  }
  std::unique_ptr<PolicyFactory> f(new PolicyFactory(std::move(spec)));
  if (f->spec_.kind == "uitars" && !f->spec_.model_dir.empty()) {
    engine::Device device;
    std::string why;
    if (!engine::resolve_device(f->spec_.device, &device, &why)) return refuse(error, P::kDevice, why);
    engine::LoadOptions load;
    load.device = device;
    load.mmproj = f->spec_.mmproj;
    std::optional<engine::QuantRecipe> recipe;
    if (!f->spec_.quantize.empty()) {
      recipe = engine::parse_quant_recipe(f->spec_.quantize, &why);
      if (!recipe) return refuse(error, P::kLoad, why);
      load.quantize = &*recipe;
    }
    f->model_ = engine::Model::load(f->spec_.model_dir, load, &why);
    if (!f->model_) return refuse(error, P::kLoad, why);
    if (!f->model_->vision()) {
      return refuse(error, P::kLoad,
                    f->spec_.model_dir + ": the checkpoint has no vision tower; UI-TARS needs one to see the screen");
    }
    // The coordinate convention of the checkpoint when not told: Qwen2-VL
    // (UI-TARS 2B/7B/72B) answers 0..1000, Qwen2.5-VL (UI-TARS-1.5) pixels.
    if (!f->spec_.uitars.model_type) {
      const bool v25 = f->model_->files().model.architecture == engine::Architecture::kQwen25VL;
      f->spec_.uitars.model_type = v25 ? actions::ModelType::kQwen25vl : actions::ModelType::kQwen2vl;
    }
  }
  return f;
}

std::unique_ptr<policies::Policy> PolicyFactory::make(std::string* error) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (spec_.kind == "ocr") return policies::OcrPolicy::create(spec_.ocr, error);
  std::shared_ptr<policies::ChatModel> chat;
  if (model_) {
    chat = std::make_shared<policies::EngineChatModel>(*model_);
  } else {
    policies::HttpChatOptions h;
    h.endpoint = spec_.endpoint;
    h.model_name = spec_.model_name;
    h.api_key = spec_.api_key;
    h.timeout_s = spec_.http_timeout_s;
    auto http = policies::HttpChatModel::create(h, error);
    if (!http) return nullptr;
    chat = std::move(http);
  }
  return std::make_unique<policies::UITarsPolicy>(chat, spec_.uitars);
}

std::string PolicyFactory::describe() const {
  if (spec_.kind == "ocr") return "ocr (Tesseract + OpenCV, no model)";
  return "uitars " + spec_.prompt_style + " over " +
         (model_ ? "the engine (" + spec_.model_dir + ")" : spec_.endpoint + " model " + spec_.model_name);
}

PolicyMaker policy_maker(const PolicySpec& spec, std::string* description, PolicyError* error) {
  std::shared_ptr<PolicyFactory> factory = PolicyFactory::create(spec, error);
  if (!factory) return {};
  if (description) *description = factory->describe();
  return [factory](std::string* e) { return factory->make(e); };
}

}  // namespace deskpilot::agent
