// The SQLite job store: idempotent enqueue, claim order, leases, attempts, dead, cancel,
// retry, deadlines, and a schema it does not know (job_store.h).
#include <sqlite3.h>
#include <sys/stat.h>

#include <thread>

#include <gtest/gtest.h>

#include "service/job_store.h"
#include "test_util.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

class SqliteJobStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto store = OpenSqliteJobStore(tmp_.path() / "jobs.db");
    ASSERT_TRUE(store.has_value()) << store.error().ToString();
    store_ = std::move(*store);
  }

  Job Enqueue(JobSpec spec, bool* created = nullptr) {
    auto job = store_->Enqueue(spec, created);
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return job.value_or(Job{});
  }

  std::optional<Job> Claim(const std::string& worker, std::chrono::milliseconds lease = 10s,
                           const std::vector<std::string>& skip = {}) {
    auto job = store_->Claim(worker, lease, skip);
    EXPECT_TRUE(job.has_value()) << job.error().ToString();
    return job.value_or(std::nullopt);
  }

  Job Get(const std::string& id) { return **store_->Get(id); }

  testing::TempDir tmp_;
  std::unique_ptr<JobStore> store_;
};

TEST_F(SqliteJobStoreTest, IdempotencyKeyReturnsTheFirstJob) {
  bool created = false;
  Job a = Enqueue({.skill = "s", .idempotency_key = "k1"}, &created);
  EXPECT_TRUE(created);
  Job b = Enqueue({.skill = "other", .idempotency_key = "k1"}, &created);
  EXPECT_FALSE(created);
  EXPECT_EQ(a.id, b.id);
  EXPECT_EQ(b.spec.skill, "s");
  Job c = Enqueue({.skill = "s"}, &created);
  EXPECT_TRUE(created);
  EXPECT_NE(c.id, a.id);
}

TEST_F(SqliteJobStoreTest, ClaimsByPriorityThenAgeAndSkipsSkills) {
  Job low = Enqueue({.skill = "a", .priority = 0});
  Job high = Enqueue({.skill = "b", .priority = 5});
  Job low2 = Enqueue({.skill = "a", .priority = 0});
  auto first = Claim("w");
  ASSERT_TRUE(first);
  EXPECT_EQ(first->id, high.id);
  EXPECT_EQ(first->state, JobState::kRunning);
  EXPECT_EQ(first->attempts, 1);
  EXPECT_EQ(first->run_id, high.id + "-1");
  EXPECT_FALSE(Claim("w", 10s, {"a"}).has_value());  // Only `a` jobs are left.
  auto second = Claim("w");
  ASSERT_TRUE(second);
  EXPECT_EQ(second->id, low.id);
  auto third = Claim("w");
  ASSERT_TRUE(third);
  EXPECT_EQ(third->id, low2.id);
  EXPECT_FALSE(Claim("w").has_value());
}

TEST_F(SqliteJobStoreTest, FinishOnlyByTheLeaseHolder) {
  Job job = Enqueue({.skill = "s"});
  ASSERT_TRUE(Claim("w1"));
  auto other = store_->Finish(job.id, "w2", {.state = JobState::kSucceeded});
  ASSERT_TRUE(other.has_value());
  EXPECT_FALSE(*other);
  EXPECT_EQ(Get(job.id).state, JobState::kRunning);
  auto mine = store_->Finish(job.id, "w1", {.state = JobState::kSucceeded,
                                            .outcome = {{"status", "ok"}},
                                            .events = nlohmann::json::array({{{"seq", 1}}})});
  ASSERT_TRUE(mine.has_value());
  EXPECT_TRUE(*mine);
  Job done = Get(job.id);
  EXPECT_EQ(done.state, JobState::kSucceeded);
  EXPECT_EQ(done.outcome["status"], "ok");
  EXPECT_EQ(done.events.size(), 1u);
  EXPECT_TRUE(done.worker.empty());
}

TEST_F(SqliteJobStoreTest, ExpiredLeaseRequeuesThenDiesWhenAttemptsAreSpent) {
  Job job = Enqueue({.skill = "s", .max_attempts = 2, .backoff = 0ms});
  ASSERT_TRUE(Claim("dead-worker", 50ms));
  std::this_thread::sleep_for(80ms);
  auto beat = store_->Heartbeat(job.id, "dead-worker", 50ms);
  ASSERT_TRUE(beat.has_value());
  EXPECT_TRUE(*beat) << "not reclaimed yet: the lease may still be renewed";
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(*store_->Reclaim(false), 1u);
  Job again = Get(job.id);
  EXPECT_EQ(again.state, JobState::kQueued);
  EXPECT_EQ(again.attempts, 1);
  EXPECT_FALSE(*store_->Heartbeat(job.id, "dead-worker", 50ms)) << "the lease is lost";

  auto second = Claim("w2", 50ms);
  ASSERT_TRUE(second);
  EXPECT_EQ(second->attempts, 2);
  EXPECT_EQ(second->run_id, job.id + "-2");
  std::this_thread::sleep_for(80ms);
  EXPECT_EQ(*store_->Reclaim(false), 1u);
  Job dead = Get(job.id);
  EXPECT_EQ(dead.state, JobState::kDead);
  EXPECT_EQ(dead.attempts, 2);
}

TEST_F(SqliteJobStoreTest, SkillrtFailureRetriesWithBackoffThenDies) {
  Job job = Enqueue({.skill = "s", .max_attempts = 2, .backoff = 200ms});
  ASSERT_TRUE(Claim("w"));
  ASSERT_TRUE(*store_->Finish(job.id, "w", {.state = JobState::kQueued, .error = "sandbox"}));
  Job waiting = Get(job.id);
  EXPECT_EQ(waiting.state, JobState::kQueued);
  EXPECT_FALSE(Claim("w").has_value()) << "claimed inside its backoff";
  std::this_thread::sleep_for(250ms);
  ASSERT_TRUE(Claim("w"));
  ASSERT_TRUE(*store_->Finish(job.id, "w", {.state = JobState::kQueued, .error = "sandbox"}));
  Job dead = Get(job.id);
  EXPECT_EQ(dead.state, JobState::kDead);
  EXPECT_NE(dead.error.find("attempts spent"), std::string::npos) << dead.error;
}

TEST_F(SqliteJobStoreTest, HandBackByAStoppingWorkerDoesNotCountTheAttempt) {
  Job job = Enqueue({.skill = "s", .max_attempts = 1, .backoff = 10s});
  ASSERT_TRUE(Claim("w"));
  ASSERT_TRUE(*store_->Finish(job.id, "w", {.state = JobState::kQueued, .error = "stopping",
                                            .count_attempt = false}));
  Job back = Get(job.id);
  EXPECT_EQ(back.state, JobState::kQueued) << "not dead: the one attempt was not used";
  EXPECT_EQ(back.attempts, 0);
  auto again = Claim("w2");
  ASSERT_TRUE(again) << "no backoff after a hand-back";
  EXPECT_EQ(again->attempts, 1);
}

TEST_F(SqliteJobStoreTest, CancelQueuedAtOnceRunningAtHeartbeatAndRetry) {
  Job queued = Enqueue({.skill = "s"});
  Job running = Enqueue({.skill = "s"});
  ASSERT_TRUE(Claim("w"));  // `queued` is first in line.
  auto c1 = store_->Cancel(running.id);
  ASSERT_TRUE(c1.has_value());
  EXPECT_EQ(c1->state, JobState::kCancelled);
  auto c2 = store_->Cancel(queued.id);
  ASSERT_TRUE(c2.has_value());
  EXPECT_EQ(c2->state, JobState::kRunning);
  EXPECT_TRUE(c2->cancel_requested);
  EXPECT_FALSE(*store_->Heartbeat(queued.id, "w", 10s)) << "the worker must stop";
  ASSERT_TRUE(*store_->Finish(queued.id, "w", {.state = JobState::kCancelled}));
  EXPECT_EQ(store_->Cancel(queued.id).error().code, ErrorCode::kConflict);

  auto retried = store_->Retry(running.id);
  ASSERT_TRUE(retried.has_value());
  EXPECT_EQ(retried->state, JobState::kQueued);
  EXPECT_EQ(retried->attempts, 0);
  EXPECT_FALSE(retried->cancel_requested);
  EXPECT_EQ(store_->Retry(running.id).error().code, ErrorCode::kConflict);
  EXPECT_EQ(store_->Retry("job_missing").error().code, ErrorCode::kNotFound);
}

TEST_F(SqliteJobStoreTest, PassedDeadlineIsDeadNeverRun) {
  Job job = Enqueue({.skill = "s", .deadline = std::chrono::system_clock::now() - 1s});
  EXPECT_FALSE(Claim("w").has_value());
  EXPECT_EQ(Get(job.id).state, JobState::kDead);
}

TEST_F(SqliteJobStoreTest, BadSpecsAreRefusedByName) {
  EXPECT_NE(store_->Enqueue({.skill = ""}, nullptr).error().message.find("skill"), std::string::npos);
  EXPECT_NE(store_->Enqueue({.skill = "s", .max_attempts = 0}, nullptr).error().message.find("max_attempts"),
            std::string::npos);
  EXPECT_NE(store_->Enqueue({.skill = "s", .input = 3}, nullptr).error().message.find("input"),
            std::string::npos);
}

TEST_F(SqliteJobStoreTest, DatabaseIsTheOwnersAlone) {
  Enqueue({.skill = "s"});
  for (const char* name : {"jobs.db", "jobs.db-wal"}) {
    struct stat st {};
    ASSERT_EQ(::stat((tmp_.path() / name).c_str(), &st), 0) << name;
    EXPECT_EQ(st.st_mode & 0777, 0600u) << name;
  }
}

TEST_F(SqliteJobStoreTest, ReopenKeepsJobsAndRefusesANewerSchema) {
  Job job = Enqueue({.skill = "s"});
  store_.reset();
  auto reopened = OpenSqliteJobStore(tmp_.path() / "jobs.db");
  ASSERT_TRUE(reopened.has_value());
  EXPECT_TRUE((*reopened)->Get(job.id)->has_value());
  reopened->reset();

  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open((tmp_.path() / "jobs.db").c_str(), &db), SQLITE_OK);
  ASSERT_EQ(sqlite3_exec(db, "PRAGMA user_version = 99", nullptr, nullptr, nullptr), SQLITE_OK);
  sqlite3_close(db);
  auto newer = OpenSqliteJobStore(tmp_.path() / "jobs.db");
  ASSERT_FALSE(newer.has_value());
  EXPECT_NE(newer.error().message.find("newer"), std::string::npos);
}

}  // namespace
}  // namespace skillrt::service
