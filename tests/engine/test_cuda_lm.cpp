// The decoder on the GPU against transformers' goldens (the same files the
// CPU decoder is held to 1e-4 by), on the three tiny checkpoints: prefill
// logits at every position and 32 decode steps through the device KV cache.
//
// Tolerance, and why: the GPU path rounds every projection's input and the
// F32/F16 weights to BF16 (FP32 accumulation), keeps the KV cache in BF16
// and runs prefill attention on tensor cores (BF16 operands). Emulating
// exactly that on the CPU (tests/engine/gpu_emulation.h, run by
// test_gpu_emulation.cpp on every machine) moves the logits by at most
// 0.038, 0.035 and 0.036 (logits up to 4); the bound is kGpuLogitBound, 0.1.
// Greedy tokens must agree wherever transformers' top-2 margin exceeds twice
// that bound. Skipped without a GPU.
#include <gtest/gtest.h>

#include <algorithm>

#ifdef DESKPILOT_HAVE_CUDA

#include <algorithm>

#include "engine/cuda_lm.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "kernels/cuda/runtime.h"
#include "tests/engine/gpu_emulation.h"
#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

constexpr float kBf16Tolerance = deskpilot::testing::kGpuLogitBound;

class TinyModelCuda : public ::testing::TestWithParam<std::string> {};

// Whether the argmax of `got` is the golden's wherever the golden is decisive.
void expect_same_choice(const float* got, const float* golden, int64_t vocab) {
  std::vector<float> sorted(golden, golden + vocab);
  std::partial_sort(sorted.begin(), sorted.begin() + 2, sorted.end(), std::greater<float>());
  if (vocab < 2 || sorted[0] - sorted[1] <= 2 * kBf16Tolerance) return;
  EXPECT_EQ(std::max_element(got, got + vocab) - got, std::max_element(golden, golden + vocab) - golden);
}

TEST_P(TinyModelCuda, LogitsMatchTransformersWithinBf16Rounding) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/" + GetParam(), &error);
  ASSERT_NE(model, nullptr) << error;
  auto gpu = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_NE(gpu, nullptr) << error;
  const auto g = deskpilot::testing::model_golden(GetParam());
  const int64_t vocab = model->lm().config().vocab_size, hidden = model->lm().config().hidden_size;
  float worst = 0;
  for (const auto& c : g.json["cases"]) {
    const auto ids = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto n = static_cast<int64_t>(ids.size());
    std::vector<float> x(static_cast<size_t>(n * hidden));
    ASSERT_TRUE(model->lm().embed(ids.data(), n, x.data(), &error)) << error;
    auto cache = gpu->new_cache(n + 64, &error);
    ASSERT_NE(cache, nullptr) << error;
    std::vector<float> logits(static_cast<size_t>(n * vocab));
    ASSERT_TRUE(gpu->forward(x.data(), n, text_positions(0, n).data(), cache.get(), logits.data(), true, &error))
        << error;
    for (float v : logits) ASSERT_TRUE(std::isfinite(v));
    const std::vector<float> last = g.tensor(c["last_logits"]);
    worst = std::max(worst, deskpilot::testing::max_abs_diff(logits.data() + (n - 1) * vocab, last.data(), vocab));
    EXPECT_LE(deskpilot::testing::max_abs_diff(logits.data() + (n - 1) * vocab, last.data(), vocab), kBf16Tolerance);
    expect_same_choice(logits.data() + (n - 1) * vocab, last.data(), vocab);
    if (!c.contains("step_logits")) continue;
    // Decode through the device cache, feeding the golden continuation.
    const std::vector<float> steps = g.tensor(c["step_logits"]);
    const auto generated = c["generated_ids"].get<std::vector<int32_t>>();
    std::vector<float> step(static_cast<size_t>(vocab));
    for (size_t s = 1; s < generated.size(); ++s) {
      ASSERT_TRUE(model->lm().embed(&generated[s - 1], 1, x.data(), &error));
      ASSERT_TRUE(gpu->forward(x.data(), 1, text_positions(cache->length(), 1).data(), cache.get(), step.data(), false,
                               &error))
          << error;
      worst = std::max(worst, deskpilot::testing::max_abs_diff(step.data(), steps.data() + s * vocab, vocab));
      EXPECT_LE(deskpilot::testing::max_abs_diff(step.data(), steps.data() + s * vocab, vocab), kBf16Tolerance) << s;
      expect_same_choice(step.data(), steps.data() + s * vocab, vocab);
    }
  }
  std::printf("%s on %s: max |logit - transformers| = %.3g (bound %.2g)\n", GetParam().c_str(),
              kernels::cuda::device_description(0).c_str(), worst, kBf16Tolerance);
}

TEST(CudaLanguageModel, AFullCacheIsAnErrorNotAnOverflow) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/qwen2vl-tied", &error);
  ASSERT_NE(model, nullptr) << error;
  auto gpu = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_NE(gpu, nullptr) << error;
  auto cache = gpu->new_cache(4, &error);
  ASSERT_NE(cache, nullptr) << error;
  const int64_t hidden = model->lm().config().hidden_size;
  std::vector<float> x(static_cast<size_t>(5 * hidden), 0.1f), logits(static_cast<size_t>(model->lm().config().vocab_size));
  EXPECT_FALSE(gpu->forward(x.data(), 5, text_positions(0, 5).data(), cache.get(), logits.data(), false, &error));
  EXPECT_NE(error.find("do not fit the KV cache"), std::string::npos) << error;
  EXPECT_EQ(cache->length(), 0);
}

// Decode steps replayed from the captured graph give what the same steps give
// launch by launch, bit for bit (same kernels, same order), across a cache
// that grows (a new capture) and a prefill in between (new work buffers).
TEST(CudaLanguageModel, GraphDecodeEqualsDirectDecode) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/qwen25vl-untied", &error);
  ASSERT_NE(model, nullptr) << error;
  auto graphed = CudaLanguageModel::create(model->lm(), &error);
  auto direct = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_TRUE(graphed && direct) << error;
  graphed->set_graphs(true);
  direct->set_graphs(false);
  const int64_t hidden = model->lm().config().hidden_size, vocab = model->lm().config().vocab_size;
  const auto ids = model->tokenizer().encode("Open the terminal and list my files");
  const auto n = static_cast<int64_t>(ids.size());
  std::vector<float> x(static_cast<size_t>(n * hidden));
  ASSERT_TRUE(model->lm().embed(ids.data(), n, x.data(), &error));
  auto cg = graphed->new_cache(n + 4, &error), cd = direct->new_cache(n + 4, &error);
  ASSERT_TRUE(cg && cd) << error;
  std::vector<float> lg(static_cast<size_t>(vocab)), ld(lg.size());
  ASSERT_TRUE(graphed->forward(x.data(), n, text_positions(0, n).data(), cg.get(), lg.data(), false, &error)) << error;
  ASSERT_TRUE(direct->forward(x.data(), n, text_positions(0, n).data(), cd.get(), ld.data(), false, &error)) << error;
  for (int step = 0; step < 12; ++step) {
    if (step == 4) {  // the cache moves: the graph must be captured again
      ASSERT_TRUE(cg->reserve(n + 64, &error)) << error;
      ASSERT_TRUE(cd->reserve(n + 64, &error)) << error;
    }
    if (step == 8) {  // a longer prefill than any before: new work buffers, captured again
      const int64_t m = n + 6;
      std::vector<float> more(static_cast<size_t>(m * hidden));
      for (int64_t i = 0; i < m; ++i)
        ASSERT_TRUE(model->lm().embed(&ids[static_cast<size_t>(i % n)], 1, more.data() + i * hidden, &error));
      const auto at = text_positions(cg->length(), m);
      ASSERT_TRUE(graphed->forward(more.data(), m, at.data(), cg.get(), lg.data(), false, &error)) << error;
      ASSERT_TRUE(direct->forward(more.data(), m, at.data(), cd.get(), ld.data(), false, &error)) << error;
      ASSERT_EQ(lg, ld);
    }
    const int32_t id = static_cast<int32_t>(std::max_element(lg.begin(), lg.end()) - lg.begin());
    ASSERT_TRUE(model->lm().embed(&id, 1, x.data(), &error));
    const auto pos = text_positions(cg->length(), 1);
    ASSERT_TRUE(graphed->forward(x.data(), 1, pos.data(), cg.get(), lg.data(), false, &error)) << error;
    ASSERT_TRUE(direct->forward(x.data(), 1, pos.data(), cd.get(), ld.data(), false, &error)) << error;
    ASSERT_EQ(lg, ld) << "step " << step;
  }
  EXPECT_EQ(graphed->graph_error(), "");
  EXPECT_EQ(graphed->graph_replays(), 12);
  EXPECT_EQ(graphed->graph_captures(), 3);
  EXPECT_EQ(direct->graph_replays(), 0);
}

// A cache that ends and a new one of the same shape (the next engine::Session,
// often at the freed one's address, its buffers too): the new cache's steps
// are its own, equal to a fresh model's, and the graph is captured for it.
TEST(CudaLanguageModel, ANewCacheNeverReplaysTheGraphOfAnEndedOne) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/qwen2vl-tied", &error);
  ASSERT_NE(model, nullptr) << error;
  auto reused = CudaLanguageModel::create(model->lm(), &error);
  auto fresh = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_TRUE(reused && fresh) << error;
  const int64_t hidden = model->lm().config().hidden_size, vocab = model->lm().config().vocab_size;
  // Prefill `prompt`, then 6 greedy steps; the logits of every step.
  const auto session = [&](CudaLanguageModel& m, const std::string& prompt) {
    const auto ids = model->tokenizer().encode(prompt);
    const auto n = static_cast<int64_t>(ids.size());
    std::vector<float> x(static_cast<size_t>(n * hidden)), logits(static_cast<size_t>(vocab)), all;
    EXPECT_TRUE(model->lm().embed(ids.data(), n, x.data(), &error));
    auto cache = m.new_cache(64, &error);  // the same shape every time
    EXPECT_NE(cache, nullptr) << error;
    if (!cache) return all;
    EXPECT_TRUE(m.forward(x.data(), n, text_positions(0, n).data(), cache.get(), logits.data(), false, &error));
    for (int step = 0; step < 6; ++step) {
      const int32_t id = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
      EXPECT_TRUE(model->lm().embed(&id, 1, x.data(), &error));
      EXPECT_TRUE(m.forward(x.data(), 1, text_positions(cache->length(), 1).data(), cache.get(), logits.data(),
                            false, &error))
          << error;
      all.insert(all.end(), logits.begin(), logits.end());
    }
    return all;
  };
  session(*reused, "Open the terminal and list my files");
  const auto second = session(*reused, "Click the Save button");
  EXPECT_EQ(second, session(*fresh, "Click the Save button"));
  EXPECT_EQ(reused->graph_captures(), 2);  // one per cache
  EXPECT_EQ(reused->graph_replays(), 12);
}

// Greedy choice inside the decode step (one id back instead of the logits)
// picks the argmax of the logits the same step gives, step after step, from
// its own captured graph.
TEST(CudaLanguageModel, ChoosingOnTheDeviceIsTheArgmaxOfTheStepsLogits) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/qwen25vl-untied", &error);
  ASSERT_NE(model, nullptr) << error;
  auto gpu = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_NE(gpu, nullptr) << error;
  const int64_t hidden = model->lm().config().hidden_size, vocab = model->lm().config().vocab_size;
  const auto ids = model->tokenizer().encode("Open the terminal and list my files");
  const auto n = static_cast<int64_t>(ids.size());
  std::vector<float> x(static_cast<size_t>(n * hidden)), logits(static_cast<size_t>(vocab));
  ASSERT_TRUE(model->lm().embed(ids.data(), n, x.data(), &error));
  auto with_logits = gpu->new_cache(n + 16, &error), with_choice = gpu->new_cache(n + 16, &error);
  ASSERT_TRUE(with_logits && with_choice) << error;
  ASSERT_TRUE(gpu->forward(x.data(), n, text_positions(0, n).data(), with_logits.get(), logits.data(), false, &error));
  ASSERT_TRUE(gpu->forward(x.data(), n, text_positions(0, n).data(), with_choice.get(), logits.data(), false, &error));
  auto state = gpu->new_token_state(ids, &error);
  ASSERT_NE(state, nullptr) << error;
  int32_t token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  ASSERT_TRUE(gpu->record_token(state.get(), token, &error)) << error;
  const int64_t captures = gpu->graph_captures();
  for (int step = 0; step < 8; ++step) {
    ASSERT_TRUE(model->lm().embed(&token, 1, x.data(), &error));
    const auto pos = text_positions(with_logits->length(), 1);
    ASSERT_TRUE(gpu->forward(x.data(), 1, pos.data(), with_logits.get(), logits.data(), false, &error)) << error;
    int32_t chosen = -1;
    ASSERT_TRUE(gpu->decode_choose(x.data(), pos.data(), with_choice.get(), SamplingParams(), 0.f, state.get(),
                                   &chosen, &error))
        << error;
    token = static_cast<int32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
    ASSERT_EQ(chosen, token) << "step " << step;
  }
  EXPECT_EQ(gpu->graph_captures(), captures + 2);  // one graph for each way a step ends
  EXPECT_EQ(gpu->graph_error(), "");
}

// Batched decode steps (the server's) replay one graph per batch size,
// whichever caches the rows are: the same logits as launch by launch, bit
// for bit, as sequences leave the batch and come back.
TEST(CudaLanguageModel, BatchedStepsReplayOneGraphPerBatchSize) {
  if (kernels::cuda::device_count() == 0) GTEST_SKIP() << "no CUDA device";
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/qwen2vl-tied", &error);
  ASSERT_NE(model, nullptr) << error;
  auto graphed = CudaLanguageModel::create(model->lm(), &error);
  auto direct = CudaLanguageModel::create(model->lm(), &error);
  ASSERT_TRUE(graphed && direct) << error;
  direct->set_graphs(false);
  const int64_t hidden = model->lm().config().hidden_size, vocab = model->lm().config().vocab_size;
  const std::vector<std::string> texts = {"Open the terminal", "x", "Type hello into the Name field"};
  std::vector<std::unique_ptr<CudaKvCache>> cg, cd;
  std::vector<float> x, logits(static_cast<size_t>(vocab));
  for (const std::string& text : texts) {
    const auto ids = model->tokenizer().encode(text);
    const auto n = static_cast<int64_t>(ids.size());
    x.resize(static_cast<size_t>(n * hidden));
    ASSERT_TRUE(model->lm().embed(ids.data(), n, x.data(), &error));
    for (auto* list : {&cg, &cd}) {
      CudaLanguageModel& m = list == &cg ? *graphed : *direct;
      list->push_back(m.new_cache(n + 16, &error));
      ASSERT_NE(list->back(), nullptr) << error;
      ASSERT_TRUE(m.forward(x.data(), n, text_positions(0, n).data(), list->back().get(), logits.data(), false,
                            &error));
    }
  }
  const int64_t captures = graphed->graph_captures(), replays = graphed->graph_replays();
  const std::vector<std::vector<int>> steps = {{0, 1, 2}, {0, 1, 2}, {0, 2}, {2, 0}, {0, 1, 2}};
  for (const auto& rows : steps) {
    const auto b = static_cast<int64_t>(rows.size());
    std::vector<CudaKvCache*> kg, kd;
    std::vector<int64_t> positions(static_cast<size_t>(3 * b));
    std::vector<float> embeddings(static_cast<size_t>(b * hidden));
    for (int64_t i = 0; i < b; ++i) {
      kg.push_back(cg[rows[i]].get());
      kd.push_back(cd[rows[i]].get());
      const int32_t id = 100 + rows[i];
      ASSERT_TRUE(model->lm().embed(&id, 1, embeddings.data() + i * hidden, &error));
      for (int64_t st = 0; st < 3; ++st) positions[st * b + i] = kg.back()->length();
    }
    std::vector<float> lg(static_cast<size_t>(b * vocab)), ld(lg.size());
    ASSERT_TRUE(graphed->forward_batch(embeddings.data(), b, positions.data(), kg.data(), lg.data(), &error)) << error;
    ASSERT_TRUE(direct->forward_batch(embeddings.data(), b, positions.data(), kd.data(), ld.data(), &error)) << error;
    ASSERT_EQ(lg, ld);
  }
  EXPECT_EQ(graphed->graph_error(), "");
  EXPECT_EQ(graphed->graph_captures() - captures, 2);  // batches of 3 and of 2
  EXPECT_EQ(graphed->graph_replays() - replays, 5);
}

INSTANTIATE_TEST_SUITE_P(Golden, TinyModelCuda,
                         ::testing::Values("qwen2vl-tied", "qwen25vl-untied", "qwen2vl-untied-f16"));

}  // namespace
}  // namespace deskpilot::engine

#endif  // DESKPILOT_HAVE_CUDA
