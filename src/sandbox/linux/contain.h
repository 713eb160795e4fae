// The child's side of a sandboxed run, from clone3(2) to execve(2), in the order the layers
// are applied. Read Contain() top to bottom to see the whole setup.
#ifndef SKILLRT_SANDBOX_LINUX_CONTAIN_H_
#define SKILLRT_SANDBOX_LINUX_CONTAIN_H_

#include <linux/filter.h>

#include <cstddef>
#include <cstdint>

#include "sandbox/linux/landlock.h"
#include "sandbox/linux/mount.h"
#include "sandbox/linux/rlimit.h"

namespace skillrt::sandbox {

/// What one run asks of the child: plain data and pointers only, so that it can be copied into
/// memory shared with a child that was cloned before the run was known (spawn.h).
struct ChildSpec {
  mount::RootView root;
  const rlimit::Setting* rlimits = nullptr;
  size_t rlimit_count = 0;
  const landlock::RulesetView* landlock = nullptr;  ///< nullptr: Landlock skipped (best-effort).
  const sock_filter* seccomp = nullptr;
  size_t seccomp_count = 0;
  const char* exec_path = nullptr;  ///< Sandbox path of the program.
  const char* cwd = "/skill";       ///< Sandbox path of the working directory.
  char* const* argv = nullptr;      ///< NULL-terminated.
  char* const* envp = nullptr;      ///< NULL-terminated; the complete environment.
  /// Non-zero when the run has egress: hand a listener on 127.0.0.1:port to the supervisor
  /// (netns.h). `lo` is up either way: the sandbox's own loopback is its to use.
  uint16_t proxy_port = 0;
  /// Keep the spawn-time AF_UNIX channel open across execve as descriptor kKeptChannelFd
  /// (the control descriptor of a prepared interpreter, prepared.h); otherwise it is
  /// closed before the root is built.
  bool keep_channel = false;
  /// A sandbox held for one plan (prepared.h): with every layer applied, the seccomp filter
  /// included, execute the held waiter (ChildBoot::held_waiter_fd, held_waiter.c) instead of
  /// the program, with `argv` being the waiter's: the program's sandbox path (`exec_path`),
  /// then the program's argv. The waiter keeps the channel as kKeptChannelFd and the error
  /// pipe as descriptor 3, waits there for the run's release message (prepared::
  /// ReleaseMessage), then executes the program.
  bool hold_for_release = false;
};

/// The descriptor number the channel has in the executed program when
/// ChildSpec::keep_channel is set (0-2 are stdio, 3 the close-on-exec error pipe), and in a
/// held sandbox's waiter.
inline constexpr int kKeptChannelFd = 4;

/// The descriptor number of the held waiter's memfd while a held sandbox executes it.
inline constexpr int kHeldWaiterFd = 5;

/// The largest release message a held sandbox reads, in bytes; a longer one is refused by
/// the supervisor before it is sent (prepared::Release).
inline constexpr size_t kMaxReleaseBytes = 4096;

/// Upper bound on cgroup hierarchies a child joins (v1: one per controller mount).
inline constexpr int kMaxCgroupFds = 8;

/// What the child knows from the moment it is cloned: its descriptors and where the run's
/// ChildSpec will be published. Lives in the cloning thread's stack, which the child copies.
struct ChildBoot {
  int stdin_fd = -1;   ///< Becomes fd 0.
  int stdout_fd = -1;  ///< Becomes fd 1.
  int stderr_fd = -1;  ///< Becomes fd 2.
  int sync_fd = -1;    ///< Read end: one byte arrives when the ChildSpec is published.
  int err_fd = -1;     ///< Write end of the error pipe (O_CLOEXEC).
  /// The child's end of an AF_UNIX channel: the egress listener goes out on it, the workspace's
  /// mount tree (mount.h, ReceiveHandedTree) comes in.
  int net_fd = -1;
  /// cgroup v1: `tasks` files of the run's cgroups; the child writes "0" to each to move
  /// itself in (cgroup.h, OpenSelfAttachFds). Empty on v2 (clone3 placed it) or without cgroups.
  int cgroup_tasks_fds[kMaxCgroupFds] = {};
  int cgroup_tasks_count = 0;
  /// A sealed memfd holding the held waiter (prepared::MakeHeldWaiter), for a child spawned
  /// to be held (ChildSpec::hold_for_release); -1 otherwise.
  int held_waiter_fd = -1;
  bool new_cgroup_ns = false;  ///< Unshare the cgroup namespace after joining the cgroup.
  bool clear_groups = false;   ///< The supervisor is root: setgroups(2) is allowed.
  int cap_last = 0;
  /// Slot in shared memory that holds the ChildSpec pointer once sync_fd delivers its byte.
  const ChildSpec* const* spec = nullptr;
};

/// Child side: closes every inherited descriptor it does not own, waits for its run, applies
/// every layer and executes the program; never returns. Each failure is reported through
/// `boot.err_fd` (child.h). REQUIRES: called in the child of a clone3(2) with new user, mount,
/// pid, net, ipc and uts namespaces whose id maps the supervisor writes.
[[noreturn]] void Contain(const ChildBoot& boot);

}  // namespace skillrt::sandbox

#endif  // SKILLRT_SANDBOX_LINUX_CONTAIN_H_
