// Claim, run, renew, finish (job_runner.h).
#include "service/job_runner.h"

#include <unistd.h>

#include <array>

#include "skillrt/outcome.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

std::string DefaultName() {
  std::array<char, 256> host{};
  if (::gethostname(host.data(), host.size() - 1) != 0) host[0] = '\0';
  auto suffix = NewJobId();  // 24 random hex digits; the first 8 are plenty here.
  return std::string(host.data()) + ":" + std::to_string(::getpid()) + ":" +
         (suffix ? suffix->substr(4, 8) : "0");
}

// Every event of a finished run, in the documented JSON form, and the runtime it planned.
struct Collected {
  nlohmann::json events = nlohmann::json::array();
  std::string runtime = "unknown";
  std::optional<std::chrono::system_clock::time_point> started;
};
Collected Collect(const RunHandle& handle) {
  Collected c;
  uint64_t after = 0;
  for (;;) {
    EventBatch batch = handle.ReadEvents(after, 1024, 0ms);
    for (const RunEvent& event : batch.events) {
      after = event.seq;
      if (const auto* planned = std::get_if<PlannedEvent>(&event.payload)) c.runtime = planned->runtime;
      if (std::holds_alternative<StartedEvent>(event.payload)) c.started = event.time;
      c.events.push_back(RunEventToJson(event));
    }
    if (batch.finished || batch.events.empty()) break;
  }
  return c;
}

}  // namespace

JobRunner::JobRunner(Engine& engine, JobStore& store, RunnerOptions options, RunTable* runs,
                     Metrics* metrics)
    : engine_(engine), store_(store), options_(std::move(options)), runs_(runs), metrics_(metrics) {
  if (options_.name.empty()) options_.name = DefaultName();
  if (options_.workers == 0) options_.workers = 1;
}

JobRunner::~JobRunner() { Stop(true); }

Result<void> JobRunner::Start() {
  store_.OnReady([this] { Wake(); });
  try {
    for (size_t i = 0; i < options_.workers; ++i) threads_.emplace_back([this] { Work(); });
    threads_.emplace_back([this] { Reap(); });
  } catch (const std::system_error& e) {
    Stop(true);
    return Fail(ErrorCode::kIo, std::string("start job workers: ") + e.what());
  }
  return {};
}

void JobRunner::Wake() {
  std::lock_guard lock(mu_);
  ++wakes_;
  cv_.notify_all();
}

void JobRunner::Stop(bool cancel_running) {
  {
    std::lock_guard lock(mu_);
    if (stopping_ && threads_.empty()) return;
    stopping_ = true;
    cancel_running_ = cancel_running;
  }
  cv_.notify_all();
  store_.OnReady({});
  for (std::thread& t : threads_) {
    if (t.joinable()) t.join();
  }
  threads_.clear();
}

std::vector<std::string> JobRunner::SkillsAtLimit() const {
  std::vector<std::string> full;
  for (const auto& [skill, limit] : options_.skill_limits) {
    auto it = running_by_skill_.find(skill);
    if (it != running_by_skill_.end() && it->second >= limit) full.push_back(skill);
  }
  return full;
}

void JobRunner::Work() {
  for (;;) {
    std::vector<std::string> skip;
    uint64_t seen_wakes;
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      skip = SkillsAtLimit();
      seen_wakes = wakes_;
    }
    auto claimed = store_.Claim(options_.name, options_.lease, skip);
    if (claimed && *claimed) {
      RunOne(std::move(**claimed));
      continue;
    }
    std::unique_lock lock(mu_);
    cv_.wait_for(lock, options_.poll, [&] { return stopping_ || wakes_ != seen_wakes; });
  }
}

void JobRunner::Reap() {
  for (;;) {
    {
      std::unique_lock lock(mu_);
      if (cv_.wait_for(lock, options_.lease / 2, [&] { return stopping_; })) return;
    }
    auto n = store_.Reclaim(/*all_running=*/false);
    if (n && *n > 0) Wake();
  }
}

void JobRunner::RunOne(Job job) {
  {
    std::lock_guard lock(mu_);
    ++running_by_skill_[job.spec.skill];
  }
  AttemptResult result;
  // Jobs name skills of the roots, never paths: whoever can write the queue cannot make a
  // worker run an arbitrary directory.
  const bool path = job.spec.skill.find('/') != std::string::npos || job.spec.skill.starts_with(".");
  auto handle = path ? Result<RunHandle>(Fail(ErrorCode::kInvalidArgument,
                                              "skill '" + job.spec.skill + "' is a path, not a name"))
                     : engine_.Start(RunRequest{.skill = job.spec.skill, .input = job.spec.input,
                                                .run_id = job.run_id});
  if (path) {
    result.state = JobState::kFailed;
    result.error = handle.error().message;
  } else if (!handle) {
    result.state = JobState::kQueued;  // skillrt could not start it: another attempt.
    result.error = handle.error().ToString();
  } else {
    if (runs_) runs_->Add(*handle);
    // Renew the lease until the run ends; stop the run if the lease is lost, the job is
    // cancelled, or this runner is stopping with cancel.
    auto next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
    bool cancelled_job = false;
    bool handed_back = false;
    while (!handle->done()) {
      (void)handle->ReadEvents(~uint64_t{0}, 1, 20ms);  // Wakes when the run ends.
      {
        std::lock_guard lock(mu_);
        if (stopping_ && cancel_running_ && handle->Cancel("worker stopping")) handed_back = true;
      }
      if (std::chrono::steady_clock::now() < next_beat) continue;
      next_beat = std::chrono::steady_clock::now() + options_.heartbeat;
      auto beat = store_.Heartbeat(job.id, options_.name, options_.lease);
      if (beat && !*beat) {
        cancelled_job = true;
        handle->Cancel("job cancelled");
      }
    }
    Result<Outcome> outcome = handle->Wait();
    Collected collected = Collect(*handle);
    result.events = std::move(collected.events);
    if (metrics_ && collected.started) {
      metrics_->JobStarted(std::chrono::duration_cast<std::chrono::microseconds>(
          *collected.started - job.not_before));
    }
    if (!outcome) {
      result.state = JobState::kQueued;
      result.error = outcome.error().ToString();
    } else {
      result.outcome = OutcomeToJson(*outcome);
      if (outcome->status == Status::kOk) {
        result.state = JobState::kSucceeded;
      } else if (outcome->status == Status::kCancelled) {
        // Cancelled by the client: the job ends so. Cancelled because this worker stops:
        // the job goes back to the queue.
        result.state = cancelled_job ? JobState::kCancelled : JobState::kQueued;
        result.error = outcome->message;
        result.count_attempt = !handed_back;
      } else {
        result.state = JobState::kFailed;
        result.error = outcome->message;
      }
    }
  }
  (void)store_.Finish(job.id, options_.name, result);  // false: the lease was lost meanwhile.
  {
    std::lock_guard lock(mu_);
    if (--running_by_skill_[job.spec.skill] == 0) running_by_skill_.erase(job.spec.skill);
  }
  Wake();  // A skill at its limit may have room now.
}

}  // namespace skillrt::service
