#include "container/run_stats.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace skillrt::container {
namespace {

namespace fs = std::filesystem;

constexpr const char* kCgroupRoot = "/sys/fs/cgroup";

uint64_t ReadNumber(const fs::path& file) {
  std::ifstream in(file);
  uint64_t value = 0;
  if (!(in >> value)) return 0;
  return value;
}

// The value of `key` in a flat-keyed file ("key value" lines), or 0.
uint64_t ReadKey(const fs::path& file, std::string_view key) {
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string name;
    uint64_t value = 0;
    if (fields >> name >> value && name == key) return value;
  }
  return 0;
}

// rmdir(2) of `dir`, retried for up to a second while it is busy (the engine may still be
// removing the container's cgroup below it).
void RemoveDir(const fs::path& dir) {
  for (int attempt = 0; attempt < 50; ++attempt) {
    if (::rmdir(dir.c_str()) == 0 || errno == ENOENT) return;
    if (errno != EBUSY && errno != ENOTEMPTY) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
}

}  // namespace

size_t KillRunProcesses(int version, const std::string& parent) {
  const std::string rel = parent.starts_with("/") ? parent.substr(1) : parent;
  if (rel.empty()) return 0;
  if (version == 2) {
    std::ofstream kill_file(fs::path(kCgroupRoot) / rel / "cgroup.kill");
    kill_file << "1";
    kill_file.flush();
    return kill_file.good() ? 1 : 0;
  }
  if (version != 1) return 0;
  // Every hierarchy holds every process of the run; one that counts them all will do.
  size_t signalled = 0;
  for (const char* hierarchy : {"pids", "memory", "cpuacct"}) {
    const fs::path top = fs::path(kCgroupRoot) / hierarchy / rel;
    std::error_code ec;
    if (!fs::is_directory(top, ec)) continue;
    std::vector<fs::path> dirs = {top};
    for (fs::recursive_directory_iterator it(top, ec), end; !ec && it != end; it.increment(ec)) {
      if (it->is_directory(ec)) dirs.push_back(it->path());
    }
    for (const fs::path& dir : dirs) {
      std::ifstream procs(dir / "cgroup.procs");
      pid_t pid = 0;
      while (procs >> pid) {
        if (pid > 0 && ::kill(pid, SIGKILL) == 0) ++signalled;
      }
    }
    break;
  }
  return signalled;
}

std::string RunCgroupParent(const std::string& run_id) { return "/skillrt.container/" + run_id; }

RunStats CollectAndRemove(int version, const std::string& parent) {
  RunStats stats;
  const std::string rel = parent.starts_with("/") ? parent.substr(1) : parent;
  std::error_code ec;
  if (version == 2) {
    const fs::path dir = fs::path(kCgroupRoot) / rel;
    stats.cpu_usage_us = ReadKey(dir / "cpu.stat", "usage_usec");
    stats.memory_peak_bytes = ReadNumber(dir / "memory.peak");
    stats.oom_killed = ReadKey(dir / "memory.events", "oom_kill") > 0;
    stats.pids_limit_hit = ReadKey(dir / "pids.events", "max") > 0;
    RemoveDir(dir);
    return stats;
  }
  if (version != 1) return stats;
  const fs::path root(kCgroupRoot);
  stats.cpu_usage_us = ReadNumber(root / "cpuacct" / rel / "cpuacct.usage") / 1000;
  stats.memory_peak_bytes = ReadNumber(root / "memory" / rel / "memory.max_usage_in_bytes");
  stats.pids_limit_hit = ReadKey(root / "pids" / rel / "pids.events", "max") > 0;
  // The engine created the parent in every mounted hierarchy.
  for (const auto& entry : fs::directory_iterator(root, ec)) {
    const fs::path dir = entry.path() / rel;
    if (fs::is_directory(dir, ec)) RemoveDir(dir);
  }
  return stats;
}

}  // namespace skillrt::container
