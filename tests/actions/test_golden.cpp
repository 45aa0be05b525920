// Every case of tests/golden/uitars_actions.json, made by
// scripts/golden/uitars_actions.py from the official ui-tars package: action
// types, texts, keys and screen coordinates (within 0.01 px) must match.
#include <gtest/gtest.h>

#include <fstream>
#include <nlohmann/json.hpp>

#include "actions/coords.h"
#include "actions/keys.h"
#include "actions/parser.h"

using namespace deskpilot::actions;
using nlohmann::json;

namespace {

json load_golden() {
  const std::string path = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/uitars_actions.json";
  std::ifstream in(path);
  if (!in) throw std::runtime_error("cannot open " + path);
  return json::parse(in);
}

const json& golden() {
  static const json doc = load_golden();
  return doc;
}

// The reference's action names to ours (it keeps aliases as written).
ActionType expected_type(const std::string& name) {
  auto t = action_type_from_name(name);
  if (!t) throw std::runtime_error("golden has unknown action type " + name);
  return *t;
}

std::string describe(const json& c) { return c["model_type"].get<std::string>() + " | " + c["text"].get<std::string>(); }

}  // namespace

TEST(GoldenActions, FileIsCurrentAndLargeEnough) {
  const json& g = golden();
  EXPECT_EQ(g["format_version"], 1);
  EXPECT_EQ(g["reference"], "ui-tars==0.5.1");
  EXPECT_GE(g["cases"].size(), 150u);
  EXPECT_GE(g["smart_resize"].size(), 1000u);
}

TEST(GoldenActions, EveryCaseMatchesTheReference) {
  int compared_actions = 0;
  for (const json& c : golden()["cases"]) {
    SCOPED_TRACE(describe(c));
    const std::string kind = c["kind"];
    ParseResult parsed = parse_response(c["text"].get<std::string>());
    if (kind == "error") {
      EXPECT_FALSE(parsed.ok()) << "should be refused";
      continue;
    }
    ASSERT_TRUE(parsed.ok()) << parsed.error->message();

    CoordinateMapping mapping;
    mapping.model_type = *model_type_from_name(c["model_type"].get<std::string>());
    mapping.screenshot = {c["screenshot"][0], c["screenshot"][1]};
    mapping.screen = {c["screen"][0], c["screen"][1]};
    std::string error;
    auto mapper = CoordinateMapper::create(mapping, &error);
    ASSERT_TRUE(mapper) << error;

    const auto& r = parsed.response;
    if (!c["thought"].is_null()) {
      ASSERT_TRUE(r.thought.has_value());
      EXPECT_EQ(*r.thought, c["thought"].get<std::string>());
    }
    if (!c["reflection"].is_null()) {
      ASSERT_TRUE(r.reflection.has_value());
      EXPECT_EQ(*r.reflection, c["reflection"].get<std::string>());
    } else {
      EXPECT_FALSE(r.reflection.has_value());
    }

    const json& want = c["actions"];
    ASSERT_EQ(r.actions.size(), want.size());
    for (size_t i = 0; i < want.size(); ++i) {
      const json& w = want[i];
      const Action a = mapper->to_screen(r.actions[i]);
      EXPECT_EQ(a.type, expected_type(w["type"]));
      if (w.contains("x")) {
        ASSERT_TRUE(a.start.has_value());
        EXPECT_NEAR(a.start->x, w["x"].get<double>(), 0.01);
        EXPECT_NEAR(a.start->y, w["y"].get<double>(), 0.01);
      } else {
        EXPECT_FALSE(a.start.has_value());
      }
      if (w.contains("end_x")) {
        ASSERT_TRUE(a.end.has_value());
        EXPECT_NEAR(a.end->x, w["end_x"].get<double>(), 0.01);
        EXPECT_NEAR(a.end->y, w["end_y"].get<double>(), 0.01);
      }
      if (w.contains("keys")) {
        // Compare what would be pressed: the reference's names through our
        // key table must give the same keys, in the same order.
        ASSERT_EQ(a.keys.size(), w["keys"].size());
        for (size_t k = 0; k < a.keys.size(); ++k) {
          auto ref_key = lookup_key(w["keys"][k].get<std::string>());
          ASSERT_TRUE(ref_key.has_value()) << w["keys"][k];
          EXPECT_EQ(a.keys[k], ref_key->name);
        }
      }
      if (w.contains("content")) {
        std::string ours = a.text;
        if (a.submit) ours += "\n";
        EXPECT_EQ(ours, w["content"].get<std::string>());
      }
      if (w.contains("direction")) {
        EXPECT_EQ(scroll_direction_name(a.direction), w["direction"].get<std::string>());
      }
      if (w.contains("app_name")) {
        EXPECT_EQ(a.text, w["app_name"].get<std::string>());
      }
      ++compared_actions;
    }
  }
  EXPECT_GT(compared_actions, 300);
}

TEST(GoldenActions, SmartResizeEqualsTheReference) {
  int errors = 0;
  for (const json& c : golden()["smart_resize"]) {
    deskpilot::multimodal::SmartResizeParams p;
    p.min_pixels = c["min_pixels"];
    p.max_pixels = c["max_pixels"];
    const deskpilot::multimodal::Size size{c["width"], c["height"]};
    auto r = deskpilot::multimodal::smart_resize(size, p);
    SCOPED_TRACE(std::to_string(size.width) + "x" + std::to_string(size.height));
    if (c.contains("error")) {
      EXPECT_FALSE(r.size.has_value());
      ++errors;
      continue;
    }
    ASSERT_TRUE(r.size.has_value()) << r.error;
    EXPECT_EQ(r.size->width, c["resized"][0].get<int64_t>());
    EXPECT_EQ(r.size->height, c["resized"][1].get<int64_t>());
  }
  EXPECT_GT(errors, 0);  // the corpus includes aspect ratios over 200
}
