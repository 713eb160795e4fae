// Sandboxes prepared for one plan: spawned and started for the plan a run just had, with
// every layer applied, and held until the next run of exactly that plan releases them. A plan
// whose program is `python3 SCRIPT.py ARGS` gets an interpreter already initialised: the
// sandbox runs a bootstrap of skillrt's (standard library only) that initialises it and then
// waits on its control descriptor; released, it runs the script as `python3 SCRIPT.py ARGS`
// would. Any other eligible plan's sandbox waits just before execve (ChildSpec::
// hold_for_release). Either never runs skill code before its release and serves exactly one
// run of exactly the plan it was made for (docs/sandbox.md, "Prepared sandboxes").
#ifndef SKILLRT_SANDBOX_LINUX_PREPARED_H_
#define SKILLRT_SANDBOX_LINUX_PREPARED_H_

#include <cstddef>
#include <list>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "sandbox/linux/cgroup.h"
#include "sandbox/linux/contain.h"
#include "sandbox/linux/spawn.h"
#include "skillrt/fd.h"
#include "skillrt/plan.h"

namespace skillrt::prepared {

/// The environment variable whose value differs from run to run of one plan (the engine's
/// run id): left out of the key and handed to the interpreter at its release.
inline constexpr std::string_view kPerRunVariable = "SKILLRT_RUN_ID";

/// Exit status of a bootstrap whose control descriptor closed (or said anything but a
/// release) before its release: it runs nothing.
inline constexpr int kAbandonedExit = 125;

/// The bootstrap, Python source run with `-c`. It expects its control descriptor as
/// kKeptChannelFd (contain.h) and `sys.argv[1:]` to be the plan's `SCRIPT ARGS`.
std::string_view BootstrapSource();

/// True when `plan` may be served by a prepared sandbox: no network (the egress listener is
/// made per run), no workspace (its ID-mapped tree is made per run), and the plan carries its
/// skill's tree hash (part of the key: a changed skill is another plan).
bool Eligible(const Plan& plan);

/// True when an eligible `plan` gets a prepared interpreter rather than a sandbox held before
/// execve: its program `exe` (the sandbox path argv[0] resolved to) is named python3 or
/// python3.N; argv is `python3 SCRIPT.py ...` with no interpreter option; and the environment
/// does not ask for an interactive session after the script (PYTHONINSPECT).
bool RunsPythonScript(const Plan& plan, std::string_view exe);

/// The argv that starts the bootstrap for `argv` (an eligible plan's): argv[0], "-c", the
/// bootstrap, then argv[1:].
std::vector<std::string> BootstrapArgv(const std::vector<std::string>& argv);

/// What identifies a run for a prepared sandbox: the complete ChildSpec (root recipe and
/// pinned objects, rlimits, Landlock rules, seccomp program, program, working directory, argv,
/// environment with kPerRunVariable's value left out), the cgroup limits and whether there is
/// a cgroup, and the skill's tree hash; as bytes compared whole, not a digest of them.
std::string KeyOf(const sandbox::ChildSpec& spec, const cgroup::CgroupLimits& limits,
                  bool use_cgroup, std::string_view tree_sha256);

/// The release message for a run whose environment is `env`: "r", then kPerRunVariable's
/// entry ("NAME=value") if the environment has one.
std::string ReleaseMessage(const std::vector<std::string>& env);

/// A sealed memfd (close-on-exec) holding the held sandbox's waiter program (held_waiter.c),
/// which a sandbox held before execve executes once every layer is applied, or an empty
/// descriptor where there is none (a build for another architecture than x86-64, or a memfd
/// that could not be made): no sandbox is held then, and Python interpreters are still
/// prepared. Thread-safe; the caller owns the descriptor.
UniqueFd MakeHeldWaiter();

/// Releases the prepared sandbox whose pidfd is `pidfd` (-1: not checked) through the
/// supervisor's end `channel_fd` of its channel with `message` (ReleaseMessage). Does not
/// wait for it. False, with nothing sent, when it has exited, its channel is closed or
/// readable (neither a bootstrap nor a held sandbox writes anything), or `message` is longer
/// than kMaxReleaseBytes: the caller discards it and nothing of the run has started; false
/// too when the message cannot be sent.
bool Release(int pidfd, int channel_fd, std::string_view message);

/// The prepared sandboxes of one runtime, at most `capacity`, one per key; when a new one
/// would exceed the capacity, the one put longest ago goes (a key's sandbox is put again
/// right after each run of it, so that is the least recently used). Not thread-safe: the
/// runtime guards it with its lock.
class PreparedSet {
 public:
  explicit PreparedSet(size_t capacity) : capacity_(capacity) {}

  /// Removes and returns the sandbox prepared for `key`, if any.
  std::optional<sandbox::SandboxProcess> Take(const std::string& key);

  /// True when a sandbox for `key` is held.
  bool Holds(const std::string& key) const;

  /// Holds `process` as the sandbox for `key`, replacing one held for it. Returns what
  /// no longer fits (the caller destroys it, which kills the process and removes its cgroup,
  /// without the runtime's lock held).
  std::vector<sandbox::SandboxProcess> Put(std::string key, sandbox::SandboxProcess process);

  /// Removes and returns every sandbox held.
  std::vector<sandbox::SandboxProcess> TakeAll();

  size_t size() const { return entries_.size(); }
  size_t capacity() const { return capacity_; }

 private:
  size_t capacity_;
  std::list<std::pair<std::string, sandbox::SandboxProcess>> entries_;  // Newest first.
};

}  // namespace skillrt::prepared

#endif  // SKILLRT_SANDBOX_LINUX_PREPARED_H_
