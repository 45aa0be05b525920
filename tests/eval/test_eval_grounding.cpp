// `deskpilot eval grounding` and `eval compare`:
//  - the published annotation formats (ScreenSpot v1/v2 pixel x, y, w, h; the
//    Hugging Face re-packs' normalised x1, y1, x2, y2; ScreenSpot-Pro's
//    annotations/ with pixel x1, y1, x2, y2 and img_size) and their errors,
//    named by file, record and field;
//  - grading as the official scripts do, and the per-group text/icon table;
//  - the OCR baseline end to end on real screenshots (tests/golden/grounding),
//    the results folder, --resume, the HTML page with the misses drawn;
//  - a tiny UI-TARS model over HTTP (`deskpilot serve`) and in-process: the
//    runner records its answers and tokens (a random model gives no point).
#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <fstream>
#include <nlohmann/json.hpp>

#include "eval/grounding_data.h"
#include "eval/grounding_eval.h"
#include "tests/cli_runner.h"
#include "tests/serve_process.h"
#include "tests/golden_util.h"

namespace deskpilot::eval {
namespace {

namespace fs = std::filesystem;
using deskpilot::testing::run_cli;
using nlohmann::json;

const std::string kTests = DESKPILOT_TEST_DATA_DIR;
const std::string kSet = kTests + "/golden/grounding/screenspot";
const std::string kImages = kTests + "/golden/images";

std::string temp(const std::string& name) {
  const std::string dir = ::testing::TempDir() + "deskpilot_eval_" + std::to_string(getpid()) + "_" + name;
  fs::remove_all(dir);
  fs::create_directories(dir);
  return dir;
}

void write(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path) << text;
}

TEST(GroundingData, ReadsThePublishedFormats) {
  std::string error;
  // ScreenSpot v1/v2: pixel x, y, w, h; the split from the file name.
  const std::string v1 = temp("v1");
  write(v1 + "/screenspot_mobile_v2.json",
        R"([{"img_filename": "a.png", "bbox": [10, 20, 30, 40], "instruction": "open settings",
             "data_type": "icon", "data_source": "android"}])");
  auto set = load_grounding_set(v1, GroundingFormat::kScreenSpotV2, "", &error);
  ASSERT_TRUE(set) << error;
  ASSERT_EQ(set->samples.size(), 1u);
  const GroundingSample& s = set->samples[0];
  EXPECT_EQ(s.image, v1 + "/a.png");
  EXPECT_EQ(std::vector<double>({s.x1, s.y1, s.x2, s.y2}), std::vector<double>({10, 20, 40, 60}));
  EXPECT_EQ(s.split, "mobile");
  EXPECT_EQ(s.group, "mobile");
  EXPECT_EQ(s.ui_type, "icon");
  EXPECT_EQ(s.application, "android");
  EXPECT_FALSE(s.normalized);

  // A Hugging Face re-pack as JSON Lines: file_name, normalised x1, y1, x2, y2; images/ found.
  const std::string hf = temp("hf");
  write(hf + "/images/b.png", "");
  write(hf + "/test.jsonl",
        "{\"file_name\": \"b.png\", \"bbox\": [0.1, 0.2, 0.3, 0.4], \"instruction\": \"search\", "
        "\"data_type\": \"text\", \"data_source\": \"web\", \"split\": \"web\"}\n\n");
  set = load_grounding_set(hf, GroundingFormat::kScreenSpot, "", &error);
  ASSERT_TRUE(set) << error;
  ASSERT_EQ(set->samples.size(), 1u);
  EXPECT_TRUE(set->samples[0].normalized);
  EXPECT_EQ(set->samples[0].image, hf + "/images/b.png");
  EXPECT_DOUBLE_EQ(set->samples[0].x2, 0.3);
  EXPECT_EQ(set->samples[0].group, "web");

  // ScreenSpot-Pro: annotations/, pixel x1, y1, x2, y2, img_size, platform/application/group/ui_type.
  const std::string pro = temp("pro");
  write(pro + "/annotations/vscode_macos.json",
        R"([{"id": "vscode_0", "img_filename": "vscode_macos/x.png", "bbox": [100, 50, 140, 70],
             "img_size": [3840, 2160], "instruction": "run the debugger", "application": "vscode",
             "platform": "macos", "group": "Dev", "ui_type": "icon"}])");
  set = load_grounding_set(pro, GroundingFormat::kScreenSpotPro, "/imgs", &error);
  ASSERT_TRUE(set) << error;
  ASSERT_EQ(set->samples.size(), 1u);
  EXPECT_EQ(set->samples[0].id, "vscode_0");
  EXPECT_EQ(set->samples[0].image, "/imgs/vscode_macos/x.png");
  EXPECT_EQ(std::vector<double>({set->samples[0].x1, set->samples[0].y2}), std::vector<double>({100, 70}));
  EXPECT_EQ(set->samples[0].group, "Dev");
  EXPECT_EQ(set->samples[0].split, "macos");
  EXPECT_EQ(set->samples[0].application, "vscode");
}

TEST(GroundingData, BadAnnotationsAreNamedByFileRecordAndField) {
  std::string error;
  const auto expect_error = [&](const std::string& body, GroundingFormat f, const std::string& want) {
    const std::string dir = temp("bad");
    write(dir + (f == GroundingFormat::kScreenSpotPro ? "/annotations/set.json" : "/set.json"), body);
    error.clear();
    EXPECT_FALSE(load_grounding_set(dir, f, "", &error)) << body;
    EXPECT_NE(error.find(want), std::string::npos) << error;
  };
  expect_error(R"({"a": 1})", GroundingFormat::kScreenSpot, "set.json: expected a JSON list of samples");
  expect_error(R"([{"img_filename": "a.png", "instruction": "x", "data_type": "text"}])", GroundingFormat::kScreenSpot,
               "set.json[0].bbox: expected 4 numbers");
  expect_error(R"([{"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": "x", "data_type": "button"}])",
               GroundingFormat::kScreenSpot, "set.json[0].data_type: expected text or icon, got 'button'");
  expect_error(R"([{"file_name": "a.png", "bbox": [10, 2, 30, 4], "instruction": "x", "data_type": "text"}])",
               GroundingFormat::kScreenSpot, "set.json[0].bbox: a re-packed (file_name) record's box must be normalised");
  expect_error(R"([{"img_filename": "a.png", "bbox": [1, 2, 3, 4], "instruction": "x", "ui_type": "text"}])",
               GroundingFormat::kScreenSpotPro, "set.json[0].img_size: expected 2 numbers");
  expect_error(R"([{"img_filename": "a.png", "bbox": [5, 2, 3, 4], "img_size": [9, 9], "instruction": "x",
                    "ui_type": "text"}])",
               GroundingFormat::kScreenSpotPro, "set.json[0].bbox: the box ends before it starts");
  expect_error("[1, 2", GroundingFormat::kScreenSpot, "set.json: ");
  const std::string empty = temp("empty");
  EXPECT_FALSE(load_grounding_set(empty, GroundingFormat::kScreenSpot, "", &error));
  EXPECT_NE(error.find("no .json or .jsonl annotation files"), std::string::npos) << error;
  EXPECT_FALSE(load_grounding_set(empty + "/nope", GroundingFormat::kScreenSpot, "", &error));
  EXPECT_NE(error.find("nope: not a folder"), std::string::npos) << error;
}

TEST(GroundingEval, GradesAndSummarisesAsTheOfficialScripts) {
  EXPECT_EQ(grade(actions::Point{10, 20}, 10, 20, 30, 40), "correct");  // edges count
  EXPECT_EQ(grade(actions::Point{30, 40}, 10, 20, 30, 40), "correct");
  EXPECT_EQ(grade(actions::Point{30.5, 40}, 10, 20, 30, 40), "wrong");
  EXPECT_EQ(grade(std::nullopt, 10, 20, 30, 40), "wrong_format");
  std::vector<GroundingResult> rs;
  const auto add = [&](const char* group, const char* type, const char* c) {
    GroundingResult r;
    r.id = std::to_string(rs.size());
    r.group = group;
    r.ui_type = type;
    r.correctness = c;
    r.application = "app";
    rs.push_back(r);
  };
  add("mobile", "text", "correct");
  add("mobile", "text", "wrong");
  add("mobile", "icon", "wrong_format");
  add("web", "text", "correct");
  add("web", "icon", "correct");
  const GroundingSummary s = summarize(rs);
  EXPECT_EQ(s.overall.correct, 3);
  EXPECT_EQ(s.overall.total, 5);
  EXPECT_EQ(s.overall.wrong_format, 1);
  EXPECT_DOUBLE_EQ(s.text.value(), 2.0 / 3);
  EXPECT_DOUBLE_EQ(s.icon.value(), 0.5);
  EXPECT_DOUBLE_EQ(s.group_text.at("mobile").value(), 0.5);
  EXPECT_DOUBLE_EQ(s.group_icon.at("web").value(), 1.0);
  const json j = to_json(s);
  EXPECT_DOUBLE_EQ(j["overall"]["accuracy"].get<double>(), 0.6);
  EXPECT_EQ(j["groups"]["mobile"]["icon"]["wrong_format"], 1);
  const std::string md = summary_markdown(s, "t");
  EXPECT_NE(md.find("| mobile | 50.0 | 0.0 | 33.3 | 3 |"), std::string::npos) << md;
  EXPECT_NE(md.find("| **overall** | 66.7 | 50.0 | **60.0** | 5 |"), std::string::npos) << md;
}

// The OCR baseline on two real screenshots: text on buttons and in a list is
// found, an icon is not, words that are not on the screen give no point.
TEST(GroundingEval, OcrBaselineEndToEndWithResultsFolderAndResume) {
  const std::string out = temp("ocr");
  auto r = run_cli("eval grounding --data " + kSet + " --images " + kImages + " --format screenspot --quiet --out " +
                   out + " --json");
  ASSERT_EQ(r.status, 0) << r.out;
  const json summary = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(summary["overall"]["total"], 8);
  EXPECT_EQ(summary["overall"]["correct"], 5);
  EXPECT_EQ(summary["overall"]["wrong_format"], 2);
  EXPECT_EQ(summary["groups"]["web"]["text"]["correct"], 2);
  EXPECT_EQ(summary["icon"]["correct"], 0);
  std::vector<GroundingResult> results;
  std::string error;
  ASSERT_TRUE(read_grounding_results(out, &results, &error)) << error;
  ASSERT_EQ(results.size(), 8u);
  const std::vector<std::string> want = {"correct", "correct", "correct",      "wrong",
                                         "wrong_format", "correct", "correct", "wrong_format"};
  for (size_t i = 0; i < results.size(); ++i) {
    EXPECT_EQ(results[i].correctness, want[i]) << results[i].id << ": " << results[i].instruction << " -> "
                                               << results[i].raw;
    EXPECT_EQ(results[i].width, results[i].image.find("zenity") != std::string::npos ? 1024 : 1600);
  }
  for (const char* f : {"config.json", "summary.json", "summary.md", "report.html"})
    EXPECT_TRUE(fs::exists(out + "/" + f)) << f;
  EXPECT_EQ(deskpilot::testing::read_json(out + "/config.json")["grounder"], "ocr");
  const std::string html = deskpilot::testing::read_text(out + "/report.html");
  EXPECT_NE(html.find("Misses (3)"), std::string::npos);
  EXPECT_NE(html.find("data:image/png;base64,"), std::string::npos);
  EXPECT_NE(html.find("<svg"), std::string::npos);

  // --resume keeps what is there: cut the folder back to 3 samples, run again.
  std::vector<std::string> lines;
  {
    std::ifstream in(out + "/samples.jsonl");
    for (std::string l; std::getline(in, l);) lines.push_back(l);
  }
  {
    std::ofstream cut(out + "/samples.jsonl");
    for (size_t i = 0; i < 3; ++i) cut << lines[i] << "\n";
  }
  r = run_cli("eval grounding --data " + kSet + " --images " + kImages + " --format screenspot --out " + out +
              " --resume");
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_EQ(r.out.find("[1/8]"), std::string::npos) << r.out;  // not run again
  EXPECT_NE(r.out.find("[4/8]"), std::string::npos) << r.out;
  std::vector<GroundingResult> again;
  ASSERT_TRUE(read_grounding_results(out, &again, &error)) << error;
  ASSERT_EQ(again.size(), 8u);
  for (size_t i = 0; i < 8; ++i) EXPECT_EQ(again[i].correctness, results[i].correctness) << i;
}

// The sets made from real screens, 424 samples in all, every box on the
// 1280x800 screen; the OCR baseline finds most text targets and no icon.
// Chromium (scripts/golden/grounding_set.sh): 8 local pages, boxes from the
// pages' layout. Desktop (scripts/golden/grounding_desktop.sh): zenity
// dialogs, mousepad and its menus with boxes from AT-SPI, xterm with boxes
// from its character grid.
void check_real_screens(const std::string& name, size_t min_samples, const std::set<std::string>& some_screens,
                        double min_text_accuracy) {
  std::string error;
  const std::string dir = kTests + "/golden/grounding/" + name;
  auto set = load_grounding_set(dir, GroundingFormat::kScreenSpot, "", &error);
  ASSERT_TRUE(set) << error;
  ASSERT_GE(set->samples.size(), min_samples);
  std::set<std::string> screens;
  for (const GroundingSample& s : set->samples) {
    EXPECT_TRUE(s.x1 >= 0 && s.y1 >= 0 && s.x2 <= 1280 && s.y2 <= 800 && s.x2 > s.x1 && s.y2 > s.y1) << s.id;
    screens.insert(s.application);
  }
  for (const std::string& screen : some_screens) EXPECT_TRUE(screens.count(screen)) << name << ": no " << screen;
  const std::string out = temp(name);
  const auto r = run_cli("eval grounding --data " + dir + " --format screenspot --quiet --json --out " + out);
  ASSERT_EQ(r.status, 0) << r.out;
  const json summary = json::parse(r.out.substr(r.out.find('{')));
  EXPECT_EQ(summary["overall"]["total"], set->samples.size());
  EXPECT_GE(summary["text"]["accuracy"].get<double>(), min_text_accuracy) << summary.dump();
  EXPECT_EQ(summary["icon"]["correct"], 0) << summary.dump();
}

TEST(GroundingEval, RealScreensSetAndTheOcrBaseline) {
  check_real_screens("chromium", 300, {"calendar", "dashboard", "editor", "files", "mail", "settings", "shop", "signup"},
                     0.6);
  check_real_screens("desktop", 120,
                     {"zenity-forms", "zenity-files", "zenity-list", "mousepad", "mousepad-file-menu", "xterm"}, 0.75);
}

TEST(GroundingEval, CompareSetsTwoRunsSideBySide) {
  const std::string a = temp("cmp_a"), b = temp("cmp_b");
  ASSERT_EQ(run_cli("eval grounding --data " + kSet + " --images " + kImages +
                    " --format screenspot --quiet --limit 3 --out " + a).status, 0);
  // B: the same three samples with the first one graded wrong.
  std::ifstream in(a + "/samples.jsonl");
  std::ofstream outb(b + "/samples.jsonl");
  bool first = true;
  for (std::string line; std::getline(in, line); first = false) {
    json j = json::parse(line);
    if (first) j["correctness"] = "wrong";
    outb << j.dump() << "\n";
  }
  outb.close();
  const auto r = run_cli("eval compare " + a + " " + b);
  ASSERT_EQ(r.status, 0) << r.out;
  EXPECT_NE(r.out.find("| **overall** | 100.0 (3) | 66.7 (3) | -33.3 |"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("right only in A: 1, right only in B: 0"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("screenspot_desktop.json#0"), std::string::npos) << r.out;
  const std::string tasks = temp("cmp_tasks");
  std::ofstream(tasks + "/results.jsonl") << R"({"id": "t1", "success": true})" << "\n";
  const auto kinds = run_cli("eval compare " + a + " " + tasks);
  EXPECT_EQ(kinds.status, 1);
  EXPECT_NE(kinds.out.find("cannot compare a grounding run (" + a + ") with a tasks run (" + tasks + ")"),
            std::string::npos) << kinds.out;
  const auto bad = run_cli("eval compare " + a + " /nonexistent");
  EXPECT_EQ(bad.status, 1);
  EXPECT_NE(bad.out.find("/nonexistent: no such folder"), std::string::npos) << bad.out;
}

TEST(GroundingEval, BadCommandLinesAndMissingImagesAreNamed) {
  auto r = run_cli("eval grounding --data " + kSet + " --format screenspot-v3");
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.out.find("--format 'screenspot-v3'"), std::string::npos) << r.out;
  r = run_cli("eval grounding --data /nonexistent --format screenspot");
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("/nonexistent: not a folder"), std::string::npos) << r.out;
  const std::string out = temp("noimg");
  r = run_cli("eval grounding --data " + kSet + " --format screenspot --quiet --out " + out);  // images not in DATA
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.out.find("zenity_list_1024x768.png: cannot read the image of sample screenspot_desktop.json#0"),
            std::string::npos)
      << r.out;
}

// The tiny random Qwen2.5-VL checkpoint with the UI-TARS grounding prompt,
// over HTTP and in-process: the runner records each answer and its tokens;
// a random model writes no point, so each is wrong_format, and both paths
// give the model the same conversation (same answers).
TEST(GroundingEval, TinyModelOverHttpAndInProcess) {
  const std::string model = kTests + "/golden/models/qwen25vl-untied";
  deskpilot::testing::ServeProcess serve(model);
  ASSERT_GT(serve.port(), 0);
  const std::string http = temp("http"), local = temp("local");
  const std::string common = " --data " + kSet + " --images " + kImages + " --format screenspot --quiet --limit 2 --max-tokens 24";
  auto r = run_cli("eval grounding --endpoint " + serve.url() + " --model-name " + serve.name() + " --out " + http +
                   common);
  ASSERT_EQ(r.status, 0) << r.out;
  r = run_cli("eval grounding --model " + model + " --device cpu --out " + local + common);
  ASSERT_EQ(r.status, 0) << r.out;
  std::vector<GroundingResult> a, b;
  std::string error;
  ASSERT_TRUE(read_grounding_results(http, &a, &error)) << error;
  ASSERT_TRUE(read_grounding_results(local, &b, &error)) << error;
  ASSERT_EQ(a.size(), 2u);
  ASSERT_EQ(b.size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_FALSE(a[i].raw.empty());
    EXPECT_GT(a[i].prompt_tokens, 500);  // the screenshot's tokens
    EXPECT_EQ(a[i].raw, b[i].raw);
    EXPECT_EQ(a[i].prompt_tokens, b[i].prompt_tokens);
    EXPECT_EQ(a[i].correctness, a[i].point ? a[i].correctness : std::string("wrong_format"));
  }
  EXPECT_EQ(deskpilot::testing::read_json(http + "/config.json")["prompt_style"], "grounding");
}

}  // namespace
}  // namespace deskpilot::eval
