// Coordinate conventions of UI-TARS models, as pure functions.
//
//   qwen25vl  UI-TARS-1.5 (Qwen2.5-VL): absolute pixels of the smart-resized
//             screenshot (multimodal/smart_resize.h) the model was shown.
//   qwen2vl   UI-TARS 2B/7B/72B (Qwen2-VL): relative, 0..1000 on each axis.
//   doubao    Doubao / Seed UI models: relative, 0..1000, like qwen2vl.
//   screen    deskpilot's own scripts and scenarios: screen pixels as they are.
//
// The screenshot the model saw and the screen that receives input may have
// different sizes (HiDPI scaling, a downscaled capture); both are inputs.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "actions/action.h"
#include "multimodal/smart_resize.h"

namespace deskpilot::actions {

enum class ModelType { kQwen25vl, kQwen2vl, kDoubao, kScreen };

std::optional<ModelType> model_type_from_name(std::string_view name);

struct CoordinateMapping {
  ModelType model_type = ModelType::kQwen25vl;
  multimodal::Size screenshot{1920, 1080};  // the image given to the model, before smart_resize
  multimodal::Size screen{1920, 1080};      // the display that receives input
  multimodal::SmartResizeParams resize;     // qwen25vl: min/max pixels of the processor
  double relative_scale = 1000.0;       // qwen2vl/doubao: the "factor" of the reference parser
};

// A validated mapping between model coordinates and screen pixels. Pure:
// to_screen(to_model(p)) == p up to rounding.
class CoordinateMapper {
 public:
  // Fails (error set, nullopt) for an empty screen or a screenshot that
  // smart_resize refuses (aspect ratio above 200).
  static std::optional<CoordinateMapper> create(const CoordinateMapping& mapping,
                                                std::string* error);

  Point to_screen(Point model) const;
  Point to_model(Point screen) const;
  // Every point of an action mapped (start and end).
  Action to_screen(const Action& model) const;
  void to_screen_in_place(Action* action) const;
  Action to_model(const Action& screen) const;

  const CoordinateMapping& mapping() const { return mapping_; }
  // What the full width/height is in model units: the smart-resized size for
  // qwen25vl, relative_scale for qwen2vl/doubao, the screen for screen.
  double model_width() const { return model_w_; }
  double model_height() const { return model_h_; }

 private:
  CoordinateMapping mapping_;
  double model_w_ = 1.0;
  double model_h_ = 1.0;
};

}  // namespace deskpilot::actions
