#include "runtime/supervise.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <array>

namespace skillrt {
namespace {

using Clock = std::chrono::steady_clock;

// After the child exits, grandchildren in its pid namespace are being killed by the kernel
// and close their ends of the pipes; this bounds how long we keep draining.
constexpr std::chrono::milliseconds kDrainGrace{250};

// Reads what is available into `stream`, keeping at most `cap` bytes (and never more than
// kCapturedStreamMaxBytes in memory). Returns false at EOF or on a read error, and sets
// *exceeded when the stream has gone past the cap.
// What is kept is also reported to `observer` (may be null) as `which`.
bool Drain(int fd, uint64_t cap, CapturedStream* stream, bool* exceeded, RunObserver* observer,
           OutputStream which) {
  const uint64_t keep = std::min(cap, kCapturedStreamMaxBytes);
  std::array<char, 65536> buf;
  while (true) {
    const ssize_t n = ::read(fd, buf.data(), buf.size());
    if (n > 0) {
      stream->total_bytes += static_cast<uint64_t>(n);
      const uint64_t room = keep > stream->data.size() ? keep - stream->data.size() : 0;
      const size_t kept = static_cast<size_t>(std::min<uint64_t>(room, static_cast<uint64_t>(n)));
      stream->data.append(buf.data(), kept);
      if (observer != nullptr && kept > 0) observer->OnOutput(which, {buf.data(), kept});
      if (static_cast<uint64_t>(n) > room) stream->truncated = true;
      if (stream->total_bytes > cap) *exceeded = true;
      if (static_cast<size_t>(n) < buf.size()) return true;
      continue;
    }
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) return true;
    return false;
  }
}

// Blocks SIGPIPE in this thread for the lifetime of the object; a SIGPIPE raised by writing
// to a closed stdin is consumed before the old mask is restored.
class ScopedBlockSigpipe {
 public:
  ScopedBlockSigpipe() {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_, &old_);
  }
  ~ScopedBlockSigpipe() {
    sigset_t pending;
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE) && !sigismember(&old_, SIGPIPE)) {
      const timespec zero = {0, 0};
      sigtimedwait(&pipe_, nullptr, &zero);
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }

 private:
  sigset_t pipe_, old_;
};

}  // namespace

Result<Supervision> Supervise(pid_t pid, SupervisedFds fds, std::string_view input,
                              std::chrono::milliseconds wall_time, uint64_t output_max_bytes,
                              CapturedStream* stdout_stream, CapturedStream* stderr_stream,
                              const RunContext& context, const StopHook& stop) {
  ScopedBlockSigpipe block_sigpipe;
  const CancelToken* cancel = context.cancel;
  const int cancel_fd = cancel != nullptr ? cancel->fd() : -1;
  // Without an eventfd the token is looked at on every wake-up, at least this often.
  constexpr std::chrono::milliseconds kCancelCheck{20};
  Supervision sup;
  const auto deadline = Clock::now() + wall_time;
  std::optional<Clock::time_point> exited_at;
  size_t written = 0;
  bool killed = false;
  // Set once the stop hook has been called: the child has until then to exit by itself.
  std::optional<Clock::time_point> stop_deadline;
  auto kill_child = [&] {
    if (!killed) {
      ::syscall(SYS_pidfd_send_signal, fds.pidfd.get(), SIGKILL, nullptr, 0);
      killed = true;
    }
  };
  // Stops the child: through the hook the first time, when there is one.
  auto stop_child = [&] {
    if (killed || stop_deadline) return;
    if (stop && stop()) {
      stop_deadline = Clock::now() + kStopGrace;
    } else {
      kill_child();
    }
  };
  auto stopping = [&] { return killed || stop_deadline.has_value(); };
  for (int fd : {fds.stdin_w.get(), fds.stdout_r.get(), fds.stderr_r.get()}) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
  }
  if (input.empty()) fds.stdin_w.Reset();

  while (true) {
    std::array<pollfd, 6> pfds;
    nfds_t n = 0;
    auto watch = [&](const UniqueFd& fd, short events) {
      if (fd) pfds[n++] = {.fd = fd.get(), .events = events, .revents = 0};
    };
    watch(fds.stdout_r, POLLIN);
    watch(fds.stderr_r, POLLIN);
    watch(fds.err_r, POLLIN);
    watch(fds.stdin_w, POLLOUT);
    if (!exited_at) watch(fds.pidfd, POLLIN);
    if (!exited_at && !stopping() && cancel_fd >= 0) {
      pfds[n++] = {.fd = cancel_fd, .events = POLLIN, .revents = 0};
    }
    if (exited_at && !fds.stdout_r && !fds.stderr_r && !fds.err_r) break;

    const auto now = Clock::now();
    // What the next wake-up is for: the end of the drain, the end of the stop hook's grace,
    // the pidfd of a killed child (woken by it, so any bound will do), or the deadline.
    auto until = exited_at       ? *exited_at + kDrainGrace
                 : killed        ? now + kDrainGrace
                 : stop_deadline ? *stop_deadline
                                 : deadline;
    if (exited_at && now >= until) break;
    if (!exited_at && !stopping() && cancel != nullptr && cancel->cancelled()) {
      sup.cancelled = true;
      stop_child();
      continue;  // The cancel fd is no longer watched; the pidfd says when the child is gone.
    }
    if (!exited_at && !stopping() && cancel != nullptr && cancel_fd < 0) {
      until = std::min(until, now + kCancelCheck);
    }
    if (!exited_at && now >= deadline && !stopping()) {
      sup.timed_out = true;
      stop_child();
      until = stop_deadline && !killed ? *stop_deadline : now + kDrainGrace;
    }
    if (!exited_at && stop_deadline && !killed && now >= *stop_deadline) {
      kill_child();  // The hook did not make it exit in time.
      until = now + kDrainGrace;
    }
    const auto wait_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(until - now).count() + 1;
    const int ready = ::poll(pfds.data(), n, static_cast<int>(std::max<int64_t>(wait_ms, 0)));
    if (ready < 0) {
      if (errno == EINTR) continue;
      const int err = errno;
      kill_child();
      ::waitpid(pid, nullptr, 0);
      return FailErrno(ErrorCode::kIo, "poll(sandbox)", err);
    }
    for (nfds_t i = 0; i < n; ++i) {
      const pollfd& p = pfds[i];
      if (p.revents == 0) continue;
      if (p.fd == fds.stdout_r.get() || p.fd == fds.stderr_r.get()) {
        const bool is_out = p.fd == fds.stdout_r.get();
        bool exceeded = false;
        if (!Drain(p.fd, output_max_bytes, is_out ? stdout_stream : stderr_stream, &exceeded,
                   context.observer, is_out ? OutputStream::kStdout : OutputStream::kStderr)) {
          (is_out ? fds.stdout_r : fds.stderr_r).Reset();
        }
        if (exceeded && !sup.output_exceeded) {
          // A flood: stop the producer rather than let it spin; what was captured stays.
          sup.output_exceeded = true;
          stop_child();
        }
      } else if (p.fd == fds.err_r.get()) {
        ChildFailure failure;
        const ssize_t r = ::read(p.fd, &failure, sizeof(failure));
        if (r == static_cast<ssize_t>(sizeof(failure))) {
          failure.what[sizeof(failure.what) - 1] = '\0';
          sup.failure = failure;
        }
        fds.err_r.Reset();
      } else if (p.fd == fds.stdin_w.get()) {
        const ssize_t w = ::write(p.fd, input.data() + written, input.size() - written);
        if (w > 0) written += static_cast<size_t>(w);
        if ((w < 0 && errno != EAGAIN && errno != EINTR) || written == input.size()) {
          fds.stdin_w.Reset();  // Done, or the child closed its stdin (EPIPE).
        }
      } else if (p.fd == fds.pidfd.get()) {
        exited_at = Clock::now();
        fds.stdin_w.Reset();
      }
    }
    if (exited_at && Clock::now() >= *exited_at + kDrainGrace) break;
  }
  if (!exited_at) kill_child();
  sup.stopped_by_hook = stop_deadline.has_value() && !killed;
  while (::wait4(pid, &sup.wait_status, 0, &sup.usage) < 0) {
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "wait4(sandbox)", errno);
  }
  return sup;
}

}  // namespace skillrt
