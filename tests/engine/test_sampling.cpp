// Sampling rules (transformers' logits-processor semantics) and stop strings.
#include "engine/sampling.h"

#include <gtest/gtest.h>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <map>

#include "engine/generate.h"
#include "engine/model.h"

namespace deskpilot::engine {
namespace {

int32_t draw(const SamplingParams& p, std::vector<float> logits, const std::vector<int32_t>& prompt = {}) {
  Sampler s(p);
  s.set_prompt(prompt);
  return s.sample(logits.data(), static_cast<int64_t>(logits.size()));
}

TEST(Sampler, GreedyTakesArgmaxLowestIdOnTies) {
  SamplingParams p;
  EXPECT_EQ(draw(p, {0.1f, 2.0f, -1.0f, 2.0f}), 1);
  EXPECT_EQ(draw(p, {-5.0f, -4.0f}), 1);
}

TEST(Sampler, RepetitionPenaltyDividesPositiveAndMultipliesNegative) {
  SamplingParams p;
  p.repetition_penalty = 2.0;
  // Token 0 (3.0 -> 1.5) was in the prompt and loses to token 1 (2.0).
  EXPECT_EQ(draw(p, {3.0f, 2.0f, -1.0f}, {0}), 1);
  // Token 2 (-1 -> -2) was in the prompt and loses to token 0 (-1.5).
  EXPECT_EQ(draw(p, {-1.5f, -9.0f, -1.0f}, {2}), 0);
}

TEST(Sampler, FrequencyAndPresencePenaltiesCountTheOutput) {
  SamplingParams p;
  p.frequency_penalty = 1.0;
  Sampler s(p);
  std::vector<float> l = {1.0f, 0.5f};
  EXPECT_EQ(s.sample(l.data(), 2), 0);
  l = {1.0f, 0.5f};
  EXPECT_EQ(s.sample(l.data(), 2), 1);  // token 0 now 1.0 - 1 = 0.0 < 0.5
  SamplingParams q;
  q.presence_penalty = 0.75;
  Sampler t(q);
  l = {1.0f, 0.5f};
  EXPECT_EQ(t.sample(l.data(), 2), 0);
  l = {1.0f, 0.5f};
  EXPECT_EQ(t.sample(l.data(), 2), 1);  // 0.25 < 0.5
}

TEST(Sampler, TopKOneAndTinyTopPAreGreedy) {
  SamplingParams k;
  k.temperature = 5.0;
  k.top_k = 1;
  SamplingParams p;
  p.temperature = 5.0;
  p.top_p = 1e-6;
  for (uint64_t seed = 0; seed < 50; ++seed) {
    k.seed = p.seed = seed;
    EXPECT_EQ(draw(k, {0.0f, 0.3f, 0.2f, -1.0f}), 1);
    EXPECT_EQ(draw(p, {0.0f, 0.3f, 0.2f, -1.0f}), 1);
  }
}

TEST(Sampler, TopPKeepsTheSmallestSetReachingP) {
  // Probabilities 0.5, 0.3, 0.2: top_p 0.7 keeps tokens 0 and 1 only.
  SamplingParams p;
  p.temperature = 1.0;
  p.top_p = 0.7;
  std::map<int32_t, int> seen;
  Sampler s(p);
  for (int i = 0; i < 4000; ++i) {
    std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    ++seen[s.sample(l.data(), 3)];
  }
  EXPECT_EQ(seen.count(2), 0u);
  EXPECT_NEAR(seen[0] / 4000.0, 0.5 / 0.8, 0.03);
}

TEST(Sampler, TemperatureOneFollowsTheSoftmax) {
  SamplingParams p;
  p.temperature = 1.0;
  p.seed = 3;
  Sampler s(p);
  std::map<int32_t, int> seen;
  const int n = 20000;
  for (int i = 0; i < n; ++i) {
    std::vector<float> l = {std::log(0.5f), std::log(0.3f), std::log(0.2f)};
    ++seen[s.sample(l.data(), 3)];
  }
  EXPECT_NEAR(seen[0] / double(n), 0.5, 0.02);
  EXPECT_NEAR(seen[1] / double(n), 0.3, 0.02);
  EXPECT_NEAR(seen[2] / double(n), 0.2, 0.02);
}

TEST(Sampler, SeedDecidesTheSequence) {
  const auto run = [](uint64_t seed) {
    SamplingParams p;
    p.temperature = 1.0;
    p.seed = seed;
    Sampler s(p);
    std::vector<int32_t> out;
    for (int i = 0; i < 64; ++i) {
      std::vector<float> l(16, 0.0f);
      out.push_back(s.sample(l.data(), 16));
    }
    return out;
  };
  EXPECT_EQ(run(1), run(1));
  EXPECT_NE(run(1), run(2));
}

TEST(Generate, StopStringEndsTheTextAndIsNotStreamed) {
  std::string error;
  auto model = Model::load(std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen2vl-tied", &error);
  ASSERT_NE(model, nullptr) << error;
  const auto prompt = model->tokenizer().encode("Hello, world!");
  GenerateOptions options;
  options.max_tokens = 32;
  options.ignore_eos = true;
  GenerateResult full;
  ASSERT_TRUE(generate(*model, prompt, options, nullptr, &full, &error));
  ASSERT_GE(full.text.size(), 12u) << full.text;
  EXPECT_EQ(full.finish_reason, "length");
  EXPECT_EQ(full.generated_ids.size(), 32u);

  const std::string stop = full.text.substr(8, 3);
  options.stop = {stop};
  GenerateResult cut;
  std::string streamed;
  ASSERT_TRUE(generate(*model, prompt, options, [&](std::string_view s) { streamed += s; }, &cut, &error));
  EXPECT_EQ(cut.finish_reason, "stop");
  EXPECT_EQ(cut.text, full.text.substr(0, full.text.find(stop)));
  EXPECT_EQ(streamed, cut.text);
  EXPECT_LT(cut.generated_ids.size(), full.generated_ids.size());
}

TEST(Generate, StopsOnEveryEosIdOfGenerationConfig) {
  // A copy of a golden checkpoint whose generation_config.json names, as the
  // second of two eos ids, the 5th token of the known greedy continuation.
  const std::string src = std::string(DESKPILOT_TEST_DATA_DIR) + "/golden/models/qwen2vl-tied";
  const std::string dir = ::testing::TempDir() + "eos_model_" + std::to_string(::getpid());
  std::filesystem::remove_all(dir);
  std::filesystem::copy(src, dir);
  std::string error;
  auto model = Model::load(dir, &error);
  ASSERT_NE(model, nullptr) << error;
  const auto prompt = model->tokenizer().encode("Hello, world!");
  GenerateOptions options;
  options.max_tokens = 16;
  options.ignore_eos = true;
  GenerateResult free_run;
  ASSERT_TRUE(generate(*model, prompt, options, nullptr, &free_run, &error));
  const int32_t eos = free_run.generated_ids[4];
  const auto first = std::find(free_run.generated_ids.begin(), free_run.generated_ids.end(), eos);
  std::ofstream(dir + "/generation_config.json") << "{\"eos_token_id\": [1, " << eos << "]}";
  model = Model::load(dir, &error);
  ASSERT_NE(model, nullptr) << error;
  options.ignore_eos = false;
  GenerateResult stopped;
  ASSERT_TRUE(generate(*model, prompt, options, nullptr, &stopped, &error));
  EXPECT_EQ(stopped.finish_reason, "stop");
  EXPECT_EQ(stopped.generated_ids,
            std::vector<int32_t>(free_run.generated_ids.begin(), first + 1));  // up to and with the eos id
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace deskpilot::engine
