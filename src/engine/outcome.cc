// Names of statuses and sandbox levels, and the JSON form of an Outcome (docs/cli.md).
#include <string.h>

#include <cstdint>
#include <string>
#include <string_view>

#include "skillrt/outcome.h"
#include "skillrt/plan.h"

namespace skillrt {
namespace {

// Returns `text` with every byte sequence that is not well-formed UTF-8 (RFC 3629: no
// overlongs, no surrogates, nothing above U+10FFFF) replaced by U+FFFD, so that the JSON
// built from a skill's raw output can always be serialised.
std::string SanitizeUtf8(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  const auto* s = reinterpret_cast<const unsigned char*>(text.data());
  size_t n = text.size();
  size_t i = 0;
  while (i < n) {
    unsigned char c = s[i];
    if (c < 0x80) {
      out += static_cast<char>(c);
      ++i;
      continue;
    }
    size_t len = 0;
    uint32_t lo = 0x80, hi = 0xBF;  // Allowed range of the second byte.
    if (c >= 0xC2 && c <= 0xDF) {
      len = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
      len = 3;
      if (c == 0xE0) lo = 0xA0;  // No overlongs.
      if (c == 0xED) hi = 0x9F;  // No UTF-16 surrogates.
    } else if (c >= 0xF0 && c <= 0xF4) {
      len = 4;
      if (c == 0xF0) lo = 0x90;  // No overlongs.
      if (c == 0xF4) hi = 0x8F;  // Nothing above U+10FFFF.
    }
    bool valid = len != 0 && i + len <= n;
    for (size_t k = 1; valid && k < len; ++k) {
      unsigned char b = s[i + k];
      valid = k == 1 ? (b >= lo && b <= hi) : (b >= 0x80 && b <= 0xBF);
    }
    if (valid) {
      out.append(text.substr(i, len));
      i += len;
    } else {
      out += "\xEF\xBF\xBD";
      ++i;
    }
  }
  return out;
}

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
  j["skill"] = SanitizeUtf8(outcome.skill);
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
  j["stdout"] = SanitizeUtf8(outcome.stdout_stream.data);
  j["stderr"] = SanitizeUtf8(outcome.stderr_stream.data);
  j["stdout_truncated"] = outcome.stdout_stream.truncated;
  j["stderr_truncated"] = outcome.stderr_stream.truncated;
  j["duration_ms"] = Millis(outcome.duration);
  j["cpu_ms"] = Millis(outcome.cpu);
  j["max_rss_kb"] = outcome.max_rss_kb;
  j["limits_hit"] = outcome.limits_hit;
  j["layers"] = outcome.layers;
  j["message"] = SanitizeUtf8(outcome.message);
  nlohmann::json egress = nlohmann::json::array();
  for (const EgressRecord& record : outcome.egress) egress.push_back(EgressRecordToJson(record));
  j["egress"] = std::move(egress);
  return j;
}

nlohmann::json EgressRecordToJson(const EgressRecord& record) {
  return {
      {"method", SanitizeUtf8(record.method)},
      {"host", SanitizeUtf8(record.host)},
      {"port", record.port},
      {"address", record.address},
      {"decision", record.allowed ? "allowed" : "refused"},
      {"reason", SanitizeUtf8(record.reason)},
      {"rule", SanitizeUtf8(record.rule)},
      {"bytes_sent", record.bytes_sent},
      {"bytes_received", record.bytes_received},
      {"duration_ms", Millis(record.duration)},
  };
}

}  // namespace skillrt
