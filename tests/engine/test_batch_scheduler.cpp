// Continuous batching through the scheduler: requests submitted together
// (different lengths, greedy and seeded sampling, stop strings) come back
// exactly as generate() gives them one at a time, they really share decode
// steps, a cancelled request frees its place, a full queue refuses.
#include "engine/batch_scheduler.h"

#include <gtest/gtest.h>

#include <future>

#include "tests/golden_util.h"

namespace deskpilot::engine {
namespace {

const std::string kModel = deskpilot::testing::kGoldenDir + "models/qwen25vl-untied";

struct Outcome {
  std::string streamed;
  GenerateResult result;
  std::string error;
};

// Submits and returns a future of the outcome.
std::future<Outcome> submit(BatchScheduler& s, const Model& model, const std::string& text, GenerateOptions o,
                            std::shared_ptr<std::atomic<bool>> cancel = nullptr) {
  auto promise = std::make_shared<std::promise<Outcome>>();
  auto outcome = std::make_shared<Outcome>();
  BatchCallbacks cb;
  cb.on_text = [outcome](std::string_view t) { outcome->streamed += t; };
  cb.on_done = [promise, outcome](const GenerateResult* r, const std::string& e) {
    if (r) outcome->result = *r;
    outcome->error = e;
    promise->set_value(*outcome);
  };
  std::string error;
  EXPECT_TRUE(s.submit(Prompt{model.tokenizer().encode(text), {}}, o, cb, cancel, &error)) << error;
  return promise->get_future();
}

TEST(BatchScheduler, ConcurrentRequestsGiveWhatEachGivesAlone) {
  std::string error;
  auto model = Model::load(kModel, &error);
  ASSERT_NE(model, nullptr) << error;
  const std::vector<std::string> texts = {"Open the terminal", "Click Save in the dialog and close it", "x",
                                          "Type hello into the Name field", "scroll down three times, then wait"};
  std::vector<GenerateOptions> options(texts.size());
  for (size_t i = 0; i < texts.size(); ++i) {
    options[i].max_tokens = 10 + 4 * static_cast<int64_t>(i);
    options[i].ignore_eos = true;
    if (i % 2) {
      options[i].sampling.temperature = 0.8;
      options[i].sampling.top_p = 0.9;
      options[i].sampling.seed = 11 + i;
    }
  }
  std::vector<GenerateResult> alone(texts.size());
  for (size_t i = 0; i < texts.size(); ++i)
    ASSERT_TRUE(generate(*model, model->tokenizer().encode(texts[i]), options[i], nullptr, &alone[i], &error));

  BatchOptions bo;
  bo.max_batch = 4;  // five requests: one waits for a place
  BatchScheduler scheduler(*model, bo);
  std::vector<std::future<Outcome>> futures;
  for (size_t i = 0; i < texts.size(); ++i) futures.push_back(submit(scheduler, *model, texts[i], options[i]));
  for (size_t i = 0; i < texts.size(); ++i) {
    const Outcome o = futures[i].get();
    ASSERT_TRUE(o.error.empty()) << o.error;
    EXPECT_EQ(o.result.generated_ids, alone[i].generated_ids) << texts[i];
    EXPECT_EQ(o.result.text, alone[i].text);
    EXPECT_EQ(o.streamed, alone[i].text);
  }
  const BatchStats st = scheduler.stats();
  EXPECT_EQ(st.requests_done, 5);
  EXPECT_GE(st.max_batch_seen, 2);  // decode steps were shared
  EXPECT_LE(st.max_batch_seen, 4);
  EXPECT_LT(st.decode_steps, st.decoded_rows);
}

TEST(BatchScheduler, SecondRequestReusesTheSessionOfTheFirst) {
  std::string error;
  auto model = Model::load(kModel, &error);
  ASSERT_NE(model, nullptr) << error;
  BatchScheduler scheduler(*model, BatchOptions());
  GenerateOptions o;
  o.max_tokens = 6;
  o.ignore_eos = true;
  const std::string first = "You are a GUI agent. The task: open the terminal.";
  const Outcome a = submit(scheduler, *model, first, o).get();
  ASSERT_TRUE(a.error.empty()) << a.error;
  const Outcome b = submit(scheduler, *model, first + a.result.text + " Next step please.", o).get();
  ASSERT_TRUE(b.error.empty()) << b.error;
  EXPECT_GE(b.result.reused_tokens, static_cast<int64_t>(model->tokenizer().encode(first).size()) - 1);
}

TEST(BatchScheduler, CancelledRequestsEndAndBadOnesFail) {
  std::string error;
  auto model = Model::load(kModel, &error);
  ASSERT_NE(model, nullptr) << error;
  BatchScheduler scheduler(*model, BatchOptions());
  GenerateOptions o;
  o.max_tokens = 100000;  // would run for a long time
  o.ignore_eos = true;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  auto f = submit(scheduler, *model, "forever", o, cancel);
  cancel->store(true);
  EXPECT_EQ(f.get().error, "cancelled");

  auto promise = std::make_shared<std::promise<std::string>>();
  BatchCallbacks cb;
  cb.on_done = [promise](const GenerateResult* r, const std::string& e) { promise->set_value(r ? "" : e); };
  ASSERT_TRUE(scheduler.submit(Prompt{{1, 2, 999999}, {}}, GenerateOptions(), cb, nullptr, &error));
  EXPECT_NE(promise->get_future().get().find("999999"), std::string::npos);
  EXPECT_EQ(scheduler.stats().requests_cancelled, 1);
  EXPECT_EQ(scheduler.stats().requests_failed, 1);
}

TEST(BatchScheduler, FullQueueRefuses) {
  std::string error;
  auto model = Model::load(kModel, &error);
  ASSERT_NE(model, nullptr) << error;
  BatchOptions bo;
  bo.max_batch = 1;
  bo.max_queue = 1;
  BatchScheduler scheduler(*model, bo);
  GenerateOptions o;
  o.max_tokens = 100000;
  o.ignore_eos = true;
  auto cancel = std::make_shared<std::atomic<bool>>(false);
  BatchCallbacks cb;
  std::atomic<int> done{0};
  cb.on_done = [&](const GenerateResult*, const std::string&) { ++done; };
  const Prompt p{model->tokenizer().encode("hello"), {}};
  int accepted = 0;
  for (int i = 0; i < 5; ++i) accepted += scheduler.submit(p, o, cb, cancel, &error) ? 1 : 0;
  // One runs, one waits: at most 2 of 5 fit (the first may still be queued).
  EXPECT_LE(accepted, 2);
  EXPECT_NE(error.find("too many requests"), std::string::npos) << error;
  cancel->store(true);
  while (done.load() < accepted) std::this_thread::sleep_for(std::chrono::milliseconds(5));
}

}  // namespace
}  // namespace deskpilot::engine
