// Parse throughput on the golden corpus (tests/golden/uitars_actions.json):
// every case the official parser accepts, parsed and mapped to screen pixels
// as `deskpilot parse` does (smart_resize included, as the reference does it
// on every call). Correctness is checked before any timing.
// Prints one line: "deskpilot_parse cases=N median_us_per_parse=X parses_per_s=Y".
// Run through ./scripts/bench.sh, which times the official Python parser on
// the same corpus in the same run and prints the ratio.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "actions/coords.h"
#include "actions/parser.h"

using namespace deskpilot::actions;

namespace {

struct Case {
  std::string text;
  CoordinateMapping mapping;
};

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2 && argc != 3) {
    std::fprintf(stderr, "usage: bench_parse tests/golden/uitars_actions.json [passes_per_run]\n");
    return 2;
  }
  std::ifstream in(argv[1]);
  if (!in) {
    std::fprintf(stderr, "bench_parse: %s: cannot open\n", argv[1]);
    return 2;
  }
  const auto doc = nlohmann::json::parse(in);
  std::vector<Case> cases;
  for (const auto& c : doc["cases"]) {
    if (c["kind"] != "match") continue;
    CoordinateMapping m;
    m.model_type = *model_type_from_name(c["model_type"].get<std::string>());
    m.screenshot = {c["screenshot"][0], c["screenshot"][1]};
    m.screen = {c["screen"][0], c["screen"][1]};
    std::string error;
    if (!CoordinateMapper::create(m, &error)) {
      std::fprintf(stderr, "bench_parse: %s\n", error.c_str());
      return 1;
    }
    cases.push_back({c["text"], m});
  }
  // Correctness first: every case must parse.
  for (const auto& c : cases) {
    if (!parse_response(c.text).ok()) {
      std::fprintf(stderr, "bench_parse: does not parse: %s\n", c.text.c_str());
      return 1;
    }
  }
  // Median of 15 runs over the whole corpus, after a warm-up. Each parse
  // builds its mapper (smart_resize) as the reference does on every call.
  double sink = 0;
  auto one_pass = [&] {
    for (const auto& c : cases) {
      auto mapper = CoordinateMapper::create(c.mapping, nullptr);
      ParseResult r = parse_response(c.text);
      for (auto& a : r.response.actions) {
        mapper->to_screen_in_place(&a);
        if (a.start) sink += a.start->x;
      }
    }
  };
  const int passes_per_run = argc == 3 ? std::max(1, std::atoi(argv[2])) : 200;
  for (int i = 0; i < 20; ++i) one_pass();
  std::vector<double> us_per_parse;
  for (int run = 0; run < 15; ++run) {
    auto t0 = std::chrono::steady_clock::now();
    for (int i = 0; i < passes_per_run; ++i) one_pass();
    auto t1 = std::chrono::steady_clock::now();
    const double us = std::chrono::duration<double, std::micro>(t1 - t0).count();
    us_per_parse.push_back(us / (passes_per_run * static_cast<double>(cases.size())));
  }
  std::sort(us_per_parse.begin(), us_per_parse.end());
  const double median = us_per_parse[us_per_parse.size() / 2];
  std::printf("deskpilot_parse cases=%zu median_us_per_parse=%.3f parses_per_s=%.0f (checksum %.0f)\n",
              cases.size(), median, 1e6 / median, sink > 0 ? 1.0 : 0.0);
  return 0;
}
