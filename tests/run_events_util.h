// Reading a run's events in tests as a front end would (include/skillrt/engine.h, RunHandle).
#ifndef SKILLRT_TESTS_RUN_EVENTS_UTIL_H_
#define SKILLRT_TESTS_RUN_EVENTS_UTIL_H_

#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/engine.h"

namespace skillrt::testing {

/// Every event of the run, read by sequence number until `finished` (at most 2,000 batches of
/// 100, each waited for up to a second).
inline std::vector<RunEvent> AllEvents(const RunHandle& handle) {
  std::vector<RunEvent> events;
  uint64_t after = 0;
  for (int i = 0; i < 2000; ++i) {
    EventBatch batch = handle.ReadEvents(after, 100, std::chrono::milliseconds(1000));
    for (RunEvent& event : batch.events) {
      after = event.seq;
      events.push_back(std::move(event));
    }
    if (batch.finished) break;
  }
  return events;
}

/// The event types in order, runs of one type (output chunks) collapsed into one.
inline std::vector<std::string> EventTypes(const std::vector<RunEvent>& events) {
  std::vector<std::string> types;
  for (const RunEvent& event : events) {
    if (types.empty() || types.back() != event.type()) types.emplace_back(event.type());
  }
  return types;
}

/// The first event of `type`, or nullopt after `wait` or at the end of the run.
inline std::optional<RunEvent> WaitForEvent(const RunHandle& handle, std::string_view type,
                                            std::chrono::milliseconds wait) {
  uint64_t after = 0;
  const auto deadline = std::chrono::steady_clock::now() + wait;
  while (std::chrono::steady_clock::now() < deadline) {
    EventBatch batch = handle.ReadEvents(after, 100, std::chrono::milliseconds(50));
    for (RunEvent& event : batch.events) {
      after = event.seq;
      if (event.type() == type) return std::move(event);
    }
    if (batch.finished) return std::nullopt;
  }
  return std::nullopt;
}

}  // namespace skillrt::testing

#endif  // SKILLRT_TESTS_RUN_EVENTS_UTIL_H_
