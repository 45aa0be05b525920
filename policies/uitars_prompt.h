// The prompts UI-TARS was trained with, as published by its authors
// (bytedance/UI-TARS: README_v1.md for UI-TARS 2B/7B/72B, codes/ui_tars/
// prompt.py for UI-TARS-1.5): the action space in the model's own syntax,
// the language of the Thought, the instruction at the end.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace deskpilot::policies {

enum class PromptStyle {
  kComputerV1,   // UI-TARS 2B/7B/72B on a computer: start_box='<|box_start|>(x,y)<|box_end|>', call_user()
  kComputerV15,  // UI-TARS-1.5 on a computer: point='<point>x y</point>', finished(content=...)
  kMobileV15,    // UI-TARS-1.5 on a phone: long_press, open_app, press_home, press_back
  kGrounding,    // one click, no thought (ScreenSpot-style grounding)
};

std::string_view prompt_style_name(PromptStyle style);  // "computer-v1", "computer-v1.5", "mobile-v1.5", "grounding"
std::optional<PromptStyle> prompt_style_from_name(std::string_view name);

// The user prompt that opens the conversation. `language` fills "Use
// {language} in `Thought` part" (English, Chinese, ...).
std::string uitars_prompt(PromptStyle style, const std::string& instruction, const std::string& language = "English");

}  // namespace deskpilot::policies
