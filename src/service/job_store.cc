// What every job store shares: names, checks, ids, backoff and the JSON form (job_store.h).
#include "service/job_store.h"

#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <ctime>

namespace skillrt::service {
namespace {

struct StateRow {
  JobState state;
  std::string_view name;
};
constexpr std::array<StateRow, 6> kStates = {{
    {JobState::kQueued, "queued"},
    {JobState::kRunning, "running"},
    {JobState::kSucceeded, "succeeded"},
    {JobState::kFailed, "failed"},
    {JobState::kCancelled, "cancelled"},
    {JobState::kDead, "dead"},
}};

}  // namespace

std::string FormatTime(std::chrono::system_clock::time_point t) {
  const auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  const time_t seconds = static_cast<time_t>(ms / 1000 - (ms % 1000 < 0 ? 1 : 0));
  const int millis = static_cast<int>(((ms % 1000) + 1000) % 1000);
  tm utc{};
  ::gmtime_r(&seconds, &utc);
  char buf[40];
  const size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &utc);
  std::snprintf(buf + n, sizeof(buf) - n, ".%03dZ", millis);
  return buf;
}

std::string_view JobStateName(JobState state) {
  for (const StateRow& row : kStates) {
    if (row.state == state) return row.name;
  }
  return "queued";
}

Result<JobState> ParseJobState(std::string_view name) {
  for (const StateRow& row : kStates) {
    if (row.name == name) return row.state;
  }
  return Fail(ErrorCode::kInvalidArgument,
              "unknown job state '" + std::string(name) +
                  "' (queued, running, succeeded, failed, cancelled or dead)");
}

bool IsTerminal(JobState state) {
  return state != JobState::kQueued && state != JobState::kRunning;
}

Result<void> CheckJobSpec(const JobSpec& spec) {
  if (spec.skill.empty()) return Fail(ErrorCode::kInvalidArgument, "skill: missing");
  if (spec.skill.size() > 512) return Fail(ErrorCode::kInvalidArgument, "skill: too long");
  if (!spec.input.is_object()) {
    return Fail(ErrorCode::kInvalidArgument, "input: must be a JSON object");
  }
  if (spec.priority < -1000 || spec.priority > 1000) {
    return Fail(ErrorCode::kInvalidArgument, "priority: must be between -1000 and 1000");
  }
  if (spec.max_attempts < 1 || spec.max_attempts > 100) {
    return Fail(ErrorCode::kInvalidArgument, "max_attempts: must be between 1 and 100");
  }
  if (spec.backoff < std::chrono::milliseconds(0) || spec.backoff > std::chrono::hours(1)) {
    return Fail(ErrorCode::kInvalidArgument, "backoff_ms: must be between 0 and 3600000");
  }
  if (spec.idempotency_key.size() > 200) {
    return Fail(ErrorCode::kInvalidArgument, "idempotency_key: at most 200 characters");
  }
  return {};
}

Result<std::string> NewJobId() {
  std::array<unsigned char, 12> bytes{};
  size_t got = 0;
  while (got < bytes.size()) {
    ssize_t n = ::getrandom(bytes.data() + got, bytes.size() - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return FailErrno(ErrorCode::kIo, "getrandom", errno);
    }
    got += static_cast<size_t>(n);
  }
  static constexpr char kDigits[] = "0123456789abcdef";
  std::string id = "job_";
  for (unsigned char b : bytes) {
    id.push_back(kDigits[b >> 4]);
    id.push_back(kDigits[b & 0xf]);
  }
  return id;
}

std::chrono::milliseconds BackoffFor(const JobSpec& spec, int attempts) {
  if (attempts < 1) return std::chrono::milliseconds(0);
  const int doublings = std::min(attempts - 1, 20);
  const auto wait = spec.backoff * (int64_t{1} << doublings);
  return std::min<std::chrono::milliseconds>(wait, std::chrono::hours(1));
}

nlohmann::json JobToJson(const Job& job, bool with_events) {
  nlohmann::json j = {
      {"id", job.id},
      {"skill", job.spec.skill},
      {"input", job.spec.input},
      {"state", JobStateName(job.state)},
      {"priority", job.spec.priority},
      {"attempts", job.attempts},
      {"max_attempts", job.spec.max_attempts},
      {"backoff_ms", job.spec.backoff.count()},
      {"idempotency_key", job.spec.idempotency_key.empty() ? nlohmann::json(nullptr)
                                                          : nlohmann::json(job.spec.idempotency_key)},
      {"deadline", job.spec.deadline ? nlohmann::json(FormatTime(*job.spec.deadline)) : nlohmann::json(nullptr)},
      {"run_id", job.run_id.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.run_id)},
      {"worker", job.worker.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.worker)},
      {"outcome", job.outcome},
      {"error", job.error.empty() ? nlohmann::json(nullptr) : nlohmann::json(job.error)},
      {"cancel_requested", job.cancel_requested},
      {"created", FormatTime(job.created)},
      {"updated", FormatTime(job.updated)},
      {"not_before", FormatTime(job.not_before)},
  };
  if (with_events) j["events"] = job.events.is_null() ? nlohmann::json::array() : job.events;
  return j;
}

}  // namespace skillrt::service
