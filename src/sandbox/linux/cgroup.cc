#include "sandbox/linux/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <utility>

namespace skillrt::cgroup {
namespace {

using Clock = std::chrono::steady_clock;

// Name of the parent cgroup under which every run's cgroup is created.
constexpr char kParentName[] = "skillrt";
// How long KillAll and Destroy wait for killed processes to leave the cgroup. SIGKILL is
// delivered promptly, but a process that is freeing a large address space takes a while.
constexpr auto kKillDeadline = std::chrono::seconds(2);
// The CFS bandwidth period, in microseconds: the kernel's default for a new cgroup (100 ms), so
// on v1 `cpu.cfs_period_us` never needs a write.
constexpr uint64_t kCpuPeriodUs = 100'000;
constexpr uint32_t kV1Needed = kMemory | kPids | kCpu | kCpuacct;
constexpr uint32_t kV2Needed = kMemory | kPids | kCpu;

std::string Join(std::string_view dir, std::string_view name) {
  std::string path;
  path.reserve(dir.size() + 1 + name.size());
  path += dir;
  path += '/';
  path += name;
  return path;
}

// Reads a whole (pseudo-)file at `dirfd`/`name` into `out`. Returns 0 or an errno.
int ReadAt(int dirfd, const char* name, std::string* out) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return errno;
  out->clear();
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(fd.get(), buf, sizeof(buf));
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0) return 0;
    out->append(buf, static_cast<size_t>(n));
  }
}

// Reads a small cgroup file into `buf` (one read(2): the kernel produces these in one go).
// Returns the text, empty on any error.
std::string_view ReadSmallAt(int dirfd, const char* name, char* buf, size_t cap) {
  UniqueFd fd(::openat(dirfd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) return {};
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, cap);
  } while (n < 0 && errno == EINTR);
  return n > 0 ? std::string_view(buf, static_cast<size_t>(n)) : std::string_view();
}

// Writes `value` to the cgroup interface file `dir_path`/`name` (open at `dirfd`). A cgroup
// file takes the value in a single write(2); a short write is an error.
Result<void> WriteAt(int dirfd, const std::string& dir_path, const char* name,
                     std::string_view value) {
  UniqueFd fd(::openat(dirfd, name, O_WRONLY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kSandbox, "open(" + Join(dir_path, name) + ")", errno);
  ssize_t n;
  do {
    n = ::write(fd.get(), value.data(), value.size());
  } while (n < 0 && errno == EINTR);
  if (n < 0) return FailErrno(ErrorCode::kSandbox, "write(" + Join(dir_path, name) + ")", errno);
  if (static_cast<size_t>(n) != value.size()) {
    return Fail(ErrorCode::kSandbox, "write(" + Join(dir_path, name) + "): short write");
  }
  return {};
}

Result<void> WriteNumberAt(int dirfd, const std::string& dir_path, const char* name,
                           uint64_t value) {
  char buf[24];
  auto [end, ec] = std::to_chars(buf, buf + sizeof(buf), value);
  return WriteAt(dirfd, dir_path, name, std::string_view(buf, static_cast<size_t>(end - buf)));
}

std::optional<uint64_t> ParseU64(std::string_view text) {
  uint64_t value = 0;
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || ptr == text.data()) return std::nullopt;
  return value;
}

// Finds "<key> <number>" at the start of a line of a flat-keyed cgroup file (cpu.stat,
// memory.events, pids.events, memory.oom_control).
std::optional<uint64_t> KeyedValue(std::string_view text, std::string_view key) {
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    if (line.size() > key.size() && line.starts_with(key) && line[key.size()] == ' ') {
      return ParseU64(line.substr(key.size() + 1));
    }
    if (eol == std::string_view::npos) break;
    text.remove_prefix(eol + 1);
  }
  return std::nullopt;
}

// Splits `text` at `sep`, calling fn(piece) for each piece.
template <typename Fn>
void Split(std::string_view text, char sep, Fn fn) {
  for (;;) {
    size_t pos = text.find(sep);
    fn(text.substr(0, pos));
    if (pos == std::string_view::npos) return;
    text.remove_prefix(pos + 1);
  }
}

uint32_t ControllerBit(std::string_view name) {
  if (name == "memory") return kMemory;
  if (name == "pids") return kPids;
  if (name == "cpu") return kCpu;
  if (name == "cpuacct") return kCpuacct;
  return 0;
}

uint32_t ControllerBits(std::string_view list, char sep) {
  uint32_t bits = 0;
  Split(list, sep, [&](std::string_view name) { bits |= ControllerBit(name); });
  return bits;
}

std::string ControllerNames(uint32_t bits) {
  std::string names;
  for (auto [bit, name] : {std::pair{kMemory, "memory"}, std::pair{kPids, "pids"},
                           std::pair{kCpu, "cpu"}, std::pair{kCpuacct, "cpuacct"}}) {
    if ((bits & bit) == 0) continue;
    if (!names.empty()) names += ' ';
    names += name;
  }
  return names;
}

// Decodes the octal escapes (\040 for a space, ...) that mountinfo uses in paths.
std::string UnescapeMountPath(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '\\' && i + 3 < text.size() &&
        std::all_of(text.begin() + i + 1, text.begin() + i + 4,
                    [](char c) { return c >= '0' && c <= '7'; })) {
      out += static_cast<char>((text[i + 1] - '0') * 64 + (text[i + 2] - '0') * 8 +
                               (text[i + 3] - '0'));
      i += 3;
    } else {
      out += text[i];
    }
  }
  return out;
}

bool ValidRunId(std::string_view id) {
  if (id.empty() || id.size() > 64) return false;
  return std::all_of(id.begin(), id.end(), [](char c) {
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
           c == '_' || c == '-';
  });
}

// Creates (or reuses) `base`/skillrt and opens it.
Result<Hierarchy> OpenParent(const std::string& base, uint32_t controllers) {
  Hierarchy h;
  h.controllers = controllers;
  h.parent_path = Join(base, kParentName);
  if (::mkdir(h.parent_path.c_str(), 0755) != 0 && errno != EEXIST) {
    return FailErrno(ErrorCode::kSandbox, "mkdir(" + h.parent_path + ")", errno);
  }
  h.parent_dir.Reset(::open(h.parent_path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!h.parent_dir) return FailErrno(ErrorCode::kSandbox, "open(" + h.parent_path + ")", errno);
  // A parent another user made (root's runs, seen by an unprivileged skillrt) opens but takes
  // no run cgroups: a usable hierarchy is one this process can create them in.
  if (::faccessat(h.parent_dir.get(), ".", W_OK | X_OK, AT_EACCESS) != 0) {
    return FailErrno(ErrorCode::kSandbox, "access(" + h.parent_path + ", W_OK)", errno);
  }
  return h;
}

// v2: makes memory, pids and cpu available to the children of the cgroup at `dir`.
Result<void> EnableV2Controllers(const std::string& dir) {
  UniqueFd fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kSandbox, "open(" + dir + ")", errno);
  std::string enabled;
  if (int err = ReadAt(fd.get(), "cgroup.subtree_control", &enabled); err != 0) {
    return FailErrno(ErrorCode::kSandbox, "read(" + Join(dir, "cgroup.subtree_control") + ")",
                     err);
  }
  while (!enabled.empty() && enabled.back() == '\n') enabled.pop_back();
  if ((ControllerBits(enabled, ' ') & kV2Needed) == kV2Needed) return {};
  return WriteAt(fd.get(), dir, "cgroup.subtree_control", "+memory +pids +cpu");
}

Result<Hierarchy> PrepareV2Base(const std::string& base) {
  if (auto r = EnableV2Controllers(base); !r) return std::unexpected(r.error());
  auto h = OpenParent(base, kV2Needed);
  if (!h) return h;
  if (auto r = EnableV2Controllers(h->parent_path); !r) return std::unexpected(r.error());
  return h;
}

// Candidate bases for the skillrt parent: this process's own cgroup (so that the limits of
// whoever started skillrt also bound its runs), then the hierarchy root.
std::vector<std::string> Bases(const CgroupMount& mount, std::string_view proc_cgroup,
                               uint32_t controllers) {
  std::vector<std::string> bases;
  if (auto own = OwnCgroupPath(proc_cgroup, mount.v2, controllers)) {
    if (auto dir = DirThroughMount(mount, *own)) bases.push_back(std::move(*dir));
  }
  if (bases.empty() || bases.front() != mount.mount_point) bases.push_back(mount.mount_point);
  return bases;
}

Probe Unavailable(std::string reason) {
  Probe probe;
  probe.reason = std::move(reason);
  return probe;
}

bool Exists(int dirfd, const char* name) { return ::faccessat(dirfd, name, F_OK, 0) == 0; }

std::optional<Probe> TryV2(const std::vector<CgroupMount>& mounts, std::string_view proc_cgroup,
                           std::string* reason) {
  auto it = std::find_if(mounts.begin(), mounts.end(), [](auto& m) { return m.v2; });
  if (it == mounts.end()) {
    *reason = "no cgroup2 mount";
    return std::nullopt;
  }
  std::string available;
  UniqueFd root(::open(it->mount_point.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  int err = root ? ReadAt(root.get(), "cgroup.controllers", &available) : errno;
  if (err != 0) {
    *reason = Error::FromErrno(ErrorCode::kSandbox,
                               "read(" + Join(it->mount_point, "cgroup.controllers") + ")", err)
                  .message;
    return std::nullopt;
  }
  while (!available.empty() && available.back() == '\n') available.pop_back();
  uint32_t missing = kV2Needed & ~ControllerBits(available, ' ');
  if (missing != 0) {
    *reason = "cgroup2 at " + it->mount_point + " lacks controllers: " + ControllerNames(missing);
    return std::nullopt;
  }
  std::string errors;
  for (const std::string& base : Bases(*it, proc_cgroup, 0)) {
    auto h = PrepareV2Base(base);
    if (!h) {
      if (!errors.empty()) errors += "; ";
      errors += h.error().message;
      continue;
    }
    Probe probe;
    probe.version = Version::kV2;
    probe.has_swap_limit = Exists(h->parent_dir.get(), "memory.swap.max");
    probe.has_memory_peak = Exists(h->parent_dir.get(), "memory.peak");
    probe.has_kill = Exists(h->parent_dir.get(), "cgroup.kill");
    probe.hierarchies.push_back(std::move(*h));
    return probe;
  }
  *reason = "cgroup v2: " + errors;
  return std::nullopt;
}

std::optional<Probe> TryV1(const std::vector<CgroupMount>& mounts, std::string_view proc_cgroup,
                           std::string* reason) {
  Probe probe;
  probe.version = Version::kV1;
  uint32_t covered = 0;
  for (const CgroupMount& mount : mounts) {
    uint32_t wanted = mount.controllers & kV1Needed & ~covered;
    if (mount.v2 || wanted == 0) continue;
    std::string errors;
    std::optional<Hierarchy> found;
    // The own-cgroup line must name every controller of the mount (e.g. "cpu,cpuacct").
    for (const std::string& base : Bases(mount, proc_cgroup, mount.controllers & kV1Needed)) {
      auto h = OpenParent(base, wanted);
      if (h) {
        found = std::move(*h);
        break;
      }
      if (!errors.empty()) errors += "; ";
      errors += h.error().message;
    }
    if (!found) {
      *reason = "cgroup v1: " + errors;
      return std::nullopt;
    }
    covered |= wanted;
    probe.hierarchies.push_back(std::move(*found));
  }
  if (covered != kV1Needed) {
    *reason = "cgroup v1: no mount of " + ControllerNames(kV1Needed & ~covered);
    return std::nullopt;
  }
  for (const Hierarchy& h : probe.hierarchies) {
    if (h.controllers & kMemory) {
      probe.has_swap_limit = Exists(h.parent_dir.get(), "memory.memsw.limit_in_bytes");
    }
  }
  probe.has_memory_peak = true;
  return probe;
}

// pidfd_open(2) (Linux 5.3) and pidfd_send_signal(2) (Linux 5.1) through syscall(2): glibc
// 2.36's <sys/pidfd.h> declares its wrappers without C linkage, so C++ cannot link them.
int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }
void PidfdKill(int pidfd) { ::syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, nullptr, 0); }

std::vector<pid_t> ParsePids(std::string_view text) {
  std::vector<pid_t> pids;
  Split(text, '\n', [&](std::string_view line) {
    if (auto v = ParseU64(line)) pids.push_back(static_cast<pid_t>(*v));
  });
  return pids;
}

void SleepFor(std::chrono::microseconds d) {
  timespec ts{.tv_sec = static_cast<time_t>(d.count() / 1'000'000),
              .tv_nsec = static_cast<long>(d.count() % 1'000'000) * 1000};
  while (::nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
}

}  // namespace

std::string_view VersionName(Version version) {
  switch (version) {
    case Version::kNone: return "none";
    case Version::kV1: return "v1";
    case Version::kV2: return "v2";
  }
  return "none";
}

std::vector<CgroupMount> ParseMountInfo(std::string_view mountinfo) {
  std::vector<CgroupMount> mounts;
  Split(mountinfo, '\n', [&](std::string_view line) {
    // "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory"
    std::vector<std::string_view> fields;
    Split(line, ' ', [&](std::string_view f) { fields.push_back(f); });
    auto dash = std::find(fields.begin(), fields.end(), "-");
    if (fields.size() < 6 || dash == fields.end() || fields.end() - dash < 4 ||
        dash - fields.begin() < 6) {
      return;
    }
    std::string_view fstype = dash[1];
    if (fstype != "cgroup" && fstype != "cgroup2") return;
    CgroupMount m{.root = UnescapeMountPath(fields[3]),
                  .mount_point = UnescapeMountPath(fields[4]),
                  .v2 = fstype == "cgroup2"};
    if (!m.v2) m.controllers = ControllerBits(dash[3], ',');
    mounts.push_back(std::move(m));
  });
  return mounts;
}

std::optional<std::string> OwnCgroupPath(std::string_view proc_cgroup, bool v2,
                                         uint32_t controllers) {
  std::optional<std::string> found;
  Split(proc_cgroup, '\n', [&](std::string_view line) {
    if (found) return;
    // "hierarchy-ID:controller-list:cgroup-path" (cgroups(7)); the path may contain ':'.
    size_t c1 = line.find(':');
    if (c1 == std::string_view::npos) return;
    size_t c2 = line.find(':', c1 + 1);
    if (c2 == std::string_view::npos) return;
    std::string_view id = line.substr(0, c1);
    std::string_view list = line.substr(c1 + 1, c2 - c1 - 1);
    std::string_view path = line.substr(c2 + 1);
    bool match = v2 ? (id == "0" && list.empty())
                    : (!list.empty() && (ControllerBits(list, ',') & controllers) == controllers &&
                       controllers != 0);
    if (match) found = std::string(path);
  });
  return found;
}

std::optional<std::string> DirThroughMount(const CgroupMount& mount, std::string_view path) {
  if (path.empty() || path.front() != '/') return std::nullopt;
  bool dotdot = false;
  Split(path, '/', [&](std::string_view part) { dotdot |= part == ".." || part == "."; });
  if (dotdot) return std::nullopt;
  std::string_view root = mount.root;
  while (root.size() > 1 && root.back() == '/') root.remove_suffix(1);
  std::string_view rest;
  if (root == "/") {
    rest = path;
  } else if (path == root) {
    rest = "";
  } else if (path.starts_with(root) && path[root.size()] == '/') {
    rest = path.substr(root.size());
  } else {
    return std::nullopt;
  }
  while (!rest.empty() && rest.back() == '/') rest.remove_suffix(1);
  return mount.mount_point + std::string(rest);
}

Probe PrepareProbe(std::string_view mountinfo, std::string_view proc_cgroup) {
  std::vector<CgroupMount> mounts = ParseMountInfo(mountinfo);
  std::string v2_reason, v1_reason;
  if (auto probe = TryV2(mounts, proc_cgroup, &v2_reason)) return std::move(*probe);
  if (auto probe = TryV1(mounts, proc_cgroup, &v1_reason)) return std::move(*probe);
  return Unavailable(v2_reason + "; " + v1_reason);
}

Probe DetectUncached() {
  std::string mountinfo, proc_cgroup;
  if (int err = ReadAt(AT_FDCWD, "/proc/self/mountinfo", &mountinfo); err != 0) {
    return Unavailable(
        Error::FromErrno(ErrorCode::kSandbox, "read(/proc/self/mountinfo)", err).message);
  }
  if (int err = ReadAt(AT_FDCWD, "/proc/self/cgroup", &proc_cgroup); err != 0) {
    return Unavailable(
        Error::FromErrno(ErrorCode::kSandbox, "read(/proc/self/cgroup)", err).message);
  }
  return PrepareProbe(mountinfo, proc_cgroup);
}

const Probe& Detect() {
  static const Probe probe = DetectUncached();
  return probe;
}

// ---- RunCgroup ----

Result<RunCgroup> RunCgroup::Create(const Probe& probe, std::string_view run_id,
                                    const CgroupLimits& limits) {
  if (probe.version == Version::kNone || probe.hierarchies.empty()) {
    return Fail(ErrorCode::kUnsupported, "cgroups unavailable: " + probe.reason);
  }
  if (!ValidRunId(run_id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "cgroup run id \"" + std::string(run_id) +
                    "\": expected 1-64 characters of [A-Za-z0-9_-]");
  }
  if (limits.memory_max_bytes == 0 || limits.pids_max == 0) {
    return Fail(ErrorCode::kInvalidArgument,
                "cgroup limits: memory_max_bytes and pids_max must be greater than 0");
  }
  RunCgroup run;
  run.version_ = probe.version;
  run.has_kill_ = probe.has_kill;
  run.has_memory_peak_ = probe.has_memory_peak;
  run.run_id_ = std::string(run_id);
  run.dirs_.reserve(probe.hierarchies.size());
  // On any error below, `run`'s destructor removes the directories created so far.
  for (const Hierarchy& h : probe.hierarchies) {
    std::string path = Join(h.parent_path, run.run_id_);
    if (::mkdirat(h.parent_dir.get(), run.run_id_.c_str(), 0755) != 0) {
      int err = errno;
      return FailErrno(err == EEXIST ? ErrorCode::kConflict : ErrorCode::kSandbox,
                       "mkdir(" + path + ")", err);
    }
    Dir& dir = run.dirs_.emplace_back();
    dir.controllers = h.controllers;
    dir.path = std::move(path);
    dir.dir.Reset(
        ::openat(h.parent_dir.get(), run.run_id_.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!dir.dir) return FailErrno(ErrorCode::kSandbox, "open(" + dir.path + ")", errno);
  }
  if (auto r = run.WriteLimits(probe, limits); !r) return std::unexpected(r.error());
  return run;
}

Result<RunCgroup> RunCgroup::Adopt(const Probe& probe, std::string_view name) {
  if (!ValidRunId(name)) {
    return Fail(ErrorCode::kInvalidArgument, "cgroup name \"" + std::string(name) + "\"");
  }
  RunCgroup run;
  run.version_ = probe.version;
  run.has_kill_ = probe.has_kill;
  run.has_memory_peak_ = probe.has_memory_peak;
  run.run_id_ = std::string(name);
  for (const Hierarchy& h : probe.hierarchies) {
    UniqueFd fd(::openat(h.parent_dir.get(), run.run_id_.c_str(),
                         O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) {
      if (errno == ENOENT) continue;
      return FailErrno(ErrorCode::kSandbox, "open(" + Join(h.parent_path, run.run_id_) + ")",
                       errno);
    }
    Dir& dir = run.dirs_.emplace_back();
    dir.controllers = h.controllers;
    dir.path = Join(h.parent_path, run.run_id_);
    dir.dir = std::move(fd);
  }
  if (run.dirs_.empty()) {
    return Fail(ErrorCode::kNotFound, "no cgroup named " + run.run_id_);
  }
  return run;
}

Result<void> RunCgroup::WriteLimits(const Probe& probe, const CgroupLimits& limits) {
  const uint64_t cpu_quota_us = uint64_t{limits.cpu_quota_percent} * kCpuPeriodUs / 100;
  for (Dir& d : dirs_) {
    const int fd = d.dir.get();
    if (version_ == Version::kV2) {
      if (auto r = WriteNumberAt(fd, d.path, "memory.max", limits.memory_max_bytes); !r) return r;
      // Without this, a host with swap would let the run page out past memory.max.
      if (probe.has_swap_limit) {
        if (auto r = WriteAt(fd, d.path, "memory.swap.max", "0"); !r) return r;
      }
      // One OOM kill takes the whole run down, rather than leaving a half-dead process tree.
      if (auto r = WriteAt(fd, d.path, "memory.oom.group", "1"); !r) return r;
      if (auto r = WriteNumberAt(fd, d.path, "pids.max", limits.pids_max); !r) return r;
      if (limits.cpu_quota_percent != 0) {
        char buf[48];
        auto end = std::to_chars(buf, buf + 24, cpu_quota_us).ptr;
        *end++ = ' ';
        end = std::to_chars(end, buf + sizeof(buf), kCpuPeriodUs).ptr;
        if (auto r = WriteAt(fd, d.path, "cpu.max", std::string_view(buf, end - buf)); !r) {
          return r;
        }
      }
      continue;
    }
    if (d.controllers & kMemory) {
      auto r = WriteNumberAt(fd, d.path, "memory.limit_in_bytes", limits.memory_max_bytes);
      if (!r) return r;
      // memory+swap capped at the same value: swap cannot extend the limit. It must be written
      // after memory.limit_in_bytes, which the kernel requires to stay <= it.
      if (probe.has_swap_limit) {
        r = WriteNumberAt(fd, d.path, "memory.memsw.limit_in_bytes", limits.memory_max_bytes);
        if (!r) return r;
      }
    }
    if (d.controllers & kPids) {
      if (auto r = WriteNumberAt(fd, d.path, "pids.max", limits.pids_max); !r) return r;
    }
    if ((d.controllers & kCpu) && limits.cpu_quota_percent != 0) {
      if (auto r = WriteNumberAt(fd, d.path, "cpu.cfs_quota_us", cpu_quota_us); !r) return r;
    }
  }
  return {};
}

Result<void> RunCgroup::Retune(const Probe& probe, const CgroupLimits& current,
                               const CgroupLimits& wanted) {
  const uint64_t cpu_quota_us = uint64_t{wanted.cpu_quota_percent} * kCpuPeriodUs / 100;
  for (Dir& d : dirs_) {
    const int fd = d.dir.get();
    const bool v2 = version_ == Version::kV2;
    if ((v2 || (d.controllers & kMemory)) && wanted.memory_max_bytes != current.memory_max_bytes) {
      const char* limit = v2 ? "memory.max" : "memory.limit_in_bytes";
      const bool memsw = !v2 && probe.has_swap_limit;
      // v1 keeps memory.limit_in_bytes <= memory.memsw.limit_in_bytes at every step.
      const bool raising = wanted.memory_max_bytes > current.memory_max_bytes;
      if (memsw && raising) {
        auto r = WriteNumberAt(fd, d.path, "memory.memsw.limit_in_bytes", wanted.memory_max_bytes);
        if (!r) return r;
      }
      if (auto r = WriteNumberAt(fd, d.path, limit, wanted.memory_max_bytes); !r) return r;
      if (memsw && !raising) {
        auto r = WriteNumberAt(fd, d.path, "memory.memsw.limit_in_bytes", wanted.memory_max_bytes);
        if (!r) return r;
      }
    }
    if ((v2 || (d.controllers & kPids)) && wanted.pids_max != current.pids_max) {
      if (auto r = WriteNumberAt(fd, d.path, "pids.max", wanted.pids_max); !r) return r;
    }
    if ((v2 || (d.controllers & kCpu)) && wanted.cpu_quota_percent != current.cpu_quota_percent) {
      if (v2) {
        std::string value =
            wanted.cpu_quota_percent == 0 ? std::string("max") : std::to_string(cpu_quota_us);
        value += " " + std::to_string(kCpuPeriodUs);
        if (auto r = WriteAt(fd, d.path, "cpu.max", value); !r) return r;
      } else {
        const int64_t quota = wanted.cpu_quota_percent == 0 ? -1 : int64_t(cpu_quota_us);
        if (auto r = WriteAt(fd, d.path, "cpu.cfs_quota_us", std::to_string(quota)); !r) return r;
      }
    }
  }
  return {};
}

RunCgroup::RunCgroup(RunCgroup&& other) noexcept
    : version_(other.version_),
      has_kill_(other.has_kill_),
      has_memory_peak_(other.has_memory_peak_),
      run_id_(std::move(other.run_id_)),
      dirs_(std::move(other.dirs_)) {
  other.dirs_.clear();
}

RunCgroup& RunCgroup::operator=(RunCgroup&& other) noexcept {
  if (this != &other) {
    (void)Destroy();
    version_ = other.version_;
    has_kill_ = other.has_kill_;
    has_memory_peak_ = other.has_memory_peak_;
    run_id_ = std::move(other.run_id_);
    dirs_ = std::move(other.dirs_);
    other.dirs_.clear();
  }
  return *this;
}

RunCgroup::~RunCgroup() { (void)Destroy(); }

const RunCgroup::Dir* RunCgroup::Find(uint32_t controller) const {
  for (const Dir& d : dirs_) {
    if (d.controllers & controller) return &d;
  }
  return nullptr;
}

int RunCgroup::v2_fd() const {
  return version_ == Version::kV2 && !dirs_.empty() ? dirs_.front().dir.get() : -1;
}

const std::string& RunCgroup::path() const {
  static const std::string kEmpty;
  return dirs_.empty() ? kEmpty : dirs_.front().path;
}

Result<void> RunCgroup::AddProcess(pid_t pid) {
  char buf[16];
  auto end = std::to_chars(buf, buf + sizeof(buf), pid).ptr;
  std::string_view value(buf, end - buf);
  for (const Dir& d : dirs_) {
    if (auto r = WriteAt(d.dir.get(), d.path, "cgroup.procs", value); !r) return r;
  }
  return {};
}

Result<std::vector<UniqueFd>> RunCgroup::OpenSelfAttachFds() const {
  std::vector<UniqueFd> fds;
  if (version_ != Version::kV1) return fds;
  for (const Dir& d : dirs_) {
    UniqueFd fd(::openat(d.dir.get(), "tasks", O_WRONLY | O_CLOEXEC));
    if (!fd) return FailErrno(ErrorCode::kSandbox, "open(" + Join(d.path, "tasks") + ")", errno);
    fds.push_back(std::move(fd));
  }
  return fds;
}

Result<void> RunCgroup::KillAll() {
  const bool use_kill_file = version_ == Version::kV2 && has_kill_;
  if (use_kill_file && !dirs_.empty()) {
    // The kernel kills every member and any child forked while the kill is in progress.
    if (auto r = WriteAt(dirs_.front().dir.get(), dirs_.front().path, "cgroup.kill", "1"); !r) {
      return r;
    }
  }
  const auto deadline = Clock::now() + kKillDeadline;
  auto delay = std::chrono::microseconds(20);
  std::string text;
  for (;;) {
    bool any = false;
    for (const Dir& d : dirs_) {
      if (int err = ReadAt(d.dir.get(), "cgroup.procs", &text); err != 0) {
        return FailErrno(ErrorCode::kSandbox, "read(" + Join(d.path, "cgroup.procs") + ")", err);
      }
      std::vector<pid_t> pids = ParsePids(text);
      if (pids.empty()) continue;
      any = true;
      if (use_kill_file) continue;
      // Open a pidfd for each listed pid, then list again: a pid still listed after its pidfd
      // was opened names the same process, so signalling the pidfd cannot hit a process that
      // recycled the pid of one that already exited.
      std::vector<std::pair<pid_t, UniqueFd>> handles;
      handles.reserve(pids.size());
      for (pid_t pid : pids) {
        int fd = PidfdOpen(pid);
        if (fd >= 0) {
          handles.emplace_back(pid, UniqueFd(fd));
        } else if (errno == ENOSYS) {
          ::kill(pid, SIGKILL);  // Before Linux 5.3: best effort, the race above is possible.
        }
      }
      if (ReadAt(d.dir.get(), "cgroup.procs", &text) != 0) continue;
      std::vector<pid_t> still = ParsePids(text);
      std::sort(still.begin(), still.end());
      for (auto& [pid, fd] : handles) {
        if (std::binary_search(still.begin(), still.end(), pid)) PidfdKill(fd.get());
      }
    }
    if (!any) return {};
    if (Clock::now() >= deadline) {
      return Fail(ErrorCode::kSandbox,
                  "cgroup " + path() + ": processes still present 2 s after SIGKILL");
    }
    SleepFor(delay);
    delay = std::min(delay * 2, std::chrono::microseconds(10'000));
  }
}

Stats RunCgroup::ReadStats() const {
  Stats stats;
  char buf[2048];
  if (version_ == Version::kV2) {
    if (dirs_.empty()) return stats;
    const int fd = dirs_.front().dir.get();
    stats.cpu_usage_us =
        KeyedValue(ReadSmallAt(fd, "cpu.stat", buf, sizeof(buf)), "usage_usec").value_or(0);
    if (has_memory_peak_) {
      std::string_view peak = ReadSmallAt(fd, "memory.peak", buf, sizeof(buf));
      stats.memory_peak_bytes = ParseU64(peak).value_or(0);
    }
    stats.oom_killed =
        KeyedValue(ReadSmallAt(fd, "memory.events", buf, sizeof(buf)), "oom_kill").value_or(0) > 0;
    stats.pids_limit_hit =
        KeyedValue(ReadSmallAt(fd, "pids.events", buf, sizeof(buf)), "max").value_or(0) > 0;
    return stats;
  }
  if (const Dir* d = Find(kCpuacct)) {
    std::string_view ns = ReadSmallAt(d->dir.get(), "cpuacct.usage", buf, sizeof(buf));
    stats.cpu_usage_us = ParseU64(ns).value_or(0) / 1000;
  }
  if (const Dir* d = Find(kMemory)) {
    stats.memory_peak_bytes =
        ParseU64(ReadSmallAt(d->dir.get(), "memory.max_usage_in_bytes", buf, sizeof(buf)))
            .value_or(0);
    stats.oom_killed =
        KeyedValue(ReadSmallAt(d->dir.get(), "memory.oom_control", buf, sizeof(buf)), "oom_kill")
            .value_or(0) > 0;
  }
  if (const Dir* d = Find(kPids)) {
    stats.pids_limit_hit =
        KeyedValue(ReadSmallAt(d->dir.get(), "pids.events", buf, sizeof(buf)), "max").value_or(0) >
        0;
  }
  return stats;
}

Result<void> RunCgroup::RemoveDirs() {
  // rmdir(2) of a cgroup fails with EBUSY while it has members; try, then kill, then retry.
  std::optional<Error> error;
  bool killed = false;
  const auto deadline = Clock::now() + kKillDeadline;
  auto delay = std::chrono::microseconds(20);
  for (;;) {
    std::erase_if(dirs_, [&](const Dir& d) {
      if (::rmdir(d.path.c_str()) == 0) return true;
      const int err = errno;
      if (err == ENOENT) return true;
      if (err != EBUSY || Clock::now() >= deadline) {
        error = Error::FromErrno(ErrorCode::kSandbox, "rmdir(" + d.path + ")", err);
        return true;  // Give up on this one; the error is reported.
      }
      return false;
    });
    if (dirs_.empty()) break;
    if (!killed) {
      killed = true;
      // Its error matters only if the directories then stay busy, which rmdir reports.
      (void)KillAll();
      continue;
    }
    SleepFor(delay);
    delay = std::min(delay * 2, std::chrono::microseconds(10'000));
  }
  if (error) return std::unexpected(std::move(*error));
  return {};
}

Result<void> RunCgroup::Destroy() {
  if (dirs_.empty()) return {};
  return RemoveDirs();
}

}  // namespace skillrt::cgroup
