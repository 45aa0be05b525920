#include "agent/policy_factory.h"

#include "policies/engine_chat_model.h"

namespace deskpilot::agent {

std::unique_ptr<PolicyFactory> PolicyFactory::create(PolicySpec spec, std::string* error) {
  if (spec.kind.empty()) spec.kind = spec.model_dir.empty() && spec.endpoint.empty() ? "ocr" : "uitars";
  if (spec.kind != "ocr" && spec.kind != "uitars") {
    *error = "--policy '" + spec.kind + "': expected uitars or ocr";
    return nullptr;
  }
  if (spec.kind == "uitars") {
    if (spec.model_dir.empty() == spec.endpoint.empty()) {
      *error = "--policy uitars needs either --model DIR (in-process) or --endpoint URL --model-name NAME";
      return nullptr;
    }
    const auto style = policies::prompt_style_from_name(spec.prompt_style);
    if (!style) {
      *error = "--prompt-style '" + spec.prompt_style + "': expected computer-v1, computer-v1.5, mobile-v1.5 or grounding";
      return nullptr;
    }
    spec.uitars.style = *style;
    if (!spec.model_type.empty()) {
      const auto type = actions::model_type_from_name(spec.model_type);
      if (!type) {
        *error = "--model-type '" + spec.model_type + "': expected qwen25vl, qwen2vl, doubao or screen";
        return nullptr;
      }
      spec.uitars.model_type = *type;
    }
    if (!spec.endpoint.empty()) {
      if (!policies::parse_endpoint(spec.endpoint, error)) return nullptr;
      if (spec.model_name.empty()) {
        *error = "--endpoint needs --model-name (the name the server lists in /v1/models)";
        return nullptr;
      }
    }
  }
  std::unique_ptr<PolicyFactory> f(new PolicyFactory(std::move(spec)));
  if (f->spec_.kind == "uitars" && !f->spec_.model_dir.empty()) {
    engine::Device device;
    if (!engine::resolve_device(f->spec_.device, &device, error)) return nullptr;
    f->model_ = engine::Model::load(f->spec_.model_dir, error, device);
    if (!f->model_) return nullptr;
    if (!f->model_->vision()) {
      *error = f->spec_.model_dir + ": the checkpoint has no vision tower; UI-TARS needs one to see the screen";
      return nullptr;
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

PolicyMaker policy_maker(const PolicySpec& spec, std::string* description, std::string* error) {
  std::shared_ptr<PolicyFactory> factory = PolicyFactory::create(spec, error);
  if (!factory) return {};
  if (description) *description = factory->describe();
  return [factory](std::string* e) { return factory->make(e); };
}

}  // namespace deskpilot::agent
