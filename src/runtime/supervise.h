// The supervisor's side of a running process, shared by the runtimes that start one (the
// native sandbox, the container engine's CLI): feeds stdin, captures stdout and stderr under
// the output cap, enforces the wall-clock deadline, stops the process on a cancel and reaps
// it.
#ifndef SKILLRT_RUNTIME_SUPERVISE_H_
#define SKILLRT_RUNTIME_SUPERVISE_H_

#include <sys/resource.h>
#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string_view>

#include "runtime/child_failure.h"
#include "skillrt/error.h"
#include "skillrt/outcome.h"
#include "skillrt/runtime.h"
#include "skillrt/fd.h"

namespace skillrt {

/// The supervisor's ends of the child's pipes. All owned.
struct SupervisedFds {
  UniqueFd pidfd;       ///< From CLONE_PIDFD; readable once the child exits.
  UniqueFd stdin_w;     ///< Write end of the child's stdin.
  UniqueFd stdout_r;    ///< Read end of the child's stdout.
  UniqueFd stderr_r;    ///< Read end of the child's stderr.
  UniqueFd err_r;       ///< Read end of the error pipe.
};

/// What happened while supervising.
struct Supervision {
  bool timed_out = false;        ///< The wall-clock deadline passed; the child was killed.
  bool output_exceeded = false;  ///< A stream passed the output cap; the child was killed.
  bool cancelled = false;        ///< The run's CancelToken was cancelled; the child was stopped.
  /// A StopHook was called (on a timeout, an output flood or a cancel) and the child then
  /// exited by itself within kStopGrace; false when it had to be killed.
  bool stopped_by_hook = false;
  std::optional<ChildFailure> failure;  ///< Reported by the child before execve.
  int wait_status = 0;           ///< As from wait4(2).
  struct rusage usage = {};      ///< Of the child and the descendants it reaped.
};

/// How a runtime stops a child that cannot just be killed without leaving something behind
/// (the container engine's CLI: killed, it leaves its container). Called at most once, from
/// the supervising thread, when the run must stop; it should make the child exit by itself
/// (e.g. kill the container's processes, so that the CLI removes the container and exits).
/// Returns false when it could not; the child is then killed at once.
using StopHook = std::function<bool()>;

/// How long a child stopped by a StopHook has to exit before it is killed.
inline constexpr std::chrono::milliseconds kStopGrace{3000};

/// Runs until the child `pid` has exited and been reaped. Writes `input` to stdin (then
/// closes it), captures stdout and stderr into `stdout_stream`/`stderr_stream` keeping at
/// most `output_max_bytes` of each, and kills the child (and so its pid namespace) when the
/// deadline `wall_time` passes, a stream exceeds the cap or `context.cancel` is cancelled
/// (within one poll wake-up: the token's eventfd is polled with the pipes). With a `stop`
/// hook, the hook is called first and the child killed only if it fails or the child is still
/// running kStopGrace later. What is captured
/// is also passed to `context.observer` as it arrives. SIGPIPE from writing stdin is blocked
/// in the calling thread only. Errors: kIo if polling or reaping fails (the child is killed
/// first).
Result<Supervision> Supervise(pid_t pid, SupervisedFds fds, std::string_view input,
                              std::chrono::milliseconds wall_time, uint64_t output_max_bytes,
                              CapturedStream* stdout_stream, CapturedStream* stderr_stream,
                              const RunContext& context = {}, const StopHook& stop = {});

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_SUPERVISE_H_
