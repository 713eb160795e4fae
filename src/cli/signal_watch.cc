// SIGINT and SIGTERM as a cancel (src/cli/signal_watch.h).
#include "cli/signal_watch.h"

#include <pthread.h>

#include <ctime>

namespace skillrt::cli {
namespace {

// Sent by Stop to the watcher only: the first real-time signal an application may use
// (signal(7)); blocked and taken by sigtimedwait like SIGINT and SIGTERM, never delivered.
const int kWakeSignal = SIGRTMIN;

}  // namespace

CancelOnSignal::CancelOnSignal() {
  sigemptyset(&signals_);
  sigaddset(&signals_, SIGINT);
  sigaddset(&signals_, SIGTERM);
  sigaddset(&signals_, kWakeSignal);
  pthread_sigmask(SIG_BLOCK, &signals_, &previous_);
}

void CancelOnSignal::Watch(std::function<void(int sig)> on_first) {
  watcher_ = std::thread([this, on_first = std::move(on_first)] {
    // Stop wakes the watcher with kWakeSignal; the tick only bounds a wake-up that could not
    // be sent.
    const timespec tick = {1, 0};
    bool cancelled = false;
    while (!stop_.load()) {
      const int sig = ::sigtimedwait(&signals_, nullptr, &tick);
      if (sig <= 0 || sig == kWakeSignal) continue;
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
  if (!watcher_.joinable()) return;
  // Pending (the watcher blocks it like every thread) until the watcher's next sigtimedwait,
  // which then returns at once and sees `stop_`: no wake-up is lost.
  pthread_kill(watcher_.native_handle(), kWakeSignal);
  watcher_.join();
}

CancelOnSignal::~CancelOnSignal() {
  Stop();
  pthread_sigmask(SIG_SETMASK, &previous_, nullptr);
}

}  // namespace skillrt::cli
