// The threads WebAssembly calls run on.
//
// Epoch interruption stops WebAssembly code, not the host: a guest inside a WASI call that
// blocks (opening a FIFO waits for its other end, wasi:io/poll waits for a timer) holds its
// thread for as long as the host waits. So a call that may meet such a wait runs on a thread
// of this pool and its caller waits for it only until the call's deadline
// (WasmRuntime::Execute); a thread given up that way finishes its call whenever the host lets
// it, then comes back to the pool.
#ifndef SKILLRT_WASM_CALL_THREADS_H_
#define SKILLRT_WASM_CALL_THREADS_H_

#include <cstddef>
#include <functional>
#include <memory>

#include "skillrt/error.h"

namespace skillrt::wasm {

/// A pool of threads, each running one job at a time. Threads are made on demand, without a
/// bound of their own (the callers bound the calls that may run or wait at once); up to
/// `max_idle` of them wait for the next job when theirs ends, the others end. Thread-safe.
/// Destroying the pool ends its idle threads; a thread still running a job ends after it.
class CallThreads {
 public:
  explicit CallThreads(size_t max_idle);
  ~CallThreads();
  CallThreads(const CallThreads&) = delete;
  CallThreads& operator=(const CallThreads&) = delete;

  /// Runs `job` on an idle thread, or on a new one. `job` must not throw. Errors: kIo when no
  /// idle thread is left and no thread can be made (the job is not run).
  Result<void> Run(std::function<void()> job);

  /// Blocks until at most `may_go_on()` jobs are running. A job counts until whatever it
  /// captured has been released, so that once this returns no other job still holds (or
  /// releases) what the caller is about to free. `may_go_on` is called with the pool's lock
  /// held, whenever a job ends: it must not call into the pool.
  void WaitForJobs(const std::function<size_t()>& may_go_on);

 private:
  struct State;
  // A thread's life: its first job, then further ones while it is wanted as an idle thread.
  static void Serve(const std::shared_ptr<State>& state, std::function<void()> job);

  std::shared_ptr<State> state_;
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_CALL_THREADS_H_
