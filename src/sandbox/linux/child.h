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

#include "runtime/child_failure.h"

namespace skillrt::sandbox {

/// Reports `what` failing with `err` on `err_fd` and exits the child with status 127.
/// Async-signal-safe.
[[noreturn]] void ChildFail(int err_fd, const char* what, int err, bool exec = false);

/// As ChildFail, with `what` formatted as "<call>(<arg>)", e.g. "mount(/usr)".
[[noreturn]] void ChildFailCall(int err_fd, const char* call, const char* arg, int err,
                                bool exec = false);

}  // namespace skillrt::sandbox

#endif  // SKILLRT_SANDBOX_LINUX_CHILD_H_
