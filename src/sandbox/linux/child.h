// The contract between the supervisor and the sandboxed child between clone3(2) and
// execve(2).
//
// The child runs on a copy of a possibly multi-threaded parent, so until execve it may only
// make system calls: no allocation, no locks, no stdio. Everything it needs is computed by
// the parent beforehand and read from a ChildSpec. When a step fails, the child writes one
// ChildFailure to the error pipe (O_CLOEXEC, so a successful execve closes it unwritten) and
// exits; the supervisor turns that into an Error naming the step.
#ifndef SKILLRT_SANDBOX_LINUX_CHILD_H_
#define SKILLRT_SANDBOX_LINUX_CHILD_H_

namespace skillrt::sandbox {

/// What the child reports when a setup step fails. Fixed-size, written with one write(2).
struct ChildFailure {
  int err = 0;          ///< errno of the failing call.
  bool exec = false;    ///< True if execve itself failed (a skill problem, not a layer).
  char what[240] = {};  ///< The call and its argument, e.g. "mount(/usr)".
};

/// Reports `what` failing with `err` on `err_fd` and exits the child with status 127.
/// Async-signal-safe.
[[noreturn]] void ChildFail(int err_fd, const char* what, int err, bool exec = false);

/// As ChildFail, with `what` formatted as "<call>(<arg>)", e.g. "mount(/usr)".
[[noreturn]] void ChildFailCall(int err_fd, const char* call, const char* arg, int err,
                                bool exec = false);

/// Exit status the child uses after reporting a failure.
inline constexpr int kChildFailureExit = 127;

}  // namespace skillrt::sandbox

#endif  // SKILLRT_SANDBOX_LINUX_CHILD_H_
