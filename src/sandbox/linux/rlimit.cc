#include "sandbox/linux/rlimit.h"

#include <errno.h>

#include "sandbox/linux/child.h"

namespace skillrt::rlimit {

std::vector<Setting> ForLimits(const Limits& limits, bool memory_in_cgroup) {
  std::vector<Setting> s;
  // CPU seconds per process: SIGXCPU at the soft limit, SIGKILL one second later at the hard
  // limit (setrlimit(2)). Rounded up: the limit is never tighter than declared.
  const rlim_t cpu_s = static_cast<rlim_t>((limits.cpu_time.count() + 999) / 1000);
  s.push_back({RLIMIT_CPU, {cpu_s, cpu_s + 1}, "RLIMIT_CPU"});
  // Largest file a process may write; past it write(2) raises SIGXFSZ.
  s.push_back({RLIMIT_FSIZE, {limits.file_size_max_bytes, limits.file_size_max_bytes},
               "RLIMIT_FSIZE"});
  s.push_back({RLIMIT_NOFILE, {limits.open_files_max, limits.open_files_max}, "RLIMIT_NOFILE"});
  // No core dumps: they would write the skill's memory (and any secret in it) to disk.
  s.push_back({RLIMIT_CORE, {0, 0}, "RLIMIT_CORE"});
  // POSIX message queues live in the sandbox's IPC namespace; none are needed.
  s.push_back({RLIMIT_MSGQUEUE, {0, 0}, "RLIMIT_MSGQUEUE"});
  // No RLIMIT_NPROC: it counts every process of the host uid, across concurrent sandboxes;
  // the pids cgroup bounds the sandbox's own processes instead.
  if (!memory_in_cgroup) {
    s.push_back({RLIMIT_AS, {limits.memory_max_bytes, limits.memory_max_bytes}, "RLIMIT_AS"});
  }
  return s;
}

void Apply(const Setting* settings, size_t count, int err_fd) {
  for (size_t i = 0; i < count; ++i) {
    const Setting& setting = settings[i];
    if (::setrlimit(static_cast<__rlimit_resource>(setting.resource), &setting.value) != 0) {
      sandbox::ChildFail(err_fd, setting.name, errno);
    }
  }
}

}  // namespace skillrt::rlimit
