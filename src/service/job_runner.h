// Workers that take jobs from a JobStore and run them through the Engine: claim, start, renew
// the lease while the run goes on, finish (docs/service.md, "Jobs"). Used by `skillrt serve`
// and `skillrt worker`.
#ifndef SKILLRT_SERVICE_JOB_RUNNER_H_
#define SKILLRT_SERVICE_JOB_RUNNER_H_

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <map>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "service/job_store.h"
#include "service/metrics.h"
#include "service/run_table.h"
#include "skillrt/engine.h"

namespace skillrt::service {

/// How a JobRunner works.
struct RunnerOptions {
  size_t workers = 4;  ///< Jobs run at once by this process.
  /// How long a claim holds without renewal; a worker that stops renewing (killed, frozen,
  /// cut off) loses its job after this.
  std::chrono::milliseconds lease{10000};
  /// How often a running job's lease is renewed (and a cancel request noticed).
  std::chrono::milliseconds heartbeat{1000};
  /// How often an idle worker looks for work when nothing wakes it.
  std::chrono::milliseconds poll{250};
  /// Jobs of one skill run at once by this process, at most; skills not named are bounded
  /// only by `workers`.
  std::map<std::string, size_t> skill_limits = {};
  /// Names this process in leases: host:pid and a random suffix when empty.
  std::string name = {};
};

/// Runs jobs on `options.workers` threads until Stop. Thread-safe.
class JobRunner {
 public:
  /// `engine`, `store`, `runs` and `metrics` are borrowed and must outlive the runner; `runs`
  /// and `metrics` may be null.
  JobRunner(Engine& engine, JobStore& store, RunnerOptions options, RunTable* runs,
            Metrics* metrics);
  ~JobRunner();

  /// Starts the worker threads and the thread that takes back expired leases. kIo.
  Result<void> Start();

  /// Wakes an idle worker: a job was enqueued or became ready.
  void Wake();

  /// Stops claiming; the runs in flight are cancelled when `cancel_running`, else awaited;
  /// then the threads are joined. A job whose run was cancelled this way goes back to the
  /// queue without the attempt counting against it. Idempotent.
  void Stop(bool cancel_running);

  const std::string& name() const { return options_.name; }

 private:
  void Work();
  void Reap();
  void RunOne(Job job);
  std::vector<std::string> SkillsAtLimit() const;  // REQUIRES: mu_ held.

  Engine& engine_;
  JobStore& store_;
  RunnerOptions options_;
  RunTable* runs_;
  Metrics* metrics_;

  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
  bool cancel_running_ = false;
  uint64_t wakes_ = 0;
  std::map<std::string, size_t> running_by_skill_;
  std::vector<std::thread> threads_;
};

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_JOB_RUNNER_H_
