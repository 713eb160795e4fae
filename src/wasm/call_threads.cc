// The pool of call threads (call_threads.h).
#include "wasm/call_threads.h"

#include <condition_variable>
#include <deque>
#include <mutex>
#include <system_error>
#include <thread>
#include <utility>

namespace skillrt::wasm {

struct CallThreads::State {
  std::mutex mutex;
  std::condition_variable work_cv;
  std::condition_variable ended_cv;        // A job ended (WaitForJobs).
  std::deque<std::function<void()>> jobs;  // Guarded by mutex.
  size_t idle = 0;                         // Threads waiting for a job; guarded by mutex.
  size_t max_idle = 0;
  size_t running = 0;  // Jobs submitted and not yet ended; guarded by mutex.
  bool stop = false;  // Guarded by mutex.
};

void CallThreads::Serve(const std::shared_ptr<State>& state, std::function<void()> job) {
  for (;;) {
    job();
    job = nullptr;  // Whatever the job captured is released before the thread waits.
    std::unique_lock lock(state->mutex);
    --state->running;
    state->ended_cv.notify_all();
    if (state->jobs.empty()) {
      if (state->stop || state->idle >= state->max_idle) return;
      ++state->idle;
      state->work_cv.wait(lock, [&] { return state->stop || !state->jobs.empty(); });
      --state->idle;
      if (state->jobs.empty()) return;
    }
    job = std::move(state->jobs.front());
    state->jobs.pop_front();
  }
}

CallThreads::CallThreads(size_t max_idle) : state_(std::make_shared<State>()) {
  state_->max_idle = max_idle;
}

CallThreads::~CallThreads() {
  {
    std::lock_guard lock(state_->mutex);
    state_->stop = true;
  }
  state_->work_cv.notify_all();
}

Result<void> CallThreads::Run(std::function<void()> job) {
  {
    std::lock_guard lock(state_->mutex);
    ++state_->running;
    // An idle thread takes it; `idle` counts the threads not yet woken, so that two jobs
    // never count on the same idle thread.
    if (state_->idle > state_->jobs.size()) {
      state_->jobs.push_back(std::move(job));
      state_->work_cv.notify_one();
      return {};
    }
  }
  try {
    std::thread([state = state_, job = std::move(job)]() mutable {
      Serve(state, std::move(job));
    }).detach();
  } catch (const std::system_error& e) {
    {
      std::lock_guard lock(state_->mutex);
      --state_->running;
    }
    return FailErrno(ErrorCode::kIo, "std::thread (WebAssembly call)", e.code().value());
  }
  return {};
}

void CallThreads::WaitForJobs(const std::function<size_t()>& may_go_on) {
  std::unique_lock lock(state_->mutex);
  state_->ended_cv.wait(lock, [&] { return state_->running <= may_go_on(); });
}

}  // namespace skillrt::wasm
