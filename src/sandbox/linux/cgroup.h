// Per-run control groups for the native sandbox: one cgroup per run, with memory, process
// count and CPU bandwidth limits, on either cgroup v2 (unified) or cgroup v1 (one hierarchy per
// controller). Layout and rationale: docs/cgroups.md. Kernel interface:
// Documentation/admin-guide/cgroup-v2.rst and Documentation/admin-guide/cgroup-v1/*.rst.
#ifndef SKILLRT_SANDBOX_LINUX_CGROUP_H_
#define SKILLRT_SANDBOX_LINUX_CGROUP_H_

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::cgroup {

/// Which cgroup interface skillrt drives.
enum class Version {
  kNone,  ///< No usable cgroup hierarchy; Probe::reason says why.
  kV1,    ///< Legacy hierarchies: memory, pids, cpu and cpuacct each mounted (or co-mounted).
  kV2,    ///< The unified hierarchy with the memory, pids and cpu controllers available.
};

/// Returns "none", "v1" or "v2" (the suffix of the "cgroup:v1" layer name in an Outcome).
std::string_view VersionName(Version version);

/// Controllers skillrt uses, as bits of Hierarchy::controllers.
enum Controller : uint32_t {
  kMemory = 1u << 0,
  kPids = 1u << 1,
  kCpu = 1u << 2,
  kCpuacct = 1u << 3,  ///< v1 only: CPU usage accounting (on v2 it is part of `cpu.stat`).
};

/// One mounted hierarchy and the skillrt parent cgroup prepared in it.
struct Hierarchy {
  uint32_t controllers = 0;  ///< Controller bits that runs use through this hierarchy.
  /// Absolute path of the parent cgroup of all runs, e.g. "/sys/fs/cgroup/memory/skillrt".
  std::string parent_path;
  /// O_DIRECTORY fd of `parent_path`, kept open so that a run needs only mkdirat/openat.
  UniqueFd parent_dir;
};

/// The result of cgroup detection: which interface, where the parent cgroups are, and which
/// optional interface files exist. Move-only (owns the parent directory fds).
struct Probe {
  Version version = Version::kNone;
  /// Why cgroups are unavailable when `version` is kNone, e.g.
  /// "mkdir(/sys/fs/cgroup/skillrt): EACCES (Permission denied)". Empty otherwise.
  std::string reason;
  /// v2: exactly one entry with kMemory|kPids|kCpu. v1: one entry per mount, covering
  /// kMemory, kPids, kCpu and kCpuacct between them (cpu and cpuacct may share a mount).
  std::vector<Hierarchy> hierarchies;
  /// The swap limit file exists: v2 `memory.swap.max`; v1 `memory.memsw.limit_in_bytes`
  /// (only with swap accounting enabled).
  bool has_swap_limit = false;
  /// v2 `memory.peak` exists (Linux 5.19+). v1 always has `memory.max_usage_in_bytes`.
  bool has_memory_peak = false;
  /// v2 `cgroup.kill` exists (Linux 5.14+).
  bool has_kill = false;
};

/// Detects the cgroup layout from /proc/self/mountinfo and /proc/self/cgroup and prepares the
/// skillrt parent cgroup(s) (see PrepareProbe). Computed once per process; later calls return
/// the same object, which lives until exit. Thread-safe. Never fails: an unusable layout is a
/// Probe with Version::kNone and a reason.
const Probe& Detect();

/// The uncached work behind Detect(): reads the two /proc files and calls PrepareProbe. Each
/// call may create the parent cgroups and returns new fds. Thread-safe.
Probe DetectUncached();

/// Resource limits of one run's cgroup.
struct CgroupLimits {
  /// Memory of the whole run, page cache and kernel memory included, in bytes. Swap is not
  /// allowed to extend it. Must be > 0.
  uint64_t memory_max_bytes = 256ull << 20;
  /// Processes and threads alive at once. Must be > 0.
  uint32_t pids_max = 64;
  /// CPU bandwidth in percent of one CPU per 100 ms period (100 = one full CPU, 200 = two);
  /// 0 leaves bandwidth unlimited.
  uint32_t cpu_quota_percent = 100;
};

/// What the kernel accounted for a run. Fields are 0/false when a file is missing or unreadable.
struct Stats {
  /// CPU time of all processes, user + system, in microseconds: v2 `cpu.stat` usage_usec;
  /// v1 `cpuacct.usage` (nanoseconds) / 1000.
  uint64_t cpu_usage_us = 0;
  /// Highest memory charge seen, in bytes: v2 `memory.peak` (0 before Linux 5.19);
  /// v1 `memory.max_usage_in_bytes`.
  uint64_t memory_peak_bytes = 0;
  /// The kernel's OOM killer killed a process of this cgroup because of its memory limit:
  /// v2 `memory.events` oom_kill > 0; v1 `memory.oom_control` oom_kill > 0 (Linux 4.13+).
  /// `memory.failcnt` is not used: it counts every charge that hit the limit, including ones
  /// that reclaim satisfied, so it would report OOM for runs that merely filled the page cache.
  bool oom_killed = false;
  /// A fork or clone failed because `pids.max` was reached: `pids.events` max > 0 (v1 and v2).
  bool pids_limit_hit = false;
};

/// One run's cgroup (one per hierarchy on v1), created with its limits applied and removed on
/// destruction after killing whatever is left in it. Move-only; not thread-safe.
class RunCgroup {
 public:
  /// Creates `<parent>/<run_id>` in every hierarchy of `probe` and writes `limits`:
  /// v2 memory.max, memory.swap.max=0 (when present), memory.oom.group=1, pids.max, cpu.max;
  /// v1 memory.limit_in_bytes, memory.memsw.limit_in_bytes (when present), pids.max,
  /// cpu.cfs_quota_us. On failure removes whatever it created.
  /// `run_id`: 1-64 characters of [A-Za-z0-9_-]. The probe's parent fds are only used here;
  /// the RunCgroup does not borrow `probe`.
  /// Errors: kUnsupported (probe.version is kNone; message has probe.reason),
  /// kInvalidArgument (bad run_id, memory_max_bytes or pids_max of 0),
  /// kConflict (a cgroup with this run id already exists), kSandbox (any other failed
  /// mkdir/open/write, naming the file).
  static Result<RunCgroup> Create(const Probe& probe, std::string_view run_id,
                                  const CgroupLimits& limits);

  RunCgroup(RunCgroup&& other) noexcept;
  RunCgroup& operator=(RunCgroup&& other) noexcept;
  RunCgroup(const RunCgroup&) = delete;
  RunCgroup& operator=(const RunCgroup&) = delete;
  /// Takes over the existing run cgroup `<parent>/<name>` in every hierarchy of `probe` where
  /// it exists (a run whose supervisor died), so that Destroy() ends its processes and
  /// removes it. Writes no limits. Errors: kInvalidArgument (bad name), kNotFound (in no
  /// hierarchy), kSandbox (a directory that exists cannot be opened).
  static Result<RunCgroup> Adopt(const Probe& probe, std::string_view name);

  /// Calls Destroy() and ignores its error.
  ~RunCgroup();

  /// Moves process `pid` (all its threads) into the run's cgroup of every hierarchy by writing
  /// it to `cgroup.procs`. On v2, prefer starting the child with clone3(CLONE_INTO_CGROUP) and
  /// v2_fd(), which needs no extra call. On v1 the child must not fork or allocate before this
  /// returns. kSandbox naming the file on failure (ESRCH if the process is gone).
  Result<void> AddProcess(pid_t pid);

  /// Changes the limits of an existing run cgroup from `current` (what Create or the last
  /// Retune wrote) to `wanted`, writing only the values that differ. On v1 the memory and
  /// memory+swap limits are written in the order the kernel requires (memory <= memsw).
  /// kSandbox naming the file on failure.
  Result<void> Retune(const Probe& probe, const CgroupLimits& current, const CgroupLimits& wanted);

  /// Opens, for a child to join the run by itself, the `tasks` file of the run's cgroup in every
  /// v1 hierarchy (O_WRONLY|O_CLOEXEC). A single-threaded process writing "0" to each moves
  /// itself in; moving one thread does not take the kernel's global threadgroup lock, whose
  /// write side waits for an RCU grace period (milliseconds), as writing a pid to
  /// `cgroup.procs` from the supervisor does. The write is permitted by the credentials that
  /// opened the file (cgroup-v1 tasks: the opener's euid), so the supervisor opens them.
  /// Empty on v2 (use v2_fd() with CLONE_INTO_CGROUP). kSandbox naming the file on failure.
  Result<std::vector<UniqueFd>> OpenSelfAttachFds() const;

  /// O_DIRECTORY fd of the v2 run cgroup, for clone3's cgroup field with CLONE_INTO_CGROUP
  /// (clone(2)); -1 on v1 or for a moved-from object. Owned by this object.
  int v2_fd() const;

  /// Absolute path of the run cgroup in the first hierarchy (the memory one on v1); empty for a
  /// moved-from object. For messages and tests.
  const std::string& path() const;

  /// SIGKILLs every process in the run and waits (up to 2 s) until none is left. v2 with
  /// cgroup.kill writes "1" to it; otherwise (v2 before Linux 5.14, and v1) repeatedly lists
  /// `cgroup.procs` and signals each listed process through a pidfd opened while it was still
  /// listed, so a recycled pid is never signalled. Does not reap: an unreaped child of the
  /// caller becomes a zombie, which the kernel no longer counts as a member.
  /// kSandbox when a file cannot be read or written, or processes are still present at the
  /// deadline.
  Result<void> KillAll();

  /// Reads the run's accounting (see Stats). Read it before destruction.
  Stats ReadStats() const;

  /// Removes the run's cgroups: rmdir; if a cgroup still has processes (EBUSY), KillAll() and
  /// retry with backoff for up to 2 s. Idempotent. kSandbox naming the directory on failure;
  /// the object is empty afterwards either way.
  Result<void> Destroy();

 private:
  struct Dir {
    uint32_t controllers = 0;
    std::string path;  // Absolute path of the run cgroup; rmdir(2) takes it.
    UniqueFd dir;      // O_DIRECTORY fd of the run cgroup.
  };

  RunCgroup() = default;
  Result<void> WriteLimits(const Probe& probe, const CgroupLimits& limits);
  const Dir* Find(uint32_t controller) const;
  Result<void> RemoveDirs();

  Version version_ = Version::kNone;
  bool has_kill_ = false;
  bool has_memory_peak_ = false;
  std::string run_id_;
  std::vector<Dir> dirs_;
};

// Parsing helpers, exposed for tests.

/// One cgroup or cgroup2 line of /proc/<pid>/mountinfo (proc(5)).
struct CgroupMount {
  std::string root;         ///< Path inside the hierarchy that is the mount's root (field 4).
  std::string mount_point;  ///< Where it is mounted (field 5), octal escapes decoded.
  bool v2 = false;          ///< fstype "cgroup2" (else "cgroup").
  uint32_t controllers = 0; ///< v1: Controller bits named in the super options; v2: 0.
};

/// Returns the cgroup/cgroup2 mounts in `mountinfo`, in file order; ignores other lines and
/// malformed ones.
std::vector<CgroupMount> ParseMountInfo(std::string_view mountinfo);

/// Returns this process's cgroup path from `proc_cgroup` (the text of /proc/self/cgroup,
/// see cgroups(7)): with `v2`, the "0::" line; otherwise the line whose controller list holds
/// every bit of `controllers`. nullopt when there is none.
std::optional<std::string> OwnCgroupPath(std::string_view proc_cgroup, bool v2,
                                         uint32_t controllers);

/// Returns the directory of cgroup `cgroup_path` as seen through `mount`, or nullopt when the
/// path is outside the mount's root (e.g. a bind mount of a subtree, or a path above the cgroup
/// namespace root, which the kernel shows as "/..").
std::optional<std::string> DirThroughMount(const CgroupMount& mount, std::string_view cgroup_path);

/// Builds a Probe from the given /proc texts: picks v2 when a cgroup2 mount offers memory, pids
/// and cpu, else v1 when memory, pids, cpu and cpuacct are mounted, and creates the "skillrt"
/// parent cgroup under this process's own cgroup or, failing that, under the hierarchy root.
/// On v2 it enables the controllers in the chosen base's and the parent's
/// `cgroup.subtree_control`; a base that holds processes refuses that (EBUSY, the "no internal
/// processes" rule), so the hierarchy root, which is exempt, is tried next.
Probe PrepareProbe(std::string_view mountinfo, std::string_view proc_cgroup);

}  // namespace skillrt::cgroup

#endif  // SKILLRT_SANDBOX_LINUX_CGROUP_H_
