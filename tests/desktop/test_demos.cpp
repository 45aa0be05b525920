// Every demo scenario (demos/scenarios/*.json) passes on real applications
// (xterm, zenity, Mousepad), two at a time, each on its own Xvfb, through
// the CLI as users run it, with JUnit XML.
#include <gtest/gtest.h>

#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>

#include <nlohmann/json.hpp>

TEST(Demos, AllScenariosPass) {
  namespace fs = std::filesystem;
  const std::string demos = std::string(DESKPILOT_SOURCE_DIR) + "/demos/scenarios";
  std::vector<std::string> files;
  for (const auto& e : fs::directory_iterator(demos)) {
    if (e.path().extension() == ".json") files.push_back(e.path().string());
  }
  ASSERT_GE(files.size(), 5u);
  const std::string out = ::testing::TempDir() + "deskpilot_demos_" + std::to_string(getpid());
  std::string cmd = std::string(DESKPILOT_BIN) + " scenario run -j 2 --out " + out + " --junit " + out + "/junit.xml";
  for (const auto& f : files) cmd += " " + f;
  const int rc = std::system((cmd + " > " + out + ".log 2>&1").c_str());
  std::ifstream log(out + ".log");
  const std::string text((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  EXPECT_EQ(WEXITSTATUS(rc), 0) << text;
  EXPECT_NE(text.find("scenarios: " + std::to_string(files.size()) + " passed, 0 failed"), std::string::npos) << text;
  std::ifstream junit(out + "/junit.xml");
  const std::string xml((std::istreambuf_iterator<char>(junit)), std::istreambuf_iterator<char>());
  EXPECT_NE(xml.find("tests=\"" + std::to_string(files.size()) + "\" failures=\"0\""), std::string::npos) << xml;
  // The agent scenarios were done by the OCR policy from plain words: their
  // trajectories hold its steps, ending in finished().
  int agent_scenarios = 0;
  for (const auto& f : files) {
    if (fs::path(f).filename().string().rfind("agent_", 0) != 0) continue;
    ++agent_scenarios;
    const std::string name = nlohmann::json::parse(std::ifstream(f))["name"];
    std::ifstream in(out + "/" + name + "/trajectory/trajectory.jsonl");
    int ocr_steps = 0;
    bool finished = false;
    for (std::string line; std::getline(in, line);) {
      const auto j = nlohmann::json::parse(line);
      if (j.value("policy", "") != "ocr") continue;
      ++ocr_steps;
      finished = finished || (!j["actions"].empty() && j["actions"][0]["type"] == "finished");
    }
    EXPECT_GE(ocr_steps, 2) << name;
    EXPECT_TRUE(finished) << name;
  }
  EXPECT_GE(agent_scenarios, 3);
  fs::remove_all(out);
  fs::remove(out + ".log");
}
