// The pool of call threads: WaitForJobs returns only once every job but those it may leave
// running has ended, including the release of what the job captured, which happens after the
// job's caller was told its result (the WebAssembly runtime's destructor relies on it).
#include "wasm/call_threads.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <memory>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

namespace skillrt::wasm {
namespace {

using namespace std::chrono_literals;

// Set when the object a job captured is destroyed, after a pause that leaves the job's
// caller time to go on.
struct SlowToRelease {
  std::atomic<bool>* released;
  ~SlowToRelease() {
    std::this_thread::sleep_for(100ms);
    released->store(true);
  }
};

TEST(CallThreadsTest, WaitingForJobsWaitsForWhatTheyCapturedToBeReleased) {
  std::atomic<bool> released{false};
  {
    CallThreads threads(2);
    std::promise<void> told;
    auto captured = std::make_shared<SlowToRelease>(SlowToRelease{&released});
    ASSERT_TRUE(threads
                    .Run([captured = std::move(captured), &told] { told.set_value(); })
                    .has_value());
    told.get_future().wait();  // The job's caller has its result...
    threads.WaitForJobs([] { return size_t{0}; });
    EXPECT_TRUE(released.load());  // ...and what the job held is gone once the wait ends.
  }
}

TEST(CallThreadsTest, WaitingForJobsLeavesTheJobsItMayLeaveRunning) {
  CallThreads threads(2);
  std::mutex mutex;
  std::condition_variable cv;
  bool go = false;
  std::atomic<int> ended{0};
  auto blocked = [&] {
    std::unique_lock lock(mutex);
    cv.wait(lock, [&] { return go; });
    ended.fetch_add(1);
  };
  ASSERT_TRUE(threads.Run(blocked).has_value());
  ASSERT_TRUE(threads.Run([&] { ended.fetch_add(1); }).has_value());
  // One job may stay (a call given up in the host, in the runtime): the wait ends once the
  // other has, while the blocked one still waits.
  threads.WaitForJobs([] { return size_t{1}; });
  EXPECT_EQ(ended.load(), 1);
  {
    std::lock_guard lock(mutex);
    go = true;
  }
  cv.notify_all();
  threads.WaitForJobs([] { return size_t{0}; });  // Positive control: now both have ended.
  EXPECT_EQ(ended.load(), 2);
}

}  // namespace
}  // namespace skillrt::wasm
