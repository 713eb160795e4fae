// The one-machine job store: a SQLite database in WAL mode (job_store.h). One connection,
// used under a mutex: SQLite serialises writers anyway, and claims are short. The schema is
// versioned with `PRAGMA user_version` and migrated forward on open.
#include <fcntl.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <mutex>

#include "service/job_store.h"
#include "skillrt/sqlite_library.h"

namespace skillrt::service {
namespace {

using Clock = std::chrono::system_clock;

int64_t Ms(Clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
}
Clock::time_point FromMs(int64_t ms) { return Clock::time_point(std::chrono::milliseconds(ms)); }

// Each step moves the schema from version i to i + 1; a step is never edited once released.
constexpr std::array<const char*, 1> kMigrations = {
    R"sql(
CREATE TABLE jobs (
  seq INTEGER PRIMARY KEY AUTOINCREMENT,
  id TEXT NOT NULL UNIQUE,
  skill TEXT NOT NULL,
  input TEXT NOT NULL,
  idempotency_key TEXT UNIQUE,
  priority INTEGER NOT NULL,
  max_attempts INTEGER NOT NULL,
  backoff_ms INTEGER NOT NULL,
  deadline_ms INTEGER,
  state TEXT NOT NULL,
  attempts INTEGER NOT NULL DEFAULT 0,
  run_id TEXT NOT NULL DEFAULT '',
  worker TEXT NOT NULL DEFAULT '',
  outcome TEXT,
  events TEXT,
  error TEXT NOT NULL DEFAULT '',
  cancel_requested INTEGER NOT NULL DEFAULT 0,
  created_ms INTEGER NOT NULL,
  updated_ms INTEGER NOT NULL,
  not_before_ms INTEGER NOT NULL,
  lease_until_ms INTEGER
);
CREATE INDEX jobs_ready ON jobs(state, priority DESC, seq);
)sql",
};

constexpr const char* kColumns =
    "id, skill, input, idempotency_key, priority, max_attempts, backoff_ms, deadline_ms, state, "
    "attempts, run_id, worker, outcome, events, error, cancel_requested, created_ms, "
    "updated_ms, not_before_ms, lease_until_ms";

// A prepared statement, finalized on destruction.
class Statement {
 public:
  Statement(sqlite3* db, const char* sql) : db_(db) {
    rc_ = sqlite3_prepare_v2(db, sql, -1, &stmt_, nullptr);
  }
  ~Statement() { sqlite3_finalize(stmt_); }
  Statement(const Statement&) = delete;
  Statement& operator=(const Statement&) = delete;

  bool ok() const { return rc_ == SQLITE_OK; }
  Statement& Bind(int i, std::string_view text) {
    sqlite3_bind_text(stmt_, i, text.data(), static_cast<int>(text.size()), SQLITE_TRANSIENT);
    return *this;
  }
  Statement& Bind(int i, int64_t value) {
    sqlite3_bind_int64(stmt_, i, value);
    return *this;
  }
  Statement& BindNull(int i) {
    sqlite3_bind_null(stmt_, i);
    return *this;
  }
  // SQLITE_ROW, SQLITE_DONE or an error code.
  int Step() { return sqlite3_step(stmt_); }
  std::string Text(int col) const {
    const unsigned char* p = sqlite3_column_text(stmt_, col);
    return p ? std::string(reinterpret_cast<const char*>(p),
                           static_cast<size_t>(sqlite3_column_bytes(stmt_, col)))
             : std::string();
  }
  int64_t Int(int col) const { return sqlite3_column_int64(stmt_, col); }
  bool IsNull(int col) const { return sqlite3_column_type(stmt_, col) == SQLITE_NULL; }

 private:
  sqlite3* db_;
  sqlite3_stmt* stmt_ = nullptr;
  int rc_ = SQLITE_ERROR;
};

Job JobFromRow(const Statement& s) {
  Job job;
  job.id = s.Text(0);
  job.spec.skill = s.Text(1);
  job.spec.input = nlohmann::json::parse(s.Text(2), nullptr, false);
  job.spec.idempotency_key = s.Text(3);
  job.spec.priority = static_cast<int>(s.Int(4));
  job.spec.max_attempts = static_cast<int>(s.Int(5));
  job.spec.backoff = std::chrono::milliseconds(s.Int(6));
  if (!s.IsNull(7)) job.spec.deadline = FromMs(s.Int(7));
  job.state = ParseJobState(s.Text(8)).value_or(JobState::kQueued);
  job.attempts = static_cast<int>(s.Int(9));
  job.run_id = s.Text(10);
  job.worker = s.Text(11);
  if (!s.IsNull(12)) job.outcome = nlohmann::json::parse(s.Text(12), nullptr, false);
  if (!s.IsNull(13)) job.events = nlohmann::json::parse(s.Text(13), nullptr, false);
  job.error = s.Text(14);
  job.cancel_requested = s.Int(15) != 0;
  job.created = FromMs(s.Int(16));
  job.updated = FromMs(s.Int(17));
  job.not_before = FromMs(s.Int(18));
  if (!s.IsNull(19)) job.lease_until = FromMs(s.Int(19));
  return job;
}

class SqliteJobStore : public JobStore {
 public:
  explicit SqliteJobStore(sqlite3* db) : db_(db) {}
  ~SqliteJobStore() override { sqlite3_close_v2(db_); }

  Result<void> Migrate() {
    std::lock_guard lock(mu_);
    if (auto ok = Exec("PRAGMA journal_mode=WAL"); !ok) return ok;
    // FULL: a job acknowledged to a client survives a power loss, not only a crash.
    if (auto ok = Exec("PRAGMA synchronous=FULL"); !ok) return ok;
    Statement version(db_, "PRAGMA user_version");
    if (version.Step() != SQLITE_ROW) return DbError("PRAGMA user_version");
    const int64_t have = version.Int(0);
    if (have > static_cast<int64_t>(kMigrations.size())) {
      return Fail(ErrorCode::kParse, "job store schema version " + std::to_string(have) +
                                         " is newer than this skillrt knows (" +
                                         std::to_string(kMigrations.size()) + ")");
    }
    for (size_t v = static_cast<size_t>(have); v < kMigrations.size(); ++v) {
      if (auto ok = Exec("BEGIN IMMEDIATE"); !ok) return ok;
      auto step = Exec(kMigrations[v]);
      if (step) step = Exec("PRAGMA user_version = " + std::to_string(v + 1));
      if (!step) {
        (void)Exec("ROLLBACK");
        return step;
      }
      if (auto ok = Exec("COMMIT"); !ok) return ok;
    }
    return {};
  }

  Result<Job> Enqueue(const JobSpec& spec, bool* created) override {
    if (auto ok = CheckJobSpec(spec); !ok) return std::unexpected(ok.error());
    auto id = NewJobId();
    if (!id) return std::unexpected(id.error());
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    if (!spec.idempotency_key.empty()) {
      auto existing = SelectOne("idempotency_key = ?1", spec.idempotency_key);
      if (!existing) return std::unexpected(existing.error());
      if (*existing) {
        if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
        if (created) *created = false;
        return std::move(**existing);
      }
    }
    const int64_t now = Ms(Clock::now());
    Statement insert(db_,
                     "INSERT INTO jobs (id, skill, input, idempotency_key, priority, max_attempts, "
                     "backoff_ms, deadline_ms, state, created_ms, updated_ms, not_before_ms) "
                     "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, 'queued', ?9, ?9, ?9)");
    insert.Bind(1, *id).Bind(2, spec.skill).Bind(3, spec.input.dump());
    if (spec.idempotency_key.empty()) insert.BindNull(4); else insert.Bind(4, spec.idempotency_key);
    insert.Bind(5, int64_t{spec.priority}).Bind(6, int64_t{spec.max_attempts})
        .Bind(7, static_cast<int64_t>(spec.backoff.count()));
    if (spec.deadline) insert.Bind(8, Ms(*spec.deadline)); else insert.BindNull(8);
    insert.Bind(9, now);
    if (insert.Step() != SQLITE_DONE) return DbError("insert job");
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    if (created) *created = true;
    auto job = SelectOne("id = ?1", *id);
    if (!job) return std::unexpected(job.error());
    if (!*job) return Fail(ErrorCode::kInternal, "job " + *id + " vanished after insert");
    return std::move(**job);
  }

  Result<std::optional<Job>> Get(std::string_view id) override {
    std::lock_guard lock(mu_);
    return SelectOne("id = ?1", id);
  }

  Result<std::vector<Job>> List(std::optional<JobState> state, size_t limit) override {
    std::lock_guard lock(mu_);
    std::string sql = std::string("SELECT ") + kColumns + " FROM jobs";
    if (state) sql += " WHERE state = ?1";
    sql += " ORDER BY seq DESC LIMIT ?2";
    Statement s(db_, sql.c_str());
    if (!s.ok()) return DbError("list jobs");
    if (state) s.Bind(1, JobStateName(*state));
    s.Bind(2, static_cast<int64_t>(limit));
    std::vector<Job> jobs;
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      jobs.push_back(JobFromRow(s));
      jobs.back().events = nullptr;
    }
    if (rc != SQLITE_DONE) return DbError("list jobs");
    return jobs;
  }

  Result<std::optional<Job>> Claim(std::string_view worker, std::chrono::milliseconds lease,
                                   const std::vector<std::string>& skip_skills) override {
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    const int64_t now = Ms(Clock::now());
    Statement expire(db_,
                     "UPDATE jobs SET state = 'dead', error = 'deadline passed before the job "
                     "started', updated_ms = ?1 WHERE state = 'queued' AND deadline_ms IS NOT "
                     "NULL AND deadline_ms < ?1");
    expire.Bind(1, now);
    if (expire.Step() != SQLITE_DONE) return DbError("expire jobs");
    std::string sql = std::string("SELECT ") + kColumns +
                      " FROM jobs WHERE state = 'queued' AND not_before_ms <= ?1";
    if (!skip_skills.empty()) {
      sql += " AND skill NOT IN (";
      for (size_t i = 0; i < skip_skills.size(); ++i) {
        sql += (i ? ", ?" : "?") + std::to_string(i + 2);
      }
      sql += ")";
    }
    sql += " ORDER BY priority DESC, seq LIMIT 1";
    Statement pick(db_, sql.c_str());
    if (!pick.ok()) return DbError("claim job");
    pick.Bind(1, now);
    for (size_t i = 0; i < skip_skills.size(); ++i) pick.Bind(static_cast<int>(i + 2), skip_skills[i]);
    int rc = pick.Step();
    if (rc == SQLITE_DONE) {
      if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
      return std::optional<Job>();
    }
    if (rc != SQLITE_ROW) return DbError("claim job");
    Job job = JobFromRow(pick);
    job.state = JobState::kRunning;
    job.attempts += 1;
    job.run_id = job.id + "-" + std::to_string(job.attempts);
    job.worker = std::string(worker);
    job.lease_until = FromMs(now + lease.count());
    Statement update(db_,
                     "UPDATE jobs SET state = 'running', attempts = ?2, run_id = ?3, worker = ?4, "
                     "lease_until_ms = ?5, updated_ms = ?6 WHERE id = ?1");
    update.Bind(1, job.id).Bind(2, int64_t{job.attempts}).Bind(3, job.run_id).Bind(4, worker)
        .Bind(5, now + lease.count()).Bind(6, now);
    if (update.Step() != SQLITE_DONE) return DbError("claim job");
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    return std::optional<Job>(std::move(job));
  }

  Result<bool> Heartbeat(std::string_view id, std::string_view worker,
                         std::chrono::milliseconds lease) override {
    std::lock_guard lock(mu_);
    const int64_t now = Ms(Clock::now());
    Statement s(db_,
                "UPDATE jobs SET lease_until_ms = ?3 WHERE id = ?1 AND worker = ?2 AND state = "
                "'running' RETURNING cancel_requested");
    s.Bind(1, id).Bind(2, worker).Bind(3, now + lease.count());
    int rc = s.Step();
    if (rc == SQLITE_DONE) return false;
    if (rc != SQLITE_ROW) return DbError("heartbeat");
    const bool cancel = s.Int(0) != 0;
    if (s.Step() != SQLITE_DONE) return DbError("heartbeat");
    return !cancel;
  }

  Result<bool> Finish(std::string_view id, std::string_view worker,
                      const AttemptResult& result) override {
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    auto current = SelectOne("id = ?1 AND worker = ?2 AND state = 'running'", id, worker);
    if (!current) return std::unexpected(current.error());
    if (!*current) return false;
    const Job& job = **current;
    const int64_t now = Ms(Clock::now());
    JobState next = result.state;
    int64_t not_before = now;
    std::string error = result.error;
    int attempts = job.attempts;
    if (next == JobState::kQueued && !result.count_attempt) {
      attempts -= 1;  // Handed back by a stopping worker: run it again, uncounted.
      if (job.cancel_requested) next = JobState::kCancelled;
    } else if (next == JobState::kQueued) {
      if (job.cancel_requested) {
        next = JobState::kCancelled;
      } else if (job.attempts >= job.spec.max_attempts) {
        next = JobState::kDead;
        error = "attempts spent (" + std::to_string(job.attempts) + "); last: " + error;
      } else {
        not_before = now + BackoffFor(job.spec, job.attempts).count();
      }
    }
    Statement s(db_,
                "UPDATE jobs SET state = ?2, outcome = ?3, events = ?4, error = ?5, worker = '', "
                "lease_until_ms = NULL, updated_ms = ?6, not_before_ms = ?7, attempts = ?8 "
                "WHERE id = ?1");
    s.Bind(1, id).Bind(2, JobStateName(next));
    if (result.outcome.is_null()) s.BindNull(3); else s.Bind(3, result.outcome.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    if (result.events.is_null()) s.BindNull(4); else s.Bind(4, result.events.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
    s.Bind(5, error).Bind(6, now).Bind(7, not_before).Bind(8, int64_t{attempts});
    if (s.Step() != SQLITE_DONE) return DbError("finish job");
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    return true;
  }

  Result<Job> Cancel(std::string_view id) override {
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    auto job = SelectOne("id = ?1", id);
    if (!job) return std::unexpected(job.error());
    if (!*job) return Fail(ErrorCode::kNotFound, "no job " + std::string(id));
    if (IsTerminal((*job)->state)) {
      return Fail(ErrorCode::kConflict, "job " + std::string(id) + " has already ended (" +
                                            std::string(JobStateName((*job)->state)) + ")");
    }
    const char* sql = (*job)->state == JobState::kQueued
                          ? "UPDATE jobs SET state = 'cancelled', cancel_requested = 1, "
                            "updated_ms = ?2 WHERE id = ?1"
                          : "UPDATE jobs SET cancel_requested = 1, updated_ms = ?2 WHERE id = ?1";
    Statement s(db_, sql);
    s.Bind(1, id).Bind(2, Ms(Clock::now()));
    if (s.Step() != SQLITE_DONE) return DbError("cancel job");
    auto after = SelectOne("id = ?1", id);
    if (!after) return std::unexpected(after.error());
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    return std::move(**after);
  }

  Result<Job> Retry(std::string_view id) override {
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    auto job = SelectOne("id = ?1", id);
    if (!job) return std::unexpected(job.error());
    if (!*job) return Fail(ErrorCode::kNotFound, "no job " + std::string(id));
    const JobState state = (*job)->state;
    if (!IsTerminal(state) || state == JobState::kSucceeded) {
      return Fail(ErrorCode::kConflict, "job " + std::string(id) + " is " +
                                            std::string(JobStateName(state)) +
                                            ": only failed, cancelled or dead jobs are retried");
    }
    Statement s(db_,
                "UPDATE jobs SET state = 'queued', attempts = 0, cancel_requested = 0, error = '', "
                "deadline_ms = NULL, updated_ms = ?2, not_before_ms = ?2 WHERE id = ?1");
    s.Bind(1, id).Bind(2, Ms(Clock::now()));
    if (s.Step() != SQLITE_DONE) return DbError("retry job");
    auto after = SelectOne("id = ?1", id);
    if (!after) return std::unexpected(after.error());
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    return std::move(**after);
  }

  Result<size_t> Reclaim(bool all_running) override {
    std::lock_guard lock(mu_);
    Transaction tx(this);
    if (!tx.ok()) return std::unexpected(tx.error());
    const int64_t now = Ms(Clock::now());
    const std::string lost = all_running ? "state = 'running'"
                                         : "state = 'running' AND lease_until_ms < ?1";
    // A lost attempt counts: attempts were raised when it was claimed.
    Statement dead(db_, ("UPDATE jobs SET state = CASE WHEN cancel_requested = 1 THEN "
                         "'cancelled' ELSE 'dead' END, error = 'worker lost; attempts spent', "
                         "worker = '', lease_until_ms = NULL, updated_ms = ?1 WHERE " + lost +
                         " AND (attempts >= max_attempts OR cancel_requested = 1)").c_str());
    dead.Bind(1, now);
    if (dead.Step() != SQLITE_DONE) return DbError("reclaim jobs");
    size_t n = static_cast<size_t>(sqlite3_changes(db_));
    Statement again(db_, ("UPDATE jobs SET state = 'queued', error = 'worker lost', worker = '', "
                          "lease_until_ms = NULL, updated_ms = ?1, not_before_ms = ?1 WHERE " +
                          lost).c_str());
    again.Bind(1, now);
    if (again.Step() != SQLITE_DONE) return DbError("reclaim jobs");
    n += static_cast<size_t>(sqlite3_changes(db_));
    if (auto ok = tx.Commit(); !ok) return std::unexpected(ok.error());
    return n;
  }

  Result<QueueDepth> Depth() override {
    std::lock_guard lock(mu_);
    QueueDepth depth;
    Statement s(db_, "SELECT state, COUNT(*) FROM jobs GROUP BY state");
    int rc;
    while ((rc = s.Step()) == SQLITE_ROW) {
      if (auto state = ParseJobState(s.Text(0))) depth.by_state[*state] = static_cast<uint64_t>(s.Int(1));
    }
    if (rc != SQLITE_DONE) return DbError("count jobs");
    Statement ready(db_, "SELECT COUNT(*) FROM jobs WHERE state = 'queued' AND not_before_ms <= ?1");
    ready.Bind(1, Ms(Clock::now()));
    if (ready.Step() != SQLITE_ROW) return DbError("count jobs");
    depth.ready = static_cast<uint64_t>(ready.Int(0));
    return depth;
  }

 private:
  // BEGIN IMMEDIATE ... COMMIT, rolled back unless committed. REQUIRES: mu_ held.
  class Transaction {
   public:
    explicit Transaction(SqliteJobStore* store) : store_(store) {
      began_ = store_->Exec("BEGIN IMMEDIATE");
    }
    ~Transaction() {
      if (began_ && !done_) (void)store_->Exec("ROLLBACK");
    }
    bool ok() const { return began_.has_value(); }
    const Error& error() const { return began_.error(); }
    Result<void> Commit() {
      done_ = true;
      return store_->Exec("COMMIT");
    }

   private:
    SqliteJobStore* store_;
    Result<void> began_;
    bool done_ = false;
  };

  Result<void> Exec(const std::string& sql) {
    char* message = nullptr;
    if (sqlite3_exec(db_, sql.c_str(), nullptr, nullptr, &message) != SQLITE_OK) {
      std::string text = message ? message : sqlite3_errmsg(db_);
      sqlite3_free(message);
      return Fail(ErrorCode::kIo, "job store: " + text);
    }
    return {};
  }

  Error MakeDbError(std::string_view what) const {
    return Error::Make(ErrorCode::kIo, "job store: " + std::string(what) + ": " + sqlite3_errmsg(db_));
  }
  std::unexpected<Error> DbError(std::string_view what) const {
    return std::unexpected(MakeDbError(what));
  }

  // The job matching `where` (?1, ?2 bound to the arguments), or nullopt.
  template <typename... Args>
  Result<std::optional<Job>> SelectOne(const char* where, const Args&... args) {
    const std::string sql = std::string("SELECT ") + kColumns + " FROM jobs WHERE " + where;
    Statement s(db_, sql.c_str());
    if (!s.ok()) return DbError("select job");
    int i = 0;
    ((s.Bind(++i, std::string_view(args))), ...);
    int rc = s.Step();
    if (rc == SQLITE_DONE) return std::optional<Job>();
    if (rc != SQLITE_ROW) return DbError("select job");
    return std::optional<Job>(JobFromRow(s));
  }

  sqlite3* db_;
  std::mutex mu_;
};

}  // namespace

Result<std::unique_ptr<JobStore>> OpenSqliteJobStore(const std::filesystem::path& file) {
  std::error_code ec;
  std::filesystem::create_directories(file.parent_path(), ec);
  if (ec) return Fail(ErrorCode::kIo, "create " + file.parent_path().string() + ": " + ec.message());
  // Jobs hold inputs and outcomes: the file is the owner's alone (0600, whatever the umask).
  // SQLite gives its -wal and -shm files the database file's permissions.
  {
    const int fd = ::open(file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0) return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
    const int chmod_rc = ::fchmod(fd, 0600);
    const int chmod_errno = errno;
    ::close(fd);
    if (chmod_rc != 0) return FailErrno(ErrorCode::kIo, "fchmod(" + file.string() + ")", chmod_errno);
  }
  if (auto loaded = LoadSqlite(); !loaded) return std::unexpected(loaded.error());
  sqlite3* db = nullptr;
  const int rc = sqlite3_open_v2(file.c_str(), &db,
                                 SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE |
                                     SQLITE_OPEN_FULLMUTEX,
                                 nullptr);
  if (rc != SQLITE_OK) {
    std::string message = db ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
    sqlite3_close_v2(db);
    return Fail(ErrorCode::kIo, "open job store " + file.string() + ": " + message);
  }
  sqlite3_busy_timeout(db, 5000);
  auto store = std::make_unique<SqliteJobStore>(db);
  if (auto ok = store->Migrate(); !ok) return std::unexpected(ok.error());
  return std::unique_ptr<JobStore>(std::move(store));
}

}  // namespace skillrt::service
