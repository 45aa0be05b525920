// The backends behind engine::Decoder / ImageEncoder and --device:
//  - device words resolve as documented, everywhere ("auto" falls back to the
//    CPU without a GPU; "cuda" then fails saying why; other words are refused);
//  - a model asked for on a device it cannot use fails to load, naming the
//    folder and the device, instead of running somewhere else;
//  - the CPU backend through the interface is the decoder itself, and its
//    cache keeps a prefix across truncation;
//  - on a GPU (skipped elsewhere): the tiny checkpoints' greedy generation on
//    cuda equals the CPU's wherever the CPU's choice is decisive, decode steps
//    come from one captured CUDA graph, tokens chosen on the device are the
//    host sampler's choice, the batched decode step equals single steps, and
//    the vision tower's features match the CPU's.
#include "engine/backend.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <random>

#include "engine/device.h"
#include "engine/generate.h"
#include "engine/model.h"
#include "tests/engine/gpu_emulation.h"
#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

const std::string kModels = deskpilot::testing::kGoldenDir + "models/";

TEST(Device, WordsResolveAsDocumented) {
  Device d = Device::kCuda;
  std::string error;
  ASSERT_TRUE(resolve_device("cpu", &d, &error)) << error;
  EXPECT_EQ(d, Device::kCpu);
  std::string why;
  const bool gpu = cuda_usable(&why);
  ASSERT_TRUE(resolve_device("auto", &d, &error)) << error;
  EXPECT_EQ(d, gpu ? Device::kCuda : Device::kCpu);
  if (gpu) {
    EXPECT_TRUE(resolve_device("cuda", &d, &error)) << error;
    EXPECT_EQ(d, Device::kCuda);
  } else {
    EXPECT_FALSE(why.empty());
    EXPECT_FALSE(resolve_device("cuda", &d, &error));
    EXPECT_EQ(error, why);  // the reason; the CLI names its flag (--device cuda: ...)
  }
  EXPECT_FALSE(resolve_device("gpu", &d, &error));
  EXPECT_NE(error.find("expected cpu, cuda or auto, got 'gpu'"), std::string::npos) << error;
  EXPECT_FALSE(resolve_device("", &d, &error));
}

TEST(Device, AModelOnAnUnusableDeviceFailsToLoadSayingWhy) {
  if (cuda_usable(nullptr)) GTEST_SKIP() << "a GPU is usable here";
  std::string error;
  auto model = Model::load(kModels + "qwen2vl-tied", &error, Device::kCuda);
  EXPECT_EQ(model, nullptr);
  EXPECT_NE(error.find(kModels + "qwen2vl-tied: on cuda: "), std::string::npos) << error;
}

TEST(CpuBackend, IsTheDecoderItselfAndKeepsAPrefixAcrossTruncation) {
  std::string error;
  auto model = Model::load(kModels + "qwen25vl-untied", &error);
  ASSERT_NE(model, nullptr) << error;
  EXPECT_EQ(model->device(), Device::kCpu);
  EXPECT_EQ(model->decoder().device(), Device::kCpu);
  ASSERT_NE(model->image_encoder(), nullptr);
  const Qwen2LanguageModel& lm = model->lm();
  const int64_t hidden = lm.config().hidden_size, vocab = lm.config().vocab_size;
  const std::vector<int32_t> ids = model->tokenizer().encode("Click the Save button, then close the dialog");
  const auto n = static_cast<int64_t>(ids.size());
  std::vector<float> x(static_cast<size_t>(n * hidden));
  ASSERT_TRUE(lm.embed(ids.data(), n, x.data(), &error)) << error;

  KvCache direct = lm.new_cache();
  direct.reserve(n);
  std::vector<float> want(static_cast<size_t>(n * vocab));  // (n, vocab)
  lm.forward(x.data(), n, text_positions(0, n).data(), &direct, want.data(), true);

  auto cache = model->decoder().new_cache();
  ASSERT_TRUE(cache->reserve(n, &error)) << error;
  std::vector<float> got(want.size());
  ASSERT_TRUE(model->decoder().forward(x.data(), n, text_positions(0, n).data(), cache.get(), got.data(), true,
                                       nullptr, &error))
      << error;
  EXPECT_EQ(cache->length(), n);
  EXPECT_EQ(got, want);

  // Cut back to 3 tokens and run the rest again: the same last logits.
  cache->truncate(3);
  EXPECT_EQ(cache->length(), 3);
  std::vector<float> last(static_cast<size_t>(vocab));
  ASSERT_TRUE(model->decoder().forward(x.data() + 3 * hidden, n - 3, text_positions(3, n - 3).data(), cache.get(),
                                       last.data(), false, nullptr, &error));
  EXPECT_LE(deskpilot::testing::max_abs_diff(last.data(), want.data() + (n - 1) * vocab, vocab), 1e-5f);
}

// --- On a GPU --------------------------------------------------------------

#define SKIP_WITHOUT_GPU() \
  if (!cuda_usable(nullptr)) GTEST_SKIP() << "no usable CUDA device"

// The checkpoint of the parameter loaded on the CPU and on the GPU.
class BothDevices : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    SKIP_WITHOUT_GPU();
    std::string error;
    cpu_ = Model::load(kModels + GetParam(), &error);
    ASSERT_NE(cpu_, nullptr) << error;
    gpu_ = Model::load(kModels + GetParam(), &error, Device::kCuda);
    ASSERT_NE(gpu_, nullptr) << error;
  }
  std::unique_ptr<Model> cpu_, gpu_;
};

// Greedy tokens on cuda equal the CPU's while the CPU's top-2 margin exceeds
// twice the BF16 bound of tests/engine/test_cuda_lm.cpp (0.1); after the
// first indecisive step the sequences may part, so only the prefix is held.
TEST_P(BothDevices, GreedyGenerationAgreesWithTheCpu) {
  std::string error;
  Model* cpu = cpu_.get();
  Model* gpu = gpu_.get();
  GenerateOptions o;
  o.max_tokens = 24;
  o.ignore_eos = true;
  const auto ids = cpu->tokenizer().encode("Open the terminal and list my files");
  GenerateResult want, got;
  ASSERT_TRUE(generate(*cpu, ids, o, nullptr, &want, &error)) << error;
  ASSERT_TRUE(generate(*gpu, ids, o, nullptr, &got, &error)) << error;
  ASSERT_EQ(got.generated_ids.size(), want.generated_ids.size());
  // The CPU's margins along its own sequence decide how far the tokens must agree.
  const int64_t vocab = cpu->lm().config().vocab_size, hidden = cpu->lm().config().hidden_size;
  auto cache = cpu->decoder().new_cache();
  std::vector<int32_t> seq = ids;
  seq.insert(seq.end(), want.generated_ids.begin(), want.generated_ids.end());
  const auto total = static_cast<int64_t>(seq.size());
  ASSERT_TRUE(cache->reserve(total, &error));
  std::vector<float> x(static_cast<size_t>(total * hidden)), logits(static_cast<size_t>(total * vocab));
  ASSERT_TRUE(cpu->lm().embed(seq.data(), total, x.data(), &error));
  ASSERT_TRUE(cpu->decoder().forward(x.data(), total, text_positions(0, total).data(), cache.get(), logits.data(),
                                     true, nullptr, &error));
  for (size_t i = 0; i < want.generated_ids.size(); ++i) {
    const float* row = logits.data() + (ids.size() - 1 + i) * vocab;
    std::vector<float> top(row, row + vocab);
    std::partial_sort(top.begin(), top.begin() + 2, top.end(), std::greater<float>());
    if (top[0] - top[1] <= 0.2f) break;
    EXPECT_EQ(got.generated_ids[i], want.generated_ids[i]) << "token " << i;
  }
}

// Tokens chosen on the device (one id back per step) are the host
// Sampler's choice from the same GPU's logits (dumping intermediates sends
// the logits back and lets the host choose): equal under greedy with
// repetition, frequency and presence penalties; with sampling, the same seed
// gives the same tokens again.
TEST_P(BothDevices, TokensChosenOnTheDeviceAreTheHostsChoice) {
  std::string error;
  Model* gpu = gpu_.get();
  const auto ids = gpu->tokenizer().encode("Click the Save button, then close the dialog");
  GenerateOptions device;
  device.max_tokens = 24;
  device.ignore_eos = true;
  device.sampling.repetition_penalty = 1.3;
  device.sampling.frequency_penalty = 0.4;
  device.sampling.presence_penalty = 0.3;
  GenerateOptions host = device;
  host.sink = [](const std::string&, const std::vector<int64_t>&, const float*) {};
  GenerateResult a, b;
  ASSERT_TRUE(generate(*gpu, ids, device, nullptr, &a, &error)) << error;
  ASSERT_TRUE(generate(*gpu, ids, host, nullptr, &b, &error)) << error;
  EXPECT_EQ(a.generated_ids, b.generated_ids);
  device.sampling.temperature = 0.8;
  device.sampling.top_k = 20;
  device.sampling.top_p = 0.9;
  device.sampling.seed = 5;
  ASSERT_TRUE(generate(*gpu, ids, device, nullptr, &a, &error)) << error;
  ASSERT_TRUE(generate(*gpu, ids, device, nullptr, &b, &error)) << error;
  EXPECT_EQ(a.generated_ids, b.generated_ids);
  for (int32_t id : a.generated_ids) EXPECT_TRUE(id >= 0 && id < gpu->lm().config().vocab_size);
}

TEST_P(BothDevices, BatchedDecodeEqualsSingleSteps) {
  std::string error;
  Model* gpu = gpu_.get();
  const int64_t vocab = gpu->lm().config().vocab_size, hidden = gpu->lm().config().hidden_size;
  const std::vector<std::string> texts = {"Open the terminal", "x", "Type hello into the Name field"};
  const auto b = static_cast<int64_t>(texts.size());
  std::vector<std::unique_ptr<DecoderCache>> batch, single;
  std::vector<int64_t> positions(static_cast<size_t>(3 * b));
  std::vector<float> step_x(static_cast<size_t>(b * hidden));
  for (int64_t r = 0; r < b; ++r) {
    const auto ids = gpu->tokenizer().encode(texts[r]);
    const auto n = static_cast<int64_t>(ids.size());
    std::vector<float> x(static_cast<size_t>(n * hidden)), logits(static_cast<size_t>(vocab));
    ASSERT_TRUE(gpu->lm().embed(ids.data(), n, x.data(), &error));
    for (auto* list : {&batch, &single}) {
      list->push_back(gpu->decoder().new_cache());
      ASSERT_TRUE(list->back()->reserve(n + 1, &error)) << error;
      ASSERT_TRUE(gpu->decoder().forward(x.data(), n, text_positions(0, n).data(), list->back().get(), logits.data(),
                                         false, nullptr, &error))
          << error;
    }
    const int32_t next = 100 + static_cast<int32_t>(r);
    ASSERT_TRUE(gpu->lm().embed(&next, 1, step_x.data() + r * hidden, &error));
    for (int s = 0; s < 3; ++s) positions[s * b + r] = n;
  }
  std::vector<DecoderCache*> caches;
  for (auto& c : batch) caches.push_back(c.get());
  std::vector<float> together(static_cast<size_t>(b * vocab)), alone(static_cast<size_t>(vocab));
  ASSERT_TRUE(gpu->decoder().forward_batch(step_x.data(), b, positions.data(), caches.data(), together.data(), &error))
      << error;
  for (int64_t r = 0; r < b; ++r) {
    ASSERT_TRUE(gpu->decoder().forward(step_x.data() + r * hidden, 1, text_positions(positions[r], 1).data(),
                                       single[r].get(), alone.data(), false, nullptr, &error))
        << error;
    // Same kernels, rows of a different GEMM shape: cuBLAS may sum in another order.
    EXPECT_LE(deskpilot::testing::max_abs_diff(together.data() + r * vocab, alone.data(), vocab), 1e-3f) << r;
    EXPECT_EQ(batch[r]->length(), single[r]->length());
  }
}

// Vision features on cuda against the CPU's, on random patches of a 4x6
// merged-unit image (Qwen2.5-VL: windows of 4x4 units, so partial windows too).
// Bound: kGpuFeatureBound (1.5%) of the largest |feature|, three times what
// emulating the GPU's arithmetic (BF16 projections, flash attention) on the
// CPU gives on these patches (tests/engine/test_gpu_emulation.cpp).
TEST_P(BothDevices, VisionFeaturesMatchTheCpu) {
  std::string error;
  Model* cpu = cpu_.get();
  Model* gpu = gpu_.get();
  const VisionConfig& c = cpu->files().model.vision;
  const ImagePatches image = deskpilot::testing::random_patches(c, 4, 6, 5);
  std::vector<float> want, got;
  ASSERT_TRUE(cpu->image_encoder()->encode(image, nullptr, &want, &error)) << error;
  ASSERT_TRUE(gpu->image_encoder()->encode(image, nullptr, &got, &error)) << error;
  ASSERT_EQ(got.size(), want.size());
  float scale = 0;
  for (float v : want) scale = std::max(scale, std::fabs(v));
  for (float v : got) ASSERT_TRUE(std::isfinite(v));
  const float diff = deskpilot::testing::max_abs_diff(got.data(), want.data(), static_cast<int64_t>(want.size()));
  std::printf("%s vision: max |cuda - cpu| = %.3g of max |feature| %.3g\n", GetParam().c_str(), diff, scale);
  EXPECT_LE(diff, deskpilot::testing::kGpuFeatureBound * scale);
}

// Features left on the device by the GPU's tower are the ones it sends to
// the host, bit for bit, and a prefill that takes them from there (two runs
// of rows, one image cut by the prompt's start) gives the logits of the
// same prefill with the features in the host embeddings.
TEST_P(BothDevices, ImageFeaturesTakenOnTheDeviceEqualTheHostsCopy) {
  std::string error;
  Model* gpu = gpu_.get();
  const VisionConfig& c = gpu->files().model.vision;
  const ImagePatches image = deskpilot::testing::random_patches(c, 2, 3, 9);
  ImageEncoder* encoder = gpu->image_encoder();
  ASSERT_TRUE(encoder->keeps_features_resident());
  ASSERT_TRUE(gpu->decoder().takes_resident_features());
  std::vector<float> host, downloaded;
  ASSERT_TRUE(encoder->encode(image, nullptr, &host, &error)) << error;
  auto resident = encoder->encode_resident(image, &error);
  ASSERT_NE(resident, nullptr) << error;
  ASSERT_TRUE(resident->download(&downloaded, &error)) << error;
  EXPECT_EQ(downloaded, host);
  const int64_t rows = resident->rows(), hidden = gpu->lm().config().hidden_size;
  ASSERT_EQ(static_cast<int64_t>(host.size()), rows * hidden);
  // 3 text rows, the image's rows 2.., 2 text rows, the whole image again.
  const auto text = gpu->tokenizer().encode("Click the icon");
  const int64_t n = 5 + (rows - 2) + rows;
  std::vector<int32_t> ids(static_cast<size_t>(n), text[0]);
  std::vector<float> x(static_cast<size_t>(n * hidden));
  ASSERT_TRUE(gpu->lm().embed(ids.data(), n, x.data(), &error));
  std::vector<float> with_host = x;
  std::copy_n(host.begin() + 2 * hidden, (rows - 2) * hidden, with_host.begin() + 3 * hidden);
  std::copy_n(host.begin(), rows * hidden, with_host.begin() + (5 + rows - 2) * hidden);
  const std::vector<ResidentRows> runs = {{3, 2, rows - 2, resident.get()}, {5 + rows - 2, 0, rows, resident.get()}};
  const int64_t vocab = gpu->lm().config().vocab_size;
  std::vector<float> want(static_cast<size_t>(n * vocab)), got(want.size());
  auto a = gpu->decoder().new_cache(), b = gpu->decoder().new_cache();
  ASSERT_TRUE(a->reserve(n, &error) && b->reserve(n, &error)) << error;
  ASSERT_TRUE(gpu->decoder().forward(with_host.data(), n, text_positions(0, n).data(), a.get(), want.data(), true,
                                     nullptr, &error))
      << error;
  ASSERT_TRUE(gpu->decoder().forward_resident(x.data(), n, text_positions(0, n).data(), b.get(), got.data(), true, runs,
                                              &error))
      << error;
  EXPECT_EQ(got, want);
  // Rows past the features are refused, not read.
  const std::vector<ResidentRows> bad = {{0, 1, rows, resident.get()}};
  EXPECT_FALSE(gpu->decoder().forward_resident(x.data(), n, text_positions(0, n).data(), b.get(), got.data(), false,
                                               bad, &error));
}

INSTANTIATE_TEST_SUITE_P(Tiny, BothDevices, ::testing::Values("qwen2vl-tied", "qwen25vl-untied", "qwen2vl-untied-f16"));

}  // namespace
}  // namespace deskpilot::engine
