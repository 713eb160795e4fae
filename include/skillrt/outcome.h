// The outcome of a run: what the skill did. A skill that fails still produces an Outcome;
// only a failure of skillrt itself is an Error.
#ifndef SKILLRT_OUTCOME_H_
#define SKILLRT_OUTCOME_H_

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/manifest.h"

namespace skillrt {

/// How a run ended.
enum class Status {
  kOk,       ///< Exited 0 (and, for JSON output, printed a JSON object).
  kError,    ///< Exited non-zero, or failed inside the guest.
  kTimeout,  ///< The wall-clock limit passed; the process tree was killed.
  kKilled,   ///< Stopped by a limit (memory, CPU, output, file size) or a signal.
  kDenied,   ///< Refused before starting: a capability the call needs is not granted.
  /// Cancelled by its caller (RunHandle::Cancel, a signal to the CLI, an engine shutting down):
  /// whatever had started was stopped and cleaned up as at a timeout; Outcome::message holds
  /// the reason given.
  kCancelled,
};

/// Returns "ok", "error", "timeout", "killed", "denied" or "cancelled".
std::string_view StatusName(Status status);

/// A captured output stream, cut at the run's output limit.
/// The most of one output stream a runtime keeps in memory, whatever the run's output limit:
/// a manifest may allow up to 1 GiB per stream, and holding (then escaping into JSON) that
/// much on the host is the host's risk, not the skill's. Bytes past it are counted in
/// `total_bytes` and dropped; the output limit still ends the run when it is reached.
inline constexpr uint64_t kCapturedStreamMaxBytes = 64ull << 20;

struct CapturedStream {
  /// At most min(Limits::output_max_bytes, kCapturedStreamMaxBytes) bytes.
  std::string data;
  bool truncated = false;    ///< True if the stream produced more than `data` holds.
  uint64_t total_bytes = 0;  ///< Bytes the stream produced (those read before the stop).
};

/// One connection the skill asked the egress proxy for, allowed or refused (docs/network.md).
/// The engine appends each as an audit record with `event` "egress".
struct EgressRecord {
  std::string method = {};  ///< "CONNECT" for a tunnel, else the HTTP method ("GET", ...).
  std::string host = {};    ///< The host as requested (lower-case name or IP literal); may be empty
                        ///< when the request could not be parsed.
  uint16_t port = 0;    ///< The requested port; 0 when unknown.
  std::string address = {};  ///< The address connected to, or the last one refused; empty if none.
  bool allowed = false;  ///< True when the proxy connected the skill to the destination.
  /// Why it was refused ("host not in the allowlist", "address 10.0.0.1 is private
  /// (10.0.0.0/8) and not named for this host", ...), or how an allowed one ended.
  std::string reason = {};
  std::string rule = {};  ///< The allowlist entry that matched, as "host:port"; empty if none.
  uint64_t bytes_sent = 0;      ///< Bytes from the skill to the destination.
  uint64_t bytes_received = 0;  ///< Bytes from the destination to the skill.
  std::chrono::microseconds duration{0};  ///< From accepting the connection to closing it.
};

/// The structured result of one run; the same for every runtime, the CLI's `--json` and
/// the C++ API.
struct Outcome {
  std::string run_id;
  std::string skill;
  Status status = Status::kError;
  std::optional<int> exit_code;  ///< Set when the process exited.
  std::optional<int> signal;     ///< Set when the process was killed by a signal.
  nlohmann::json output;         ///< The parsed JSON object printed on stdout, or null.
  CapturedStream stdout_stream;
  CapturedStream stderr_stream;
  std::chrono::microseconds duration{0};  ///< Wall time from start to reaping.
  std::chrono::microseconds cpu{0};       ///< User + system CPU time of the whole tree.
  uint64_t max_rss_kb = 0;                ///< Peak resident memory (KiB).
  /// Limits that stopped or constrained the run: "wall_time", "cpu_time", "memory",
  /// "processes", "output", "file_size", "scratch" (WebAssembly: the scratch directory was
  /// full, or past its limit).
  std::vector<std::string> limits_hit;
  /// Isolation layers applied, e.g. "userns", "mountns", "pivot_root", "seccomp",
  /// "landlock:v7", "cgroup:v1".
  std::vector<std::string> layers;
  std::string message;  ///< Human-readable reason for a non-ok status, if known.
  /// Every connection the run asked the egress proxy for, in the order they ended. Empty for a
  /// run without network access.
  std::vector<EgressRecord> egress;
  /// The limits in force for the run: the manifest's, narrowed by the instance and the
  /// caller. Empty only for a call refused before its skill was planned.
  std::optional<Limits> limits;
};

/// The JSON form documented in docs/cli.md: run_id, skill, status, exit_code, signal,
/// output, stdout, stderr, stdout_truncated, stderr_truncated, duration_ms, cpu_ms,
/// max_rss_kb, limits_hit, layers, message, egress (an array of EgressRecordToJson) and
/// limits (LimitsToJson, or null).
nlohmann::json OutcomeToJson(const Outcome& outcome);

/// The JSON form of `limits` used by outcomes, run events, audit records and approval keys:
/// wall_time_ms, cpu_time_ms, memory_bytes, pids, output_bytes, file_size_bytes,
/// scratch_bytes, open_files.
nlohmann::json LimitsToJson(const Limits& limits);

/// {"method", "host", "port", "address", "decision" ("allowed" or "refused"), "reason", "rule",
/// "bytes_sent", "bytes_received", "duration_ms"}.
nlohmann::json EgressRecordToJson(const EgressRecord& record);

}  // namespace skillrt

#endif  // SKILLRT_OUTCOME_H_
