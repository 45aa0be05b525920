#include "engine/batch_scheduler.h"

#include "base/clock.h"
#include <chrono>

namespace deskpilot::engine {
namespace {

using base::ms_since;

}  // namespace

BatchScheduler::BatchScheduler(const Model& model, BatchOptions options) : model_(model), options_(options) {
  if (options_.max_batch < 1) options_.max_batch = 1;
  for (int i = 0; i < options_.max_batch; ++i) sessions_.push_back(std::make_unique<Session>(model));
  session_busy_.assign(sessions_.size(), false);
  session_used_.assign(sessions_.size(), -1);
  thread_ = std::thread([this] { loop(); });
}

BatchScheduler::~BatchScheduler() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  thread_.join();
  for (Request& r : queue_) r.callbacks.on_done(nullptr, "the server is shutting down");
}

bool BatchScheduler::submit(Prompt prompt, GenerateOptions options, BatchCallbacks callbacks,
                            std::shared_ptr<const std::atomic<bool>> cancelled, std::string* error) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_) {
      *error = "the server is shutting down";
      return false;
    }
    if (static_cast<int>(queue_.size()) >= options_.max_queue) {
      *error = "too many requests waiting (" + std::to_string(queue_.size()) + "); try again later";
      return false;
    }
    queue_.push_back({std::move(prompt), std::move(options), std::move(callbacks), std::move(cancelled)});
    stats_.queued = static_cast<int>(queue_.size());
  }
  wake_.notify_one();
  return true;
}

BatchStats BatchScheduler::stats() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return stats_;
}

int BatchScheduler::pick_session(const Prompt& prompt) {
  int best = -1;
  int64_t best_prefix = -1;
  for (size_t i = 0; i < sessions_.size(); ++i) {
    if (session_busy_[i]) continue;
    const int64_t prefix = sessions_[i]->shared_prefix(model_, prompt);
    // Longest shared prefix; among equals the least recently used.
    if (prefix > best_prefix || (prefix == best_prefix && session_used_[i] < session_used_[best])) {
      best = static_cast<int>(i);
      best_prefix = prefix;
    }
  }
  return best;
}

void BatchScheduler::end(Active& a, const std::string& error) {
  if (a.session >= 0) {
    session_busy_[a.session] = false;
    session_used_[a.session] = ++tick_;
  }
  if (error.empty()) {
    a.generation.finish(a.request.callbacks.on_text);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++stats_.requests_done;
      stats_.reused_tokens += a.generation.result().reused_tokens;
    }
    a.request.callbacks.on_done(&a.generation.result(), "");
  } else {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      ++(error == "cancelled" ? stats_.requests_cancelled : stats_.requests_failed);
    }
    a.request.callbacks.on_done(nullptr, error);
  }
}

void BatchScheduler::admit(Request request) {
  auto a = std::make_unique<Active>();
  a->request = std::move(request);
  if (a->request.cancelled && a->request.cancelled->load()) {
    end(*a, "cancelled");
    return;
  }
  a->session = pick_session(a->request.prompt);
  session_busy_[a->session] = true;
  std::string error;
  if (!a->generation.start(model_, a->request.prompt, a->request.options, sessions_[a->session].get(), &a->logits,
                           &error)) {
    end(*a, error);
    return;
  }
  active_.push_back(std::move(a));
}

void BatchScheduler::loop() {
  const Qwen2LanguageModel& lm = model_.lm();
  const int64_t hidden = lm.config().hidden_size, vocab = lm.config().vocab_size;
  while (true) {
    // Admit what fits.
    std::vector<Request> incoming;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [&] { return stopping_ || !queue_.empty() || !active_.empty(); });
      if (stopping_) break;
      while (!queue_.empty() && static_cast<int>(active_.size() + incoming.size()) < options_.max_batch) {
        incoming.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
      stats_.queued = static_cast<int>(queue_.size());
    }
    auto t0 = std::chrono::steady_clock::now();
    for (Request& r : incoming) admit(std::move(r));
    const double admit_ms = ms_since(t0);
    t0 = std::chrono::steady_clock::now();

    // Sample one token for each; the finished and the cancelled leave.
    std::vector<std::unique_ptr<Active>> going_on;
    for (auto& a : active_) {
      if (a->request.cancelled && a->request.cancelled->load()) {
        end(*a, "cancelled");
        continue;
      }
      if (a->generation.accept(a->logits.data(), a->request.callbacks.on_text)) {
        end(*a, "");
        continue;
      }
      going_on.push_back(std::move(a));
    }
    active_ = std::move(going_on);
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stats_.active = static_cast<int>(active_.size());
      stats_.prefill_ms += admit_ms;
      stats_.sample_ms += ms_since(t0);
    }
    if (active_.empty()) continue;
    t0 = std::chrono::steady_clock::now();

    // One decode step for all of them.
    const auto b = static_cast<int64_t>(active_.size());
    std::vector<float> x(static_cast<size_t>(b * hidden));  // (b, hidden)
    std::vector<int64_t> positions(static_cast<size_t>(3 * b));  // (3, b)
    std::vector<DecoderCache*> caches(static_cast<size_t>(b));
    for (int64_t r = 0; r < b; ++r) {
      Generation& g = active_[r]->generation;
      const int32_t id = g.next_token();
      lm.embed(&id, 1, x.data() + r * hidden, nullptr);  // sampled ids are in the vocabulary
      for (int s = 0; s < 3; ++s) positions[s * b + r] = g.next_position();
      caches[r] = g.cache();
    }
    std::vector<float> logits(static_cast<size_t>(b * vocab));  // (b, vocab)
    std::string error;
    if (!model_.decoder().forward_batch(x.data(), b, positions.data(), caches.data(), logits.data(), &error)) {
      for (auto& a : active_) {  // what the caches hold is unknown now
        a->generation.cache()->truncate(0);
        end(*a, error);
      }
      active_.clear();
      continue;
    }
    for (int64_t r = 0; r < b; ++r) {
      active_[r]->logits.assign(logits.begin() + r * vocab, logits.begin() + (r + 1) * vocab);
      active_[r]->generation.advanced();
    }
    std::lock_guard<std::mutex> lock(mutex_);
    stats_.decode_ms += ms_since(t0);
    ++stats_.decode_steps;
    stats_.decoded_rows += b;
    stats_.max_batch_seen = std::max(stats_.max_batch_seen, b);
  }
  for (auto& a : active_) end(*a, "the server is shutting down");
  active_.clear();
}

}  // namespace deskpilot::engine
