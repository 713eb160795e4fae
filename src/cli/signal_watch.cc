// SIGINT and SIGTERM as a cancel (src/cli/signal_watch.h).
#include "cli/signal_watch.h"

#include <pthread.h>

#include <ctime>

namespace skillrt::cli {

CancelOnSignal::CancelOnSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
}

void CancelOnSignal::Watch(std::function<void(int sig)> on_first) {
  watcher_ = std::thread([this, on_first = std::move(on_first)] {
    const timespec tick = {0, 50'000'000};  // How often `stop_` is looked at.
    bool cancelled = false;
    while (!stop_.load()) {
      const int sig = ::sigtimedwait(&signals_, nullptr, &tick);
      if (sig <= 0) continue;
      if (!cancelled) {
        cancelled = true;
        on_first(sig);
        continue;
      }
      ::signal(sig, SIG_DFL);
      sigset_t one;
      sigemptyset(&one);
      sigaddset(&one, sig);
      pthread_sigmask(SIG_UNBLOCK, &one, nullptr);
      ::raise(sig);
    }
  });
}

void CancelOnSignal::Stop() {
  stop_.store(true);
  if (watcher_.joinable()) watcher_.join();
}

CancelOnSignal::~CancelOnSignal() {
  Stop();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace skillrt::cli
