// Per-process resource limits (setrlimit(2)), applied in the child before execve.
#ifndef SKILLRT_SANDBOX_LINUX_RLIMIT_H_
#define SKILLRT_SANDBOX_LINUX_RLIMIT_H_

#include <sys/resource.h>

#include <vector>

#include "skillrt/manifest.h"

namespace skillrt::rlimit {

/// One limit to set: soft and hard values of `resource`.
struct Setting {
  int resource = 0;
  struct rlimit value = {};
  const char* name = "";  ///< For error messages, e.g. "RLIMIT_CPU".
};

/// The rlimits for `limits`. When `memory_in_cgroup` is false (no memory cgroup), the
/// address space is capped with RLIMIT_AS as a coarser substitute.
std::vector<Setting> ForLimits(const Limits& limits, bool memory_in_cgroup);

/// Child side: applies `settings`. On failure reports on `err_fd` and exits.
void Apply(const Setting* settings, size_t count, int err_fd);

}  // namespace skillrt::rlimit

#endif  // SKILLRT_SANDBOX_LINUX_RLIMIT_H_
