// The CUDA decoder's arithmetic emulated on the CPU (tests/engine/
// gpu_emulation.h) against transformers' goldens on the three tiny
// checkpoints: prefill logits and decode steps through a BF16 cache. This
// is what the GPU's bound (kGpuLogitBound, tests/engine/test_cuda_lm.cpp)
// rests on; it runs on every machine. The emulation must stay within half
// the bound, and must differ from the FP32 CPU decoder (or it emulates
// nothing).
#include <gtest/gtest.h>

#include <random>

#include "engine/generate.h"
#include "engine/model.h"
#include "tests/engine/gpu_emulation.h"
#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

using deskpilot::testing::max_abs_diff;

class GpuEmulation : public ::testing::TestWithParam<std::string> {};

TEST_P(GpuEmulation, StaysWithinHalfTheGpuBoundOfTransformers) {
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/" + GetParam(), &error);
  ASSERT_NE(model, nullptr) << error;
  const auto g = deskpilot::testing::model_golden(GetParam());
  const Qwen2LanguageModel& lm = model->lm();
  const int64_t vocab = lm.config().vocab_size, hidden = lm.config().hidden_size;
  float worst = 0, from_fp32 = 0;
  for (const auto& c : g.json["cases"]) {
    const auto ids = c["prompt_ids"].get<std::vector<int32_t>>();
    const auto n = static_cast<int64_t>(ids.size());
    std::vector<float> x(static_cast<size_t>(n * hidden));
    ASSERT_TRUE(lm.embed(ids.data(), n, x.data(), &error)) << error;
    deskpilot::testing::GpuDecoderEmulation gpu(lm);
    auto logits = gpu.forward(x.data(), n, text_positions(0, n).data());
    const std::vector<float> last = g.tensor(c["last_logits"]);
    worst = std::max(worst, max_abs_diff(logits.data(), last.data(), vocab));
    KvCache cache = lm.new_cache();
    std::vector<float> fp32(static_cast<size_t>(vocab));
    lm.forward(x.data(), n, text_positions(0, n).data(), &cache, fp32.data(), false);
    from_fp32 = std::max(from_fp32, max_abs_diff(logits.data(), fp32.data(), vocab));
    if (!c.contains("step_logits")) continue;
    const std::vector<float> steps = g.tensor(c["step_logits"]);
    const auto generated = c["generated_ids"].get<std::vector<int32_t>>();
    for (size_t s = 1; s < generated.size(); ++s) {
      ASSERT_TRUE(lm.embed(&generated[s - 1], 1, x.data(), &error));
      logits = gpu.forward(x.data(), 1, text_positions(gpu.length(), 1).data());
      worst = std::max(worst, max_abs_diff(logits.data(), steps.data() + s * vocab, vocab));
    }
  }
  std::printf("%s, the GPU's arithmetic emulated: max |logit - transformers| = %.3g (GPU bound %.2g)\n",
              GetParam().c_str(), worst, deskpilot::testing::kGpuLogitBound);
  EXPECT_LE(worst, deskpilot::testing::kGpuLogitBound / 2);
  EXPECT_GT(from_fp32, 1e-4f);  // BF16 rounding does move the logits
}

// The vision tower on the random patches of BothDevices.VisionFeaturesMatchTheCpu
// (tests/engine/test_backend.cpp), against the CPU tower: within half of
// the bound the GPU's features are held to there.
TEST_P(GpuEmulation, VisionStaysWithinHalfTheGpuBoundOfTheCpu) {
  std::string error;
  auto model = Model::load(deskpilot::testing::kGoldenDir + "models/" + GetParam(), &error);
  ASSERT_NE(model, nullptr) << error;
  ASSERT_NE(model->vision(), nullptr);
  const VisionConfig& c = model->files().model.vision;
  const ImagePatches image = deskpilot::testing::random_patches(c, 4, 6, 5);
  const std::vector<float> want = model->vision()->encode(image);
  const std::vector<float> got = deskpilot::testing::gpu_vision_emulated(*model->vision(), image);
  ASSERT_EQ(got.size(), want.size());
  float scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  const float diff = max_abs_diff(got.data(), want.data(), want.size());
  std::printf("%s vision, the GPU's arithmetic emulated: max |features - cpu| = %.3g of max |feature| %.3g (%.1f%%)\n",
              GetParam().c_str(), diff, scale, 100 * diff / scale);
  EXPECT_LE(diff, deskpilot::testing::kGpuFeatureBound / 2 * scale);
  EXPECT_GT(diff, 1e-6f * scale);  // it does round
}

INSTANTIATE_TEST_SUITE_P(Golden, GpuEmulation, ::testing::Values("qwen2vl-tied", "qwen25vl-untied", "qwen2vl-untied-f16"));

}  // namespace
}  // namespace deskpilot::engine
