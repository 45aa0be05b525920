// Continuous batching: requests join and leave a running batch between
// decode steps. One thread owns the model. Each iteration it admits queued
// requests (prefill, one by one, in a session chosen for the longest shared
// prompt prefix so that an agent's growing conversation reuses its KV cache
// and encoded screenshots), samples one token for every active request,
// then runs one forward_batch over all that go on. Results and streamed
// text come back through callbacks on that thread.
#pragma once

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "engine/generate.h"
#include "engine/model.h"

namespace deskpilot::engine {

struct BatchOptions {
  int max_batch = 8;     // requests decoded together (each holds a session)
  int max_queue = 256;   // waiting requests beyond the batch; more are refused
};

struct BatchCallbacks {
  std::function<void(std::string_view)> on_text;  // text as it becomes final
  // Exactly once: the result, or an error (result null).
  std::function<void(const GenerateResult* result, const std::string& error)> on_done;
};

struct BatchStats {
  int64_t requests_done = 0, requests_failed = 0, requests_cancelled = 0;
  int64_t decode_steps = 0;   // forward_batch calls
  int64_t decoded_rows = 0;   // sequences summed over those calls (rows / steps = mean batch)
  int64_t max_batch_seen = 0;
  int64_t reused_tokens = 0;  // prompt tokens whose KV cache came from a session
  double prefill_ms = 0;      // scheduler time in admissions (vision + prefill)
  double decode_ms = 0;       // scheduler time in forward_batch
  double sample_ms = 0;       // scheduler time sampling and streaming text
  int active = 0, queued = 0;
};

class BatchScheduler {
 public:
  BatchScheduler(const Model& model, BatchOptions options);
  ~BatchScheduler();  // finishes nothing: queued and active requests get the error "shutting down"
  BatchScheduler(const BatchScheduler&) = delete;
  BatchScheduler& operator=(const BatchScheduler&) = delete;

  // Queues a request. false and *error when the queue is full. `cancelled`
  // (optional) is polled between steps: a client that went away frees its
  // place (on_done gets the error "cancelled").
  bool submit(Prompt prompt, GenerateOptions options, BatchCallbacks callbacks,
              std::shared_ptr<const std::atomic<bool>> cancelled, std::string* error);

  BatchStats stats() const;

 private:
  struct Request {
    Prompt prompt;
    GenerateOptions options;
    BatchCallbacks callbacks;
    std::shared_ptr<const std::atomic<bool>> cancelled;
  };
  struct Active {
    Request request;
    Generation generation;
    std::vector<float> logits;  // (vocab) for the next sample
    int session = -1;
  };
  void loop();
  void admit(Request request);
  int pick_session(const Prompt& prompt);
  void end(Active& a, const std::string& error);

  const Model& model_;
  BatchOptions options_;
  std::vector<std::unique_ptr<Session>> sessions_;
  std::vector<bool> session_busy_;
  std::vector<int64_t> session_used_;  // iteration last used, for LRU
  int64_t tick_ = 0;
  std::vector<std::unique_ptr<Active>> active_;  // scheduler thread only

  mutable std::mutex mutex_;
  std::condition_variable wake_;
  std::deque<Request> queue_;
  BatchStats stats_;
  bool stopping_ = false;
  std::thread thread_;
};

}  // namespace deskpilot::engine
