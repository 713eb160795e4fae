// The child's side of a sandboxed run, from clone3(2) to execve(2), in the order the layers
// are applied. Read Contain() top to bottom to see the whole setup.
#ifndef SKILLRT_SANDBOX_LINUX_CONTAIN_H_
#define SKILLRT_SANDBOX_LINUX_CONTAIN_H_

#include <vector>

#include "sandbox/linux/landlock.h"
#include "sandbox/linux/mount.h"
#include "sandbox/linux/rlimit.h"
#include "sandbox/linux/seccomp.h"

namespace skillrt::sandbox {

/// Everything the child needs, prepared by the supervisor. The child only reads it.
struct ChildSpec {
  int stdin_fd = -1;   ///< Becomes fd 0.
  int stdout_fd = -1;  ///< Becomes fd 1.
  int stderr_fd = -1;  ///< Becomes fd 2.
  int sync_fd = -1;    ///< Read end: one byte arrives once the id maps and cgroups are set.
  int err_fd = -1;     ///< Write end of the error pipe (O_CLOEXEC).
  /// cgroup v1: `tasks` files of the run's cgroups; the child writes "0" to each to move
  /// itself in (cgroup.h, OpenSelfAttachFds). nullptr or empty on v2 or without cgroups.
  const std::vector<int>* cgroup_tasks_fds = nullptr;
  bool new_cgroup_ns = false;  ///< Unshare the cgroup namespace after joining the cgroup.
  bool clear_groups = false;   ///< The supervisor is root: setgroups(2) is allowed.
  int cap_last = 0;
  const mount::RootPlan* root = nullptr;
  const std::vector<rlimit::Setting>* rlimits = nullptr;
  const landlock::Ruleset* landlock = nullptr;  ///< nullptr: Landlock skipped (best-effort).
  const seccomp::Program* seccomp = nullptr;
  const char* exec_path = nullptr;  ///< Sandbox path of the program.
  char* const* argv = nullptr;      ///< NULL-terminated.
  char* const* envp = nullptr;      ///< NULL-terminated; the complete environment.
};

/// Child side: applies every layer and executes the program; never returns. Each failure is
/// reported through `spec.err_fd` (child.h). REQUIRES: called in the child of a clone3(2)
/// with new user, mount, pid, net, ipc and uts namespaces.
[[noreturn]] void Contain(const ChildSpec& spec);

}  // namespace skillrt::sandbox

#endif  // SKILLRT_SANDBOX_LINUX_CONTAIN_H_
