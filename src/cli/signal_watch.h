// Turning SIGINT and SIGTERM into a clean cancel while a command lasts.
#ifndef SKILLRT_CLI_SIGNAL_WATCH_H_
#define SKILLRT_CLI_SIGNAL_WATCH_H_

#include <signal.h>

#include <atomic>
#include <functional>
#include <thread>

namespace skillrt::cli {

/// While it lives, SIGINT and SIGTERM call `on_first` (on a watcher thread) instead of ending
/// the process, so that a run or an agent is cancelled, cleaned up and audited like any other
/// end. A second signal, for work that cannot stop at once (an approval prompt waiting on the
/// terminal), ends skillrt as the signal would have. The signals are blocked from
/// construction, before any thread exists, so that every thread inherits the block and only
/// the watcher receives them (sigtimedwait(2)); the destructor restores the previous mask.
/// Construct it on the main thread before starting other threads; not copyable.
class CancelOnSignal {
 public:
  CancelOnSignal();
  ~CancelOnSignal();
  CancelOnSignal(const CancelOnSignal&) = delete;
  CancelOnSignal& operator=(const CancelOnSignal&) = delete;

  /// Starts watching; `on_first` receives the first signal's number. Call at most once.
  void Watch(std::function<void(int sig)> on_first);

  /// Stops watching and waits for the watcher thread: after it returns `on_first` is never
  /// called, so what it refers to may go. Idempotent; the destructor calls it. Signals stay
  /// blocked until destruction.
  void Stop();

 private:
  sigset_t signals_;
  sigset_t previous_;
  std::atomic<bool> stop_{false};
  std::thread watcher_;
};

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_SIGNAL_WATCH_H_
