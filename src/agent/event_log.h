// The event log of one agent run: <home>/runs/<agent run id>/events.jsonl, one JSON object per
// line, each written with one append and flushed to the kernel before the next step, so that a
// process killed at any point leaves every event before it readable (docs/agent.md, "Events").
#ifndef SKILLRT_AGENT_EVENT_LOG_H_
#define SKILLRT_AGENT_EVENT_LOG_H_

#include <cstdint>
#include <filesystem>
#include <mutex>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "skillrt/agent.h"
#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::agent {

/// The version of the agent events' JSON form: the `v` of every event. Adding a field or an
/// event type keeps it; renaming, removing or changing the meaning of one bumps it.
inline constexpr int kAgentEventsVersion = 1;

/// A new agent run id: "agent-YYYYMMDDTHHMMSS-" and 12 hex digits from getrandom(2); sorts by
/// start time, never clashes with the engine's run ids (which start with a digit).
Result<std::string> NewAgentRunId();

/// RFC 3339 UTC with microseconds, as the engine's events write it.
std::string Rfc3339Now();

/// Appends events to one run's log. Thread-safe (one mutex; events keep their order).
class EventLog {
 public:
  /// Creates <runs_dir>/<run_id>/ (0700) and its events.jsonl (0600, O_EXCL: an id is used
  /// once). kIo naming the path; kConflict when the log exists.
  static Result<std::unique_ptr<EventLog>> Create(const std::filesystem::path& runs_dir,
                                                  const std::string& run_id, AgentEventSink sink);

  /// Adds {"v", "agent_run", "seq", "time", "type"} to `fields`, writes it as one line and
  /// hands it to the sink. A failed write is counted, not fatal: the run goes on.
  void Write(std::string_view type, nlohmann::json fields = nlohmann::json::object());

  const std::filesystem::path& path() const { return path_; }
  uint64_t write_errors() const { return write_errors_; }

 private:
  EventLog(std::filesystem::path path, UniqueFd fd, std::string run_id, AgentEventSink sink)
      : path_(std::move(path)), fd_(std::move(fd)), run_id_(std::move(run_id)),
        sink_(std::move(sink)) {}

  std::filesystem::path path_;
  UniqueFd fd_;
  std::string run_id_;
  AgentEventSink sink_;
  std::mutex mu_;
  uint64_t seq_ = 0;
  uint64_t write_errors_ = 0;
};

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_EVENT_LOG_H_
