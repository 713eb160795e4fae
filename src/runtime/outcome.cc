// Names of statuses and sandbox levels, and the JSON form of an Outcome (docs/cli.md).
#include <string.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "util/utf8.h"

namespace skillrt {
namespace {

// Milliseconds with three decimals from a microsecond count.
double Millis(std::chrono::microseconds us) { return static_cast<double>(us.count()) / 1000.0; }

nlohmann::json OptionalInt(const std::optional<int>& value) {
  return value ? nlohmann::json(*value) : nlohmann::json(nullptr);
}

}  // namespace

std::string_view StatusName(Status status) {
  switch (status) {
    case Status::kOk: return "ok";
    case Status::kError: return "error";
    case Status::kTimeout: return "timeout";
    case Status::kKilled: return "killed";
    case Status::kDenied: return "denied";
    case Status::kCancelled: return "cancelled";
  }
  return "unknown";
}

std::string_view SandboxLevelName(SandboxLevel level) {
  switch (level) {
    case SandboxLevel::kStrict: return "strict";
    case SandboxLevel::kBestEffort: return "best-effort";
  }
  return "unknown";
}

nlohmann::json OutcomeToJson(const Outcome& outcome) {
  nlohmann::json j = nlohmann::json::object();
  j["run_id"] = outcome.run_id;
  j["skill"] = ToValidUtf8(outcome.skill);
  j["status"] = StatusName(outcome.status);
  j["exit_code"] = OptionalInt(outcome.exit_code);
  j["signal"] = OptionalInt(outcome.signal);
  nlohmann::json signal_name = nullptr;
  if (outcome.signal) {
    // sigabbrev_np(3) gives "KILL" for SIGKILL; unknown numbers give nullptr.
    if (const char* abbrev = ::sigabbrev_np(*outcome.signal); abbrev != nullptr) {
      signal_name = std::string("SIG") + abbrev;
    }
  }
  j["signal_name"] = std::move(signal_name);
  j["output"] = outcome.output.is_object() ? outcome.output : nlohmann::json(nullptr);
  j["stdout"] = ToValidUtf8(outcome.stdout_stream.data);
  j["stderr"] = ToValidUtf8(outcome.stderr_stream.data);
  j["stdout_truncated"] = outcome.stdout_stream.truncated;
  j["stderr_truncated"] = outcome.stderr_stream.truncated;
  j["duration_ms"] = Millis(outcome.duration);
  j["cpu_ms"] = Millis(outcome.cpu);
  j["max_rss_kb"] = outcome.max_rss_kb;
  j["limits_hit"] = outcome.limits_hit;
  j["layers"] = outcome.layers;
  j["message"] = ToValidUtf8(outcome.message);
  nlohmann::json egress = nlohmann::json::array();
  for (const EgressRecord& record : outcome.egress) egress.push_back(EgressRecordToJson(record));
  j["egress"] = std::move(egress);
  j["limits"] = outcome.limits ? LimitsToJson(*outcome.limits) : nlohmann::json(nullptr);
  return j;
}

nlohmann::json LimitsToJson(const Limits& limits) {
  return {
      {"wall_time_ms", limits.wall_time.count()},
      {"cpu_time_ms", limits.cpu_time.count()},
      {"memory_bytes", limits.memory_max_bytes},
      {"pids", limits.pids_max},
      {"output_bytes", limits.output_max_bytes},
      {"file_size_bytes", limits.file_size_max_bytes},
      {"scratch_bytes", limits.scratch_max_bytes},
      {"open_files", limits.open_files_max},
  };
}

nlohmann::json EgressRecordToJson(const EgressRecord& record) {
  return {
      {"method", ToValidUtf8(record.method)},
      {"host", ToValidUtf8(record.host)},
      {"port", record.port},
      {"address", record.address},
      {"decision", record.allowed ? "allowed" : "refused"},
      {"reason", ToValidUtf8(record.reason)},
      {"rule", ToValidUtf8(record.rule)},
      {"bytes_sent", record.bytes_sent},
      {"bytes_received", record.bytes_received},
      {"duration_ms", Millis(record.duration)},
  };
}

}  // namespace skillrt
