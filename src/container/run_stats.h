// Accounting of one container run, read from the cgroup parent the engine created the
// container under (podman with the cgroupfs manager, `--cgroup-parent`), then removed.
//
// The engine removes the container's own cgroup when the container is removed (`--rm`), but
// not the parent skillrt named; the kernel keeps hierarchical totals there: CPU time
// (v1 cpuacct.usage, v2 cpu.stat usage_usec), peak memory (v1 memory.max_usage_in_bytes,
// v2 memory.peak), and, on v2, OOM kills (memory.events, hierarchical). On v1 an OOM kill is
// counted only in the container's own cgroup, which is gone: see docs/container.md for how
// a memory kill is recognized there.
#ifndef SKILLRT_CONTAINER_RUN_STATS_H_
#define SKILLRT_CONTAINER_RUN_STATS_H_

#include <cstdint>
#include <optional>
#include <string>

namespace skillrt::container {

/// What the kernel accounted for a run's cgroup parent.
struct RunStats {
  uint64_t cpu_usage_us = 0;
  uint64_t memory_peak_bytes = 0;
  /// v2: the OOM killer killed a process under the parent; v1: unknown (nullopt).
  std::optional<bool> oom_killed;
  /// A fork failed at pids.max somewhere under the parent (pids.events "max", hierarchical on
  /// v2; on v1 only when counted at the parent itself).
  bool pids_limit_hit = false;
};

/// "/skillrt.container/<run_id>": the cgroup parent of a run, relative to each hierarchy root.
std::string RunCgroupParent(const std::string& run_id);

/// Sends SIGKILL to every process under the cgroup `parent` (RunCgroupParent) on cgroup
/// `version` 1 or 2: on v2 by writing "1" to its cgroup.kill (cgroups(7), Linux 5.14), on v1
/// by signalling each pid in the cgroup.procs files below it in one hierarchy (the container's
/// init is among them, and its death takes its pid namespace with it). The engine's own
/// monitor (conmon) is outside the parent (`--cgroups no-conmon`), so it sees the container
/// exit and the engine CLI removes it. Returns how many processes were signalled (v2: 1 when
/// cgroup.kill was written); 0 when nothing could be, and the caller must stop the run another
/// way.
size_t KillRunProcesses(int version, const std::string& parent);

/// Reads the accounting of `parent` (RunCgroupParent) under /sys/fs/cgroup on cgroup
/// `version` 1 or 2, then removes the parent in every hierarchy where it exists (retrying
/// briefly while the engine is still removing the container's cgroup below it). Missing files
/// read as zero. Never fails: what cannot be removed is left (and is empty).
RunStats CollectAndRemove(int version, const std::string& parent);

}  // namespace skillrt::container

#endif  // SKILLRT_CONTAINER_RUN_STATS_H_
