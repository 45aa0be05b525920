#include "actions/coords.h"

#include <array>
#include <utility>

namespace deskpilot::actions {
namespace {

constexpr std::array<std::pair<std::string_view, ModelType>, 4> kModelTypes = {{
    {"qwen25vl", ModelType::kQwen25vl},
    {"qwen2vl", ModelType::kQwen2vl},
    {"doubao", ModelType::kDoubao},
    {"screen", ModelType::kScreen},
}};

std::string size_text(multimodal::Size s) {
  return std::to_string(s.width) + "x" + std::to_string(s.height);
}

template <typename F>
Action map_points(const Action& a, F&& f) {
  Action out = a;
  if (out.start) out.start = f(*out.start);
  if (out.end) out.end = f(*out.end);
  return out;
}

}  // namespace

std::optional<ModelType> model_type_from_name(std::string_view name) {
  for (const auto& [n, t] : kModelTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

std::optional<CoordinateMapper> CoordinateMapper::create(const CoordinateMapping& m,
                                                         std::string* error) {
  auto fail = [&](std::string why) -> std::optional<CoordinateMapper> {
    if (error) *error = std::move(why);
    return std::nullopt;
  };
  if (m.screen.width <= 0 || m.screen.height <= 0) {
    return fail("screen size must be positive, got " + size_text(m.screen));
  }
  CoordinateMapper out;
  out.mapping_ = m;
  switch (m.model_type) {
    case ModelType::kQwen25vl: {
      auto resized = multimodal::smart_resize(m.screenshot, m.resize);
      if (!resized.size) return fail("screenshot " + size_text(m.screenshot) + ": " + resized.error);
      out.model_w_ = static_cast<double>(resized.size->width);
      out.model_h_ = static_cast<double>(resized.size->height);
      break;
    }
    case ModelType::kQwen2vl:
    case ModelType::kDoubao:
      if (!(m.relative_scale > 0.0)) return fail("relative coordinate scale must be positive");
      out.model_w_ = out.model_h_ = m.relative_scale;
      break;
    case ModelType::kScreen:
      out.model_w_ = static_cast<double>(m.screen.width);
      out.model_h_ = static_cast<double>(m.screen.height);
      break;
  }
  return out;
}

// Division first, then the product, as the reference does: it normalises
// to 0..1 (x / model_w) and later multiplies by the screen size.
Point CoordinateMapper::to_screen(Point p) const {
  if (mapping_.model_type == ModelType::kScreen) return p;
  return {p.x / model_w_ * static_cast<double>(mapping_.screen.width),
          p.y / model_h_ * static_cast<double>(mapping_.screen.height)};
}

Point CoordinateMapper::to_model(Point p) const {
  if (mapping_.model_type == ModelType::kScreen) return p;
  return {p.x / static_cast<double>(mapping_.screen.width) * model_w_,
          p.y / static_cast<double>(mapping_.screen.height) * model_h_};
}

Action CoordinateMapper::to_screen(const Action& a) const {
  return map_points(a, [&](Point p) { return to_screen(p); });
}

void CoordinateMapper::to_screen_in_place(Action* a) const {
  if (a->start) a->start = to_screen(*a->start);
  if (a->end) a->end = to_screen(*a->end);
}

Action CoordinateMapper::to_model(const Action& a) const {
  return map_points(a, [&](Point p) { return to_model(p); });
}

}  // namespace deskpilot::actions
