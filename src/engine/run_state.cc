#include "engine/run_state.h"

#include <utility>

namespace skillrt {
namespace {

// What an egress event is counted as against the buffer: its record's strings are small.
constexpr uint64_t kEgressEventBytes = 256;

}  // namespace

RunState::RunState(std::string run_id, uint64_t event_buffer_bytes)
    : run_id_(std::move(run_id)), event_buffer_bytes_(event_buffer_bytes) {}

void RunState::EmitVariant(decltype(RunEvent::payload) payload) {
  {
    std::lock_guard lock(mu_);
    if (result_) return;
    EmitLocked(std::move(payload));
  }
  cv_.notify_all();
}

void RunState::EmitLocked(decltype(RunEvent::payload) payload) {
  const uint64_t seq = next_seq_++;
  uint64_t bytes = 0;
  if (const auto* output = std::get_if<OutputEvent>(&payload)) {
    bytes = output->data.size();
  } else if (std::holds_alternative<EgressEvent>(payload)) {
    bytes = kEgressEventBytes;
  }
  if (bytes > 0) {
    // Output and egress are what a run can produce without end: past the buffer, the oldest
    // go first, and a single event larger than the whole buffer is never held.
    if (bytes > event_buffer_bytes_) {
      ++dropped_;
      return;
    }
    while (droppable_bytes_ + bytes > event_buffer_bytes_ && !droppable_.empty()) {
      auto [old_seq, old_bytes] = droppable_.front();
      droppable_.pop_front();
      droppable_bytes_ -= old_bytes;
      events_.erase(old_seq);
      ++dropped_;
    }
    droppable_.emplace_back(seq, bytes);
    droppable_bytes_ += bytes;
  }
  events_.emplace(seq, RunEvent{.run_id = run_id_,
                                .seq = seq,
                                .time = std::chrono::system_clock::now(),
                                .payload = std::move(payload)});
}

void RunState::Finish(Result<Outcome> result) {
  {
    std::lock_guard lock(mu_);
    if (result_) return;
    FinishedEvent finished;
    if (result) {
      finished.outcome = *result;
    } else {
      finished.error = result.error();
    }
    finished.events_dropped = dropped_;
    EmitLocked(std::move(finished));
    result_ = std::move(result);
  }
  cv_.notify_all();
}

Result<Outcome> RunState::Wait() const {
  std::unique_lock lock(mu_);
  cv_.wait(lock, [this] { return result_.has_value(); });
  return *result_;
}

bool RunState::finished() const {
  std::lock_guard lock(mu_);
  return result_.has_value();
}

EventBatch RunState::Read(uint64_t after, size_t max, std::chrono::milliseconds wait) const {
  std::unique_lock lock(mu_);
  auto available = [&] { return result_.has_value() || events_.upper_bound(after) != events_.end(); };
  if (wait.count() > 0) cv_.wait_for(lock, wait, available);
  EventBatch batch;
  uint64_t expected = after + 1;
  for (auto it = events_.upper_bound(after); it != events_.end() && batch.events.size() < max;
       ++it) {
    batch.dropped += it->first - expected;
    expected = it->first + 1;
    batch.events.push_back(it->second);
  }
  batch.finished = result_.has_value() && !batch.events.empty() &&
                   std::holds_alternative<FinishedEvent>(batch.events.back().payload);
  return batch;
}

}  // namespace skillrt
