// Jobs: run requests that are kept until they end, and the store that keeps them
// (docs/service.md, "Jobs"). A job is claimed by one worker at a time under a lease that the
// worker renews; a worker that stops renewing loses it, and the job runs again elsewhere
// (at-least-once). The one-machine store is SQLite (sqlite_job_store.cc).
#ifndef SKILLRT_SERVICE_JOB_STORE_H_
#define SKILLRT_SERVICE_JOB_STORE_H_

#include <chrono>
#include <cstdint>
#include <functional>
#include <filesystem>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt::service {

/// Where a job is. queued -> running -> succeeded | failed | queued (another attempt) | dead;
/// queued or running -> cancelled. succeeded, failed, cancelled and dead are terminal.
enum class JobState { kQueued, kRunning, kSucceeded, kFailed, kCancelled, kDead };

/// "queued", "running", "succeeded", "failed", "cancelled", "dead".
std::string_view JobStateName(JobState state);
/// The inverse of JobStateName; kInvalidArgument naming the accepted values.
Result<JobState> ParseJobState(std::string_view name);
/// True for succeeded, failed, cancelled and dead.
bool IsTerminal(JobState state);

/// What a client asks for when it enqueues a job.
struct JobSpec {
  std::string skill;                               ///< As RunRequest::skill.
  nlohmann::json input = nlohmann::json::object();  ///< As RunRequest::input.
  /// A client's key: a second enqueue with the same key returns the first job.
  std::string idempotency_key = {};
  int priority = 0;      ///< Higher runs first; equal priorities run in enqueue order.
  int max_attempts = 3;  ///< Attempts before the job is dead; 1-100.
  /// Wait before attempt n+1: backoff * 2^(n-1), at most an hour.
  std::chrono::milliseconds backoff{1000};
  /// A job not started by then is dead, never run.
  std::optional<std::chrono::system_clock::time_point> deadline = std::nullopt;
};

/// A job as stored.
struct Job {
  std::string id;  ///< "job_" and 24 hex digits.
  JobSpec spec;
  JobState state = JobState::kQueued;
  int attempts = 0;          ///< Attempts started (claims), including one in progress.
  std::string run_id;        ///< Of the latest attempt; "" before the first.
  std::string worker;        ///< Holder of the lease while running.
  nlohmann::json outcome;    ///< OutcomeToJson of the last attempt that ran, or null.
  nlohmann::json events;     ///< Array of the last attempt's events (RunEventToJson), or null.
  std::string error;         ///< Why the last attempt failed in skillrt, or why the job died.
  bool cancel_requested = false;
  std::chrono::system_clock::time_point created, updated, not_before;
  std::optional<std::chrono::system_clock::time_point> lease_until;
};

/// The JSON form served by the API (docs/openapi.json, Job). `with_events` adds `events`.
nlohmann::json JobToJson(const Job& job, bool with_events = false);

/// What a worker reports at the end of an attempt.
struct AttemptResult {
  /// kSucceeded or kFailed for an attempt whose skill ran (its Outcome says how); kQueued
  /// for a failure of skillrt itself (retried while attempts remain, else dead); kCancelled.
  JobState state = JobState::kFailed;
  nlohmann::json outcome = nullptr;  ///< OutcomeToJson, or null.
  nlohmann::json events = nullptr;   ///< The attempt's events, or null.
  std::string error = {};            ///< For kQueued: the skillrt error.
  /// For kQueued: false when the worker gives the job back because it is stopping (a
  /// graceful shutdown): the attempt is not counted, so a redeploy cannot use attempts up.
  bool count_attempt = true;
};

/// Counts by state, and the queued jobs ready to run now.
struct QueueDepth {
  std::map<JobState, uint64_t> by_state;
  uint64_t ready = 0;
};

/// A durable queue of jobs. Every method is atomic with respect to every other caller, in
/// this process and in others sharing the store. Thread-safe.
class JobStore {
 public:
  virtual ~JobStore() = default;

  /// Stores a new queued job, or returns the job already stored under spec.idempotency_key
  /// (`*created` false then). kInvalidArgument for a bad spec; kIo for the store.
  virtual Result<Job> Enqueue(const JobSpec& spec, bool* created) = 0;

  /// The job, or nullopt.
  virtual Result<std::optional<Job>> Get(std::string_view id) = 0;

  /// Jobs newest first, at most `limit`, of `state` when given. Without events.
  virtual Result<std::vector<Job>> List(std::optional<JobState> state, size_t limit) = 0;

  /// Claims the ready job that runs first (priority, then age) whose skill is not in
  /// `skip_skills`, for `worker` until now + `lease`: running, attempts + 1, a new run id.
  /// Queued jobs whose deadline passed become dead on the way. nullopt when none is ready.
  virtual Result<std::optional<Job>> Claim(std::string_view worker,
                                           std::chrono::milliseconds lease,
                                           const std::vector<std::string>& skip_skills) = 0;

  /// Renews `worker`'s lease on job `id`. Returns false when the worker no longer holds it
  /// (it expired and the job was taken back) or when a cancel was requested: the worker
  /// stops the run then.
  virtual Result<bool> Heartbeat(std::string_view id, std::string_view worker,
                                 std::chrono::milliseconds lease) = 0;

  /// Ends `worker`'s attempt at job `id` (see AttemptResult). Returns false, changing
  /// nothing, when the worker no longer holds the job's lease.
  virtual Result<bool> Finish(std::string_view id, std::string_view worker,
                              const AttemptResult& result) = 0;

  /// Cancels a queued job at once; asks a running one to stop (its worker sees it at its next
  /// heartbeat and finishes it as cancelled). Returns the job; kNotFound; kConflict when
  /// the job has already ended.
  virtual Result<Job> Cancel(std::string_view id) = 0;

  /// Queues an ended job (failed, cancelled, dead) again with its attempts reset. kNotFound;
  /// kConflict when the job is queued, running or succeeded.
  virtual Result<Job> Retry(std::string_view id) = 0;

  /// Takes back the jobs whose lease expired: queued again (after their backoff) while
  /// attempts remain, else dead. With `all_running`, every running job (a single-process
  /// store at startup: no worker of it can be alive). Returns how many.
  virtual Result<size_t> Reclaim(bool all_running) = 0;

  /// Counts by state.
  virtual Result<QueueDepth> Depth() = 0;

  /// Calls `wake` (from a thread of the store) whenever another process makes a job ready,
  /// where the store can tell (PostgreSQL's NOTIFY); an empty function stops the calls. A
  /// store that cannot tell does nothing: its workers poll.
  virtual void OnReady(std::function<void()> wake) { (void)wake; }
};

/// Checks a spec: a skill, priorities within ±1000, 1-100 attempts, a backoff of 0-3600 s, an
/// idempotency key of at most 200 characters. kInvalidArgument naming the field.
Result<void> CheckJobSpec(const JobSpec& spec);

/// `t` as RFC 3339 UTC with milliseconds: "2026-12-06T15:40:00.123Z".
std::string FormatTime(std::chrono::system_clock::time_point t);

/// A new job id: "job_" and 24 random hex digits (getrandom(2)).
Result<std::string> NewJobId();

/// The wait before attempt `attempts` + 1.
std::chrono::milliseconds BackoffFor(const JobSpec& spec, int attempts);

/// Opens (creating, migrating) the PostgreSQL store at the libpq connection URI `url`
/// ("postgresql://user@host/db", "postgresql:///db?host=/run/dir"). kIo when it cannot
/// connect (the message is libpq's), kParse for a schema newer than this build knows,
/// kUnsupported when libpq.so.5 cannot be loaded (it is loaded on first use, service/pq_api.h).
Result<std::unique_ptr<JobStore>> OpenPostgresJobStore(const std::string& url);

/// Opens (creating, migrating) the SQLite store at `file` in WAL mode. kIo, kParse (a
/// schema newer than this build knows).
Result<std::unique_ptr<JobStore>> OpenSqliteJobStore(const std::filesystem::path& file);

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_JOB_STORE_H_
