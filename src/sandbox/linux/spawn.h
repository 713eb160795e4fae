// Creating a sandboxed child and handing it a run.
//
// A child is spawned (clone3 into new namespaces, id maps written, run cgroup created) before
// it is told what to run; it waits. Starting it publishes a ChildSpec into memory it shares
// with the supervisor and releases it. The two steps may be far apart: the runtime keeps one
// child spawned ahead of need, so that namespace creation is not on a run's critical path.
#ifndef SKILLRT_SANDBOX_LINUX_SPAWN_H_
#define SKILLRT_SANDBOX_LINUX_SPAWN_H_

#include <sys/types.h>

#include <cstddef>
#include <optional>
#include <string>
#include <utility>

#include "sandbox/linux/cgroup.h"
#include "sandbox/linux/contain.h"
#include "sandbox/linux/userns.h"
#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::sandbox {

/// Anonymous memory mapped MAP_SHARED before a child is cloned, so that what the supervisor
/// writes into it later is visible to the child. A bump allocator; the first bytes hold the
/// slot for the published ChildSpec pointer. Move-only owner of the mapping.
class SharedArena {
 public:
  /// Maps `bytes` (rounded up to pages). Pages are committed only when written.
  static Result<SharedArena> Create(size_t bytes);

  SharedArena(SharedArena&& other) noexcept;
  SharedArena& operator=(SharedArena&& other) noexcept;
  SharedArena(const SharedArena&) = delete;
  SharedArena& operator=(const SharedArena&) = delete;
  ~SharedArena();

  /// `n` bytes aligned to `align`, or nullptr when the arena is full.
  void* Allocate(size_t n, size_t align);

  /// Where the published ChildSpec pointer lives.
  const ChildSpec** spec_slot() const { return static_cast<const ChildSpec**>(base_); }

  size_t capacity() const { return size_; }

 private:
  SharedArena(void* base, size_t size) : base_(base), size_(size), used_(kHeaderBytes) {}
  static constexpr size_t kHeaderBytes = 64;
  void* base_ = nullptr;
  size_t size_ = 0;
  size_t used_ = 0;
};

/// How to spawn a child.
struct SpawnConfig {
  userns::IdMap ids;
  int cap_last = 0;
  /// The cgroup layout, or nullptr to run without a cgroup (best-effort on a host without).
  const cgroup::Probe* cgroups = nullptr;
  cgroup::CgroupLimits cgroup_limits;
  std::string cgroup_name;  ///< Unique among live runs; [A-Za-z0-9_-].
  size_t arena_bytes = 1 << 20;
  /// For a child that will be held (ChildSpec::hold_for_release): the held waiter's memfd
  /// (prepared::MakeHeldWaiter), which the child inherits; it stays the caller's. -1 otherwise.
  int held_waiter_fd = -1;
};

/// A spawned child: waiting for its run, or running it. Owns the child: destroying an object
/// whose child was not reaped kills and reaps it. Move-only; not thread-safe.
struct SandboxProcess {
  SandboxProcess() = default;
  SandboxProcess(SandboxProcess&& other) noexcept { *this = std::move(other); }
  SandboxProcess& operator=(SandboxProcess&&) noexcept;
  ~SandboxProcess();

  /// Kills (SIGKILL through the pidfd) and reaps the child, if any.
  void Kill();

  pid_t pid = 0;  ///< 0 once reaped.
  UniqueFd pidfd;
  UniqueFd stdin_w, stdout_r, stderr_r, err_r, sync_w;  ///< The supervisor's ends.
  /// The supervisor's end of the channel: the egress listener comes in (netns.h), the
  /// workspace's tree goes out (Start).
  UniqueFd net_r;
  std::optional<SharedArena> arena;
  std::optional<cgroup::RunCgroup> cgroup;
  cgroup::CgroupLimits cgroup_limits;  ///< What the cgroup holds now.
};

/// Spawns a child that waits for Start. Errors: kSandbox (clone3, id maps, cgroup), kIo.
Result<SandboxProcess> Spawn(const SpawnConfig& config);

/// Copies `spec` (and everything it points to) into the child's arena, sends `handed_fd` (when
/// not -1: the workspace's mount tree, which `spec.root` then expects) over the channel, and
/// releases the child. kInvalidArgument if the spec does not fit (the caller spawns a child
/// with a larger arena); kSandbox if the descriptor cannot be sent. `handed_fd` stays the
/// caller's.
Result<void> Start(SandboxProcess& process, const ChildSpec& spec, int handed_fd = -1);

/// Bytes of arena that Start needs for `spec`.
size_t ArenaBytesFor(const ChildSpec& spec);

}  // namespace skillrt::sandbox

#endif  // SKILLRT_SANDBOX_LINUX_SPAWN_H_
