// Run events: what a run is doing, as it does it (docs/events.md). The same events reach
// every front end: the C++ API (RunHandle::ReadEvents), the MCP server, the agent loop's log,
// the HTTP service's Server-Sent Events and the Python SDK, all in the one JSON form that
// RunEventToJson gives.
#ifndef SKILLRT_EVENTS_H_
#define SKILLRT_EVENTS_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/approval.h"
#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/risk.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// The version of the events' JSON form (docs/events.md): the `v` field of every event.
/// Adding a field or an event type keeps it; renaming, removing or changing the meaning of
/// one bumps it.
inline constexpr int kRunEventsVersion = 1;

/// The engine took the call: the run id is reserved and nothing has been checked yet.
struct AcceptedEvent {
  std::string kind;                     ///< "run" or "exec".
  std::string skill;                    ///< The selector as the caller gave it.
  std::optional<std::string> instance;  ///< The "@instance" of the selector, if any.
};

/// The call was prepared and planned: what it would run with, before the policy decides.
struct PlannedEvent {
  std::string skill;         ///< The skill's name.
  std::string runtime;       ///< "native", "wasm" or "container".
  std::string tree_sha256;   ///< The skill's tree hash.
  std::string lock;          ///< "locked", "narrowed" or "unlocked" (docs/install-lock.md).
  SandboxLevel level = SandboxLevel::kStrict;
  Limits limits;             ///< The limits in force.
  std::vector<std::string> argv;  ///< What runs (for exec, after the command guard).
  /// The capabilities, names only, never values: {"read", "write", "network", "env_pass",
  /// "env_set", "commands", "secrets"} as in an approval request.
  nlohmann::json capabilities;
};

/// The policy's decision (docs/policy.md), with every rule that led to it.
struct DecidedEvent {
  PolicyDecision decision;
};

/// The policy asked: the run waits for an answer (docs/approvals.md). Answer it with
/// Engine::Approve, naming the run id or the approval key.
struct ApprovalRequestedEvent {
  std::string approval_key;
  nlohmann::json invocation;  ///< ApprovalRequest::invocation.
  nlohmann::json request;     ///< ApprovalRequest::request (names only, no values).
  RiskAssessment risk;
  /// How long the run waits before the request counts as denied; zero when a synchronous
  /// approver (EngineOptions::approver) answers instead.
  std::chrono::milliseconds timeout{0};
};

/// The approval request was answered (or answered itself: a stored or session approval, a
/// timeout, no approver).
struct ApprovalDecidedEvent {
  ApprovalDecision decision = ApprovalDecision::kDeny;
  /// Who answered: "stored", "session", "none", "timeout", an approver's name ("tty",
  /// "callback"), or what Engine::Approve was given as `via`.
  std::string via;
  std::string message;  ///< Why, for a refusal.
};

/// The skill's code is running inside its isolation.
struct StartedEvent {
  std::vector<std::string> layers;  ///< As Outcome::layers.
};

/// Bytes the skill wrote, redacted as the outcome's streams are (docs/secrets.md). Within
/// the output cap: the concatenation of a stream's output events is a prefix of the
/// outcome's stream, shorter only when events were dropped (EventBatch::dropped).
struct OutputEvent {
  OutputStream stream = OutputStream::kStdout;
  std::string data;  ///< Raw bytes; RunEventToJson makes them valid UTF-8.
};

/// A connection the skill asked the egress proxy for, allowed or refused (docs/network.md).
struct EgressEvent {
  EgressRecord record;
};

/// The run is over. Exactly one of `outcome` and `error` is set: an error is a failure of
/// skillrt itself (Result's error), an outcome is what the skill did, refusals included.
struct FinishedEvent {
  std::optional<Outcome> outcome;
  std::optional<Error> error;
  /// Output and egress events of this run that were dropped because the run's event buffer
  /// was full (EngineOptions::event_buffer_bytes); the outcome still holds all the output.
  uint64_t events_dropped = 0;
};

/// One event of one run. Plain data; copyable.
struct RunEvent {
  std::string run_id;
  /// 1, 2, 3, ... in the order the run emitted them; a gap is where events were dropped.
  uint64_t seq = 0;
  std::chrono::system_clock::time_point time;  ///< When it was emitted.
  std::variant<AcceptedEvent, PlannedEvent, DecidedEvent, ApprovalRequestedEvent,
               ApprovalDecidedEvent, StartedEvent, OutputEvent, EgressEvent, FinishedEvent>
      payload;

  /// "accepted", "planned", "decided", "approval_requested", "approval_decided", "started",
  /// "output", "egress" or "finished".
  std::string_view type() const;
};

/// The documented JSON form (docs/events.md): {"v", "run_id", "seq", "time" (RFC 3339 UTC with
/// microseconds), "type", ...the payload's fields}. Strings from the skill are made valid
/// UTF-8 (U+FFFD for bad bytes). Pure; thread-safe.
nlohmann::json RunEventToJson(const RunEvent& event);

/// What one read of a run's events returns.
struct EventBatch {
  std::vector<RunEvent> events;  ///< In sequence order, each with seq > the `after` asked for.
  /// Events between `after` and the first event returned that are no longer held (output
  /// dropped because its buffer was full). They are gone for every reader.
  uint64_t dropped = 0;
  /// True when the run has finished and `events` ends with its `finished` event: nothing more
  /// will come.
  bool finished = false;
};

}  // namespace skillrt

#endif  // SKILLRT_EVENTS_H_
