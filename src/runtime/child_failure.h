// What a process started by a runtime reports when it fails between fork and execve: the
// contract between a supervisor (runtime/supervise.h) and a child that can only make system
// calls (the native sandbox's set-up, sandbox/linux/child.h).
#ifndef SKILLRT_RUNTIME_CHILD_FAILURE_H_
#define SKILLRT_RUNTIME_CHILD_FAILURE_H_

namespace skillrt {

/// What the child reports when a set-up step fails. Fixed-size, written with one write(2) to
/// the error pipe (O_CLOEXEC, so a successful execve closes it unwritten).
struct ChildFailure {
  int err = 0;          ///< errno of the failing call.
  bool exec = false;    ///< True if execve itself failed (a skill problem, not a layer).
  char what[240] = {};  ///< The call and its argument, e.g. "mount(/usr)".
};

/// Exit status the child uses after reporting a failure.
inline constexpr int kChildFailureExit = 127;

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_CHILD_FAILURE_H_
