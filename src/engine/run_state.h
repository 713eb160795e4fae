// One run as the engine and its handles share it: the cancellation token, the run's events
// and, once it ends, its result (include/skillrt/engine.h, RunHandle).
#ifndef SKILLRT_ENGINE_RUN_STATE_H_
#define SKILLRT_ENGINE_RUN_STATE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>

#include "skillrt/error.h"
#include "skillrt/events.h"
#include "skillrt/outcome.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// Thread-safe. Owned jointly (shared_ptr) by the engine while the run is active, by the
/// thread that runs it and by every RunHandle.
class RunState {
 public:
  /// `event_buffer_bytes` bounds what is held of output and egress events: past it, the
  /// oldest of them are dropped (readers see the gap in sequence numbers).
  RunState(std::string run_id, uint64_t event_buffer_bytes);

  const std::string& run_id() const { return run_id_; }
  CancelToken& cancel() { return cancel_; }

  /// Appends an event with the next sequence number and the current time, and wakes readers.
  /// Never blocks on a reader. Ignored once the run finished.
  template <typename Payload>
  void Emit(Payload payload) {
    EmitVariant(std::move(payload));
  }

  /// Ends the run: emits `finished` with the result (and the count of dropped events), keeps
  /// the result for Wait, and wakes every waiter. Only the first call counts.
  void Finish(Result<Outcome> result);

  /// Blocks until Finish, then returns a copy of the result.
  Result<Outcome> Wait() const;

  /// True once Finish was called.
  bool finished() const;

  /// The held events with seq > `after`, at most `max`; waits up to `wait` for one to arrive
  /// when there is none yet (and the run is not finished).
  EventBatch Read(uint64_t after, size_t max, std::chrono::milliseconds wait) const;

 private:
  void EmitVariant(decltype(RunEvent::payload) payload);
  void EmitLocked(decltype(RunEvent::payload) payload);  // REQUIRES: mu_ held.

  const std::string run_id_;
  const uint64_t event_buffer_bytes_;
  CancelToken cancel_;
  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::map<uint64_t, RunEvent> events_;        // By seq. Guarded by mu_.
  std::deque<std::pair<uint64_t, uint64_t>> droppable_;  // (seq, bytes), oldest first.
  uint64_t droppable_bytes_ = 0;               // Guarded by mu_.
  uint64_t dropped_ = 0;                       // Guarded by mu_.
  uint64_t next_seq_ = 1;                      // Guarded by mu_.
  std::optional<Result<Outcome>> result_;      // Guarded by mu_.
};

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_RUN_STATE_H_
