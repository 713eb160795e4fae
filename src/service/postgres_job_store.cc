// The many-machine job store: PostgreSQL through libpq (job_store.h). Workers on any number of
// hosts claim with `FOR UPDATE SKIP LOCKED` (no two claim one job, none waits on another's
// row lock), are woken by `LISTEN`/`NOTIFY` when a job becomes ready, and hold jobs under
// leases timed by the database's clock, so that hosts whose clocks disagree still agree on
// when a lease ran out. The schema is versioned in skillrt_schema and migrated under an
// advisory lock, so that processes opening one database at once migrate it once.
// (PostgreSQL 15 documentation: SELECT "The Locking Clause", NOTIFY, LISTEN, libpq 34.9
// "Asynchronous Notification".)
#include <poll.h>

#include <array>
#include <atomic>
#include <mutex>
#include <thread>

#include "service/job_store.h"
#include "service/pq_api.h"

namespace skillrt::service {
namespace {

// The libpq functions. REQUIRES: LoadPq() has succeeded (OpenPostgresJobStore checks it
// first; no connection or result exists before).
const PqApi& Pq() { return **LoadPq(); }

using Clock = std::chrono::system_clock;

constexpr const char* kChannel = "skillrt_jobs";
constexpr int64_t kMigrationLock = 0x736b696c6c7274;  // "skillrt": one advisory lock id.

// Each step moves the schema from version i to i + 1; a step is never edited once released.
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
CREATE TABLE skillrt_jobs (
  seq BIGSERIAL PRIMARY KEY,
  id TEXT NOT NULL UNIQUE,
  skill TEXT NOT NULL,
  input TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  priority INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  backoff_ms BIGINT NOT NULL,
  deadline_ms BIGINT,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_id TEXT NOT NULL DEFAULT '',
  worker TEXT NOT NULL DEFAULT '',
  outcome TEXT,
  events TEXT,
  error TEXT NOT NULL DEFAULT '',
  cancel_requested BOOLEAN NOT NULL DEFAULT false,
  created_ms BIGINT NOT NULL,
  updated_ms BIGINT NOT NULL,
  not_before_ms BIGINT NOT NULL,
  lease_until_ms BIGINT
);
CREATE INDEX skillrt_jobs_ready ON skillrt_jobs (priority DESC, seq) WHERE state = 'queued';
CREATE INDEX skillrt_jobs_running ON skillrt_jobs (lease_until_ms) WHERE state = 'running';
)sql",
};

// The database's clock in milliseconds since the epoch.
constexpr const char* kNow = "(extract(epoch from clock_timestamp()) * 1000)::bigint";

constexpr const char* kColumns =
    "id, skill, input, idempotency_key, priority, max_attempts, backoff_ms, deadline_ms, state, "
    "attempts, run_id, worker, outcome, events, error, cancel_requested, created_ms, "
    "updated_ms, not_before_ms, lease_until_ms";

Clock::time_point FromMs(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

// A query result, cleared on destruction.
class PgResult {
 public:
  explicit PgResult(PGresult* r) : r_(r) {}
  ~PgResult() { Pq().PQclear(r_); }
  PgResult(const PgResult&) = delete;
  PgResult& operator=(const PgResult&) = delete;
  PgResult(PgResult&& o) noexcept : r_(std::exchange(o.r_, nullptr)) {}

  bool ok() const {
    const auto s = Pq().PQresultStatus(r_);
    return s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK;
  }
  int rows() const { return Pq().PQntuples(r_); }
  std::string Text(int row, int col) const { return Pq().PQgetvalue(r_, row, col); }
  bool IsNull(int row, int col) const { return Pq().PQgetisnull(r_, row, col) != 0; }
  int64_t Int(int row, int col) const { return std::stoll(Text(row, col)); }
  std::string error() const { return Pq().PQresultErrorMessage(r_); }
  int64_t affected() const {
    const char* n = Pq().PQcmdTuples(r_);
    return n && *n ? std::stoll(n) : 0;
  }

 private:
  PGresult* r_;
};

Job JobFromRow(const PgResult& r, int row) {
  Job job;
  job.id = r.Text(row, 0);
  job.spec.skill = r.Text(row, 1);
  job.spec.input = nlohmann::json::parse(r.Text(row, 2), nullptr, false);
  job.spec.idempotency_key = r.IsNull(row, 3) ? "" : r.Text(row, 3);
  job.spec.priority = static_cast<int>(r.Int(row, 4));
  job.spec.max_attempts = static_cast<int>(r.Int(row, 5));
  job.spec.backoff = std::chrono::milliseconds(r.Int(row, 6));
  if (!r.IsNull(row, 7)) job.spec.deadline = FromMs(r.Int(row, 7));
  job.state = ParseJobState(r.Text(row, 8)).value_or(JobState::kQueued);
  job.attempts = static_cast<int>(r.Int(row, 9));
  job.run_id = r.Text(row, 10);
  job.worker = r.Text(row, 11);
  if (!r.IsNull(row, 12)) job.outcome = nlohmann::json::parse(r.Text(row, 12), nullptr, false);
  if (!r.IsNull(row, 13)) job.events = nlohmann::json::parse(r.Text(row, 13), nullptr, false);
  job.error = r.Text(row, 14);
  job.cancel_requested = r.Text(row, 15) == "t";
  job.created = FromMs(r.Int(row, 16));
  job.updated = FromMs(r.Int(row, 17));
  job.not_before = FromMs(r.Int(row, 18));
  if (!r.IsNull(row, 19)) job.lease_until = FromMs(r.Int(row, 19));
  return job;
}

std::string JsonText(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// A parameter: text, or SQL NULL.
using Param = std::optional<std::string>;

class PostgresJobStore : public JobStore {
 public:
  PostgresJobStore(std::string url, PGconn* conn) : url_(std::move(url)), conn_(conn) {}
  ~PostgresJobStore() override {
    stop_listening_ = true;
    if (listener_.joinable()) listener_.join();
    Pq().PQfinish(conn_);
  }

  Result<void> Migrate() {
    std::lock_guard lock(mu_);
    if (auto ok = Exec("SET client_min_messages = warning"); !ok) return ok;
    if (auto ok = Exec("BEGIN"); !ok) return ok;
    auto step = Exec("SELECT pg_advisory_xact_lock(" + std::to_string(kMigrationLock) + ")");
    if (step) step = Exec("CREATE TABLE IF NOT EXISTS skillrt_schema (version INTEGER NOT NULL)");
    int64_t have = 0;
    if (step) {
      auto r = Query("SELECT COALESCE(MAX(version), 0) FROM skillrt_schema", {});
      if (!r) step = std::unexpected(r.error());
      else have = r->Int(0, 0);
    }
    if (step && have > static_cast<int64_t>(kMigrations.size())) {
      step = Fail(ErrorCode::kParse, "job store schema version " + std::to_string(have) +
                                         " is newer than this skillrt knows (" +
                                         std::to_string(kMigrations.size()) + ")");
    }
    for (size_t v = static_cast<size_t>(have); step && v < kMigrations.size(); ++v) {
      step = Exec(kMigrations[v]);
      if (step) step = Exec("DELETE FROM skillrt_schema");
      if (step) step = Exec("INSERT INTO skillrt_schema VALUES (" + std::to_string(v + 1) + ")");
    }
    if (!step) {
      (void)Exec("ROLLBACK");
      return step;
    }
    return Exec("COMMIT");
  }

  // Listens on its own connection and calls the wake function for every notification.
  void OnReady(std::function<void()> wake) override {
    {
      std::lock_guard lock(wake_mu_);
      wake_ = std::move(wake);
      if (!wake_ || listener_.joinable()) return;
    }
    listener_ = std::thread([this] {
      PGconn* listen = nullptr;
      while (!stop_listening_) {
        if (!listen || Pq().PQstatus(listen) != CONNECTION_OK) {
          Pq().PQfinish(listen);
          listen = Pq().PQconnectdb(url_.c_str());
          if (Pq().PQstatus(listen) != CONNECTION_OK) {
            std::this_thread::sleep_for(std::chrono::milliseconds(500));
            continue;
          }
          Pq().PQclear(Pq().PQexec(listen, (std::string("LISTEN ") + kChannel).c_str()));
        }
        pollfd p{.fd = Pq().PQsocket(listen), .events = POLLIN, .revents = 0};
        if (::poll(&p, 1, 200) <= 0) continue;
        Pq().PQconsumeInput(listen);
        while (PGnotify* n = Pq().PQnotifies(listen)) {
          Pq().PQfreemem(n);
          std::lock_guard lock(wake_mu_);
          if (wake_) wake_();
        }
      }
      Pq().PQfinish(listen);
    });
  }

  Result<Job> Enqueue(const JobSpec& spec, bool* created) override {
    if (auto ok = CheckJobSpec(spec); !ok) return std::unexpected(ok.error());
    auto id = NewJobId();
    if (!id) return std::unexpected(id.error());
    std::lock_guard lock(mu_);
    // ON CONFLICT DO NOTHING: of two clients enqueuing one key at once, one inserts and the
    // other reads its job.
    auto r = Query(std::string("INSERT INTO skillrt_jobs (id, skill, input, idempotency_key, "
                               "priority, max_attempts, backoff_ms, deadline_ms, state, "
                               "created_ms, updated_ms, not_before_ms) SELECT $1, $2, $3, $4, "
                               "$5::int, $6::int, $7::bigint, $8::bigint, 'queued', n, n, n FROM "
                               "(SELECT ") + kNow + " AS n) t ON CONFLICT (idempotency_key) DO "
                               "NOTHING RETURNING " + kColumns,
                   {*id, spec.skill, JsonText(spec.input),
                    spec.idempotency_key.empty() ? Param() : Param(spec.idempotency_key),
                    std::to_string(spec.priority), std::to_string(spec.max_attempts),
                    std::to_string(spec.backoff.count()),
                    spec.deadline ? Param(std::to_string(
                                        std::chrono::duration_cast<std::chrono::milliseconds>(
                                            spec.deadline->time_since_epoch()).count()))
                                  : Param()});
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 1) {
      if (created) *created = true;
      (void)Notify();
      return JobFromRow(*r, 0);
    }
    if (created) *created = false;
    auto existing = Query(std::string("SELECT ") + kColumns +
                              " FROM skillrt_jobs WHERE idempotency_key = $1",
                          {spec.idempotency_key});
    if (!existing) return std::unexpected(existing.error());
    if (existing->rows() != 1) return Fail(ErrorCode::kInternal, "idempotency key vanished");
    return JobFromRow(*existing, 0);
  }

  Result<std::optional<Job>> Get(std::string_view id) override {
    std::lock_guard lock(mu_);
    return One(std::string("SELECT ") + kColumns + " FROM skillrt_jobs WHERE id = $1",
               {std::string(id)});
  }

  Result<std::vector<Job>> List(std::optional<JobState> state, size_t limit) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kColumns + " FROM skillrt_jobs";
    std::vector<Param> params = {std::to_string(limit)};
    if (state) {
      sql += " WHERE state = $2";
      params.emplace_back(std::string(JobStateName(*state)));
    }
    sql += " ORDER BY seq DESC LIMIT $1::bigint";
    auto r = Query(sql, params);
    if (!r) return std::unexpected(r.error());
    std::vector<Job> jobs;
    for (int i = 0; i < r->rows(); ++i) {
      jobs.push_back(JobFromRow(*r, i));
      jobs.back().events = nullptr;
    }
    return jobs;
  }

  Result<std::optional<Job>> Claim(std::string_view worker, std::chrono::milliseconds lease,
                                   const std::vector<std::string>& skip_skills) override {
    std::lock_guard lock(mu_);
    auto expire = Query(std::string("UPDATE skillrt_jobs SET state = 'dead', error = 'deadline "
                                    "passed before the job started', updated_ms = ") + kNow +
                            " WHERE state = 'queued' AND deadline_ms IS NOT NULL AND "
                            "deadline_ms < " + kNow,
                        {});
    if (!expire) return std::unexpected(expire.error());
    std::string skip = "{";
    for (size_t i = 0; i < skip_skills.size(); ++i) {
      if (i) skip += ",";
      skip += "\"";
      for (char c : skip_skills[i]) {
        if (c == '"' || c == '\\') skip += '\\';
        skip += c;
      }
      skip += "\"";
    }
    skip += "}";
    return One(std::string("WITH now AS (SELECT ") + kNow + " AS n), picked AS (SELECT id FROM "
               "skillrt_jobs, now WHERE state = 'queued' AND not_before_ms <= now.n AND NOT "
               "(skill = ANY($2::text[])) ORDER BY priority DESC, seq LIMIT 1 FOR UPDATE OF "
               "skillrt_jobs SKIP LOCKED) UPDATE skillrt_jobs j SET state = 'running', attempts "
               "= j.attempts + 1, run_id = j.id || '-' || (j.attempts + 1), worker = $1, "
               "lease_until_ms = now.n + $3::bigint, updated_ms = now.n FROM picked, now WHERE "
               "j.id = picked.id RETURNING " + Prefixed("j."),
               {std::string(worker), skip, std::to_string(lease.count())});
  }

  Result<bool> Heartbeat(std::string_view id, std::string_view worker,
                         std::chrono::milliseconds lease) override {
    std::lock_guard lock(mu_);
    auto r = Query(std::string("UPDATE skillrt_jobs SET lease_until_ms = ") + kNow +
                       " + $3::bigint WHERE id = $1 AND worker = $2 AND state = 'running' "
                       "RETURNING cancel_requested",
                   {std::string(id), std::string(worker), std::to_string(lease.count())});
    if (!r) return std::unexpected(r.error());
    return r->rows() == 1 && r->Text(0, 0) != "t";
  }

  Result<bool> Finish(std::string_view id, std::string_view worker,
                      const AttemptResult& result) override {
    std::lock_guard lock(mu_);
    // One statement decides the next state from the row as it is: requeue with backoff,
    // dead when attempts are spent, cancelled when a cancel was asked.
    const bool requeue = result.state == JobState::kQueued;
    const bool uncounted = requeue && !result.count_attempt;  // A stopping worker's hand-back.
    const std::string next = uncounted ? "CASE WHEN cancel_requested THEN 'cancelled' ELSE "
                                         "'queued' END"
        : requeue
        ? "CASE WHEN cancel_requested THEN 'cancelled' WHEN attempts >= max_attempts THEN "
          "'dead' ELSE 'queued' END"
        : "'" + std::string(JobStateName(result.state)) + "'";
    const std::string error = requeue && !uncounted
        ? "CASE WHEN attempts >= max_attempts THEN 'attempts spent (' || attempts || '); last: ' "
          "|| $5 ELSE $5 END"
        : "$5";
    auto r = Query("UPDATE skillrt_jobs SET state = " + next + ", outcome = $3, events = $4, "
                   "error = " + error + ", worker = '', lease_until_ms = NULL, updated_ms = " +
                   kNow + ", not_before_ms = " + kNow + " + CASE WHEN $6 THEN LEAST(backoff_ms "
                   "* (1::bigint << LEAST(attempts - 1, 20)), 3600000) ELSE 0 END, attempts = "
                   "attempts - " + (uncounted ? "1" : "0") + " WHERE id = $1 AND worker = $2 AND "
                   "state = 'running' RETURNING state",
                   {std::string(id), std::string(worker),
                    result.outcome.is_null() ? Param() : Param(JsonText(result.outcome)),
                    result.events.is_null() ? Param() : Param(JsonText(result.events)),
                    result.error, requeue && !uncounted ? "true" : "false"});
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 1 && r->Text(0, 0) == "queued") (void)Notify();
    return r->rows() == 1;
  }

  Result<Job> Cancel(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto r = One(std::string("UPDATE skillrt_jobs SET cancel_requested = true, state = CASE WHEN "
                             "state = 'queued' THEN 'cancelled' ELSE state END, updated_ms = ") +
                     kNow + " WHERE id = $1 AND state IN ('queued', 'running') RETURNING " +
                     kColumns,
                 {std::string(id)});
    if (!r) return std::unexpected(r.error());
    if (*r) return std::move(**r);
    return Missing(id, "has already ended");
  }

  Result<Job> Retry(std::string_view id) override {
    std::lock_guard lock(mu_);
    auto r = One(std::string("UPDATE skillrt_jobs SET state = 'queued', attempts = 0, "
                             "cancel_requested = false, error = '', deadline_ms = NULL, "
                             "updated_ms = ") + kNow + ", not_before_ms = " + kNow +
                     " WHERE id = $1 AND state IN ('failed', 'cancelled', 'dead') RETURNING " +
                     kColumns,
                 {std::string(id)});
    if (!r) return std::unexpected(r.error());
    if (*r) {
      (void)Notify();
      return std::move(**r);
    }
    return Missing(id, "is not failed, cancelled or dead: only those are retried");
  }

  Result<size_t> Reclaim(bool all_running) override {
    std::lock_guard lock(mu_);
    const std::string lost = all_running ? "state = 'running'"
                                         : std::string("state = 'running' AND lease_until_ms < ") + kNow;
    auto r = Query("UPDATE skillrt_jobs SET state = CASE WHEN cancel_requested THEN 'cancelled' "
                   "WHEN attempts >= max_attempts THEN 'dead' ELSE 'queued' END, error = CASE "
                   "WHEN attempts >= max_attempts THEN 'worker lost; attempts spent' ELSE "
                   "'worker lost' END, worker = '', lease_until_ms = NULL, updated_ms = " +
                       std::string(kNow) + ", not_before_ms = " + kNow + " WHERE " + lost,
                   {});
    if (!r) return std::unexpected(r.error());
    if (r->affected() > 0) (void)Notify();
    return static_cast<size_t>(r->affected());
  }

  Result<QueueDepth> Depth() override {
    std::lock_guard lock(mu_);
    auto r = Query(std::string("SELECT state, COUNT(*), COUNT(*) FILTER (WHERE state = 'queued' "
                               "AND not_before_ms <= ") + kNow + ") FROM skillrt_jobs GROUP BY state",
                   {});
    if (!r) return std::unexpected(r.error());
    QueueDepth depth;
    for (int i = 0; i < r->rows(); ++i) {
      if (auto s = ParseJobState(r->Text(i, 0))) depth.by_state[*s] = static_cast<uint64_t>(r->Int(i, 1));
      depth.ready += static_cast<uint64_t>(r->Int(i, 2));
    }
    return depth;
  }

 private:
  static std::string Prefixed(const std::string& prefix) {
    std::string out;
    std::string_view cols = kColumns;
    size_t start = 0;
    while (start < cols.size()) {
      size_t comma = cols.find(',', start);
      std::string_view col = cols.substr(start, comma == std::string_view::npos ? cols.npos : comma - start);
      while (!col.empty() && col.front() == ' ') col.remove_prefix(1);
      if (!out.empty()) out += ", ";
      out += prefix + std::string(col);
      if (comma == std::string_view::npos) break;
      start = comma + 1;
    }
    return out;
  }

  Result<Job> Missing(std::string_view id, const std::string& why) {
    auto r = One(std::string("SELECT ") + kColumns + " FROM skillrt_jobs WHERE id = $1",
                 {std::string(id)});
    if (!r) return std::unexpected(r.error());
    if (!*r) return Fail(ErrorCode::kNotFound, "no job " + std::string(id));
    return Fail(ErrorCode::kConflict, "job " + std::string(id) + " is " +
                                          std::string(JobStateName((*r)->state)) + ": " + why);
  }

  Result<void> Notify() {
    auto r = Query(std::string("SELECT pg_notify('") + kChannel + "', '')", {});
    if (!r) return std::unexpected(r.error());
    return {};
  }

  // Reconnects a connection the server dropped (a restart), once per call.
  bool EnsureConnected() {
    if (Pq().PQstatus(conn_) == CONNECTION_OK) return true;
    Pq().PQreset(conn_);
    return Pq().PQstatus(conn_) == CONNECTION_OK;
  }

  // Statements without parameters, several allowed (PQexec's simple query protocol).
  Result<void> Exec(const std::string& sql) {
    if (!EnsureConnected()) {
      return Fail(ErrorCode::kIo, std::string("job store: ") + Pq().PQerrorMessage(conn_));
    }
    PgResult r(Pq().PQexec(conn_, sql.c_str()));
    if (!r.ok()) return Fail(ErrorCode::kIo, "job store: " + r.error());
    return {};
  }

  // REQUIRES: mu_ held.
  Result<PgResult> Query(const std::string& sql, const std::vector<Param>& params) {
    for (int attempt = 0; attempt < 2; ++attempt) {
      if (!EnsureConnected()) break;
      std::vector<const char*> values;
      for (const Param& p : params) values.push_back(p ? p->c_str() : nullptr);
      PgResult r(Pq().PQexecParams(conn_, sql.c_str(), static_cast<int>(values.size()), nullptr,
                              values.data(), nullptr, nullptr, 0));
      if (r.ok()) return r;
      if (Pq().PQstatus(conn_) == CONNECTION_OK) {
        return Fail(ErrorCode::kIo, "job store: " + r.error());
      }
    }
    return Fail(ErrorCode::kIo, std::string("job store: ") + Pq().PQerrorMessage(conn_));
  }

  Result<std::optional<Job>> One(const std::string& sql, const std::vector<Param>& params) {
    auto r = Query(sql, params);
    if (!r) return std::unexpected(r.error());
    if (r->rows() == 0) return std::optional<Job>();
    return std::optional<Job>(JobFromRow(*r, 0));
  }

  const std::string url_;
  PGconn* conn_;
  std::mutex mu_;
  std::thread listener_;
  std::atomic<bool> stop_listening_{false};
  std::mutex wake_mu_;
  std::function<void()> wake_;  // Guarded by wake_mu_.
};

}  // namespace

Result<std::unique_ptr<JobStore>> OpenPostgresJobStore(const std::string& url) {
  if (auto pq = LoadPq(); !pq) return Fail(ErrorCode::kUnsupported,
                                           "job store: " + pq.error().message);
  PGconn* conn = Pq().PQconnectdb(url.c_str());
  if (Pq().PQstatus(conn) != CONNECTION_OK) {
    std::string message = Pq().PQerrorMessage(conn);
    Pq().PQfinish(conn);
    while (!message.empty() && (message.back() == '\n' || message.back() == ' ')) message.pop_back();
    return Fail(ErrorCode::kIo, "job store: cannot connect: " + message);
  }
  auto store = std::make_unique<PostgresJobStore>(url, conn);
  if (auto ok = store->Migrate(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<JobStore>(std::move(store));
}

}  // namespace skillrt::service
