#include "sandbox/linux/cgroup.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <chrono>
#include <functional>
#include <string>

#include <gtest/gtest.h>

namespace skillrt::cgroup {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

// ---- Parsing (no kernel needed) ----

constexpr char kHybridMountInfo[] =
    "31 23 0:28 / /sys/fs/cgroup rw,relatime - tmpfs tmpfs rw,mode=755\n"
    "32 31 0:29 / /sys/fs/cgroup/cpu,cpuacct rw,relatime shared:9 - cgroup cgroup rw,cpu,cpuacct\n"
    "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n"
    "39 31 0:36 / /sys/fs/cgroup/pids rw,relatime - cgroup cgroup rw,pids\n"
    "40 31 0:37 / /sys/fs/cgroup/systemd rw,relatime - cgroup cgroup rw,name=systemd\n"
    "41 31 0:38 / /sys/fs/cgroup/unified rw,relatime - cgroup2 cgroup2 rw\n"
    "50 23 0:40 / /mnt/with\\040space rw - ext4 /dev/sda1 rw\n";

TEST(CgroupParseTest, MountInfoFindsV1AndV2Mounts) {
  std::vector<CgroupMount> mounts = ParseMountInfo(kHybridMountInfo);
  ASSERT_EQ(mounts.size(), 5u);
  EXPECT_EQ(mounts[0].mount_point, "/sys/fs/cgroup/cpu,cpuacct");
  EXPECT_EQ(mounts[0].controllers, kCpu | kCpuacct);
  EXPECT_FALSE(mounts[0].v2);
  EXPECT_EQ(mounts[1].controllers, kMemory);
  EXPECT_EQ(mounts[2].controllers, kPids);
  EXPECT_EQ(mounts[3].controllers, 0u);  // name=systemd
  EXPECT_TRUE(mounts[4].v2);
  EXPECT_EQ(mounts[4].mount_point, "/sys/fs/cgroup/unified");
}

TEST(CgroupParseTest, MountInfoDecodesEscapesAndSkipsMalformedLines) {
  std::vector<CgroupMount> mounts = ParseMountInfo(
      "29 23 0:26 /a\\040b /sys/fs/cgroup rw,nosuid - cgroup2 cgroup2 rw,nsdelegate\n"
      "garbage line\n"
      "30 23 0:27 / /x rw - cgroup\n");
  ASSERT_EQ(mounts.size(), 1u);
  EXPECT_EQ(mounts[0].root, "/a b");
  EXPECT_TRUE(mounts[0].v2);
}

constexpr char kProcCgroup[] =
    "9:name=systemd:/\n"
    "8:pids:/p\n"
    "4:memory:/process_api/abc\n"
    "2:cpu,cpuacct:/c:with:colons\n"
    "0::/user.slice/x.scope\n";

TEST(CgroupParseTest, OwnCgroupPath) {
  EXPECT_EQ(OwnCgroupPath(kProcCgroup, true, 0), "/user.slice/x.scope");
  EXPECT_EQ(OwnCgroupPath(kProcCgroup, false, kMemory), "/process_api/abc");
  EXPECT_EQ(OwnCgroupPath(kProcCgroup, false, kPids), "/p");
  EXPECT_EQ(OwnCgroupPath(kProcCgroup, false, kCpu | kCpuacct), "/c:with:colons");
  EXPECT_EQ(OwnCgroupPath("4:memory:/m\n", false, kPids), std::nullopt);
  EXPECT_EQ(OwnCgroupPath("4:memory:/m\n", true, 0), std::nullopt);
}

TEST(CgroupParseTest, DirThroughMount) {
  CgroupMount root_mount{.root = "/", .mount_point = "/sys/fs/cgroup", .v2 = true};
  EXPECT_EQ(DirThroughMount(root_mount, "/"), "/sys/fs/cgroup");
  EXPECT_EQ(DirThroughMount(root_mount, "/a/b"), "/sys/fs/cgroup/a/b");
  // Outside the cgroup namespace root.
  EXPECT_EQ(DirThroughMount(root_mount, "/../x"), std::nullopt);
  CgroupMount sub{.root = "/docker/c1", .mount_point = "/sys/fs/cgroup", .v2 = true};
  EXPECT_EQ(DirThroughMount(sub, "/docker/c1"), "/sys/fs/cgroup");
  EXPECT_EQ(DirThroughMount(sub, "/docker/c1/run"), "/sys/fs/cgroup/run");
  EXPECT_EQ(DirThroughMount(sub, "/docker/c10"), std::nullopt);
  EXPECT_EQ(DirThroughMount(sub, "/other"), std::nullopt);
}

TEST(CgroupParseTest, NoCgroupMountsGivesNoneWithReason) {
  Probe probe = PrepareProbe("22 1 0:5 / /proc rw - proc proc rw\n", "0::/\n");
  EXPECT_EQ(probe.version, Version::kNone);
  EXPECT_NE(probe.reason.find("no cgroup2 mount"), std::string::npos) << probe.reason;
  EXPECT_NE(probe.reason.find("no mount of memory pids cpu cpuacct"), std::string::npos)
      << probe.reason;
}

// ---- Real kernel ----

#define SKIP_WITHOUT_CGROUPS()                                                  \
  do {                                                                          \
    if (Detect().version == Version::kNone) {                                   \
      GTEST_SKIP() << "cgroups unavailable: " << Detect().reason;               \
    }                                                                           \
  } while (0)

bool DirExists(const std::string& path) {
  struct stat st;
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

std::string UniqueId(const char* tag) {
  static int counter = 0;
  return std::string("test-") + tag + "-" + std::to_string(::getpid()) + "-" +
         std::to_string(++counter);
}

// Forks a child that waits until it has been added to `cg`, then runs `body` and _exits with
// its result. Returns the child's pid.
pid_t SpawnInto(RunCgroup& cg, const std::function<int()>& body) {
  int sync[2];
  EXPECT_EQ(::pipe2(sync, O_CLOEXEC), 0);
  pid_t pid = ::fork();
  if (pid == 0) {
    ::close(sync[1]);
    char c;
    if (::read(sync[0], &c, 1) != 1) ::_exit(120);
    ::_exit(body());
  }
  ::close(sync[0]);
  auto added = cg.AddProcess(pid);
  EXPECT_TRUE(added.has_value()) << added.error().ToString();
  EXPECT_EQ(::write(sync[1], "g", 1), 1);
  ::close(sync[1]);
  return pid;
}

int WaitStatus(pid_t pid) {
  int status = 0;
  EXPECT_EQ(::waitpid(pid, &status, 0), pid);
  return status;
}

// Maps and touches `bytes` of anonymous memory, page by page.
int TouchMemory(uint64_t bytes) {
  void* p = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (p == MAP_FAILED) return 2;
  for (uint64_t off = 0; off < bytes; off += 4096) static_cast<volatile char*>(p)[off] = 1;
  return 0;
}

TEST(CgroupTest, DetectFindsV1OrV2) {
  SKIP_WITHOUT_CGROUPS();
  const Probe& probe = Detect();
  EXPECT_TRUE(probe.version == Version::kV1 || probe.version == Version::kV2);
  EXPECT_TRUE(probe.reason.empty());
  uint32_t all = 0;
  for (const Hierarchy& h : probe.hierarchies) {
    EXPECT_TRUE(h.parent_dir.valid());
    EXPECT_TRUE(DirExists(h.parent_path)) << h.parent_path;
    all |= h.controllers;
  }
  EXPECT_EQ(all, probe.version == Version::kV2 ? (kMemory | kPids | kCpu)
                                               : (kMemory | kPids | kCpu | kCpuacct));
  EXPECT_EQ(&Detect(), &probe);  // Cached.
}

TEST(CgroupTest, CreateAndDestroyLeavesNothingBehind) {
  SKIP_WITHOUT_CGROUPS();
  const Probe& probe = Detect();
  std::string id = UniqueId("life");
  {
    auto cg = RunCgroup::Create(probe, id, {.memory_max_bytes = 64 * kMiB, .pids_max = 8});
    ASSERT_TRUE(cg.has_value()) << cg.error().ToString();
    for (const Hierarchy& h : probe.hierarchies) {
      EXPECT_TRUE(DirExists(h.parent_path + "/" + id)) << h.parent_path;
    }
    EXPECT_EQ(cg->v2_fd() >= 0, probe.version == Version::kV2);
    // Moving transfers ownership: only the destination removes the directories.
    RunCgroup moved = std::move(*cg);
    EXPECT_TRUE(cg->path().empty());
    EXPECT_TRUE(DirExists(moved.path()));
  }
  for (const Hierarchy& h : probe.hierarchies) {
    EXPECT_FALSE(DirExists(h.parent_path + "/" + id)) << h.parent_path;
  }
}

TEST(CgroupTest, RejectsBadRunIdsAndDuplicates) {
  SKIP_WITHOUT_CGROUPS();
  for (const char* bad : {"", "..", "a/b", "a b", "x\n"}) {
    auto cg = RunCgroup::Create(Detect(), bad, {});
    ASSERT_FALSE(cg.has_value()) << bad;
    EXPECT_EQ(cg.error().code, ErrorCode::kInvalidArgument);
  }
  auto zero = RunCgroup::Create(Detect(), UniqueId("zero"), {.memory_max_bytes = 0});
  ASSERT_FALSE(zero.has_value());
  EXPECT_EQ(zero.error().code, ErrorCode::kInvalidArgument);

  std::string id = UniqueId("dup");
  auto first = RunCgroup::Create(Detect(), id, {});
  ASSERT_TRUE(first.has_value()) << first.error().ToString();
  auto second = RunCgroup::Create(Detect(), id, {});
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  EXPECT_NE(second.error().message.find(id), std::string::npos);
  // The failed duplicate must not have removed the first one's directories.
  EXPECT_TRUE(DirExists(first->path()));
}

TEST(CgroupTest, UnavailableProbeIsUnsupported) {
  Probe none;
  none.reason = "test: nothing mounted";
  auto cg = RunCgroup::Create(none, "x", {});
  ASSERT_FALSE(cg.has_value());
  EXPECT_EQ(cg.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(cg.error().message.find("nothing mounted"), std::string::npos);
}

// A Probe that claims the other cgroup version over the real parent directories, so the first
// limit file Create writes does not exist there.
Probe MismatchedProbe() {
  const Probe& real = Detect();
  Probe probe;
  probe.version = real.version == Version::kV2 ? Version::kV1 : Version::kV2;
  for (const Hierarchy& h : real.hierarchies) {
    Hierarchy& copy = probe.hierarchies.emplace_back();
    copy.controllers = h.controllers;
    copy.parent_path = h.parent_path;
    copy.parent_dir.Reset(::fcntl(h.parent_dir.get(), F_DUPFD_CLOEXEC, 0));
  }
  return probe;
}

TEST(CgroupTest, FailedLimitWriteNamesTheFileAndCleansUp) {
  SKIP_WITHOUT_CGROUPS();
  Probe probe = MismatchedProbe();
  std::string id = UniqueId("fail");
  auto cg = RunCgroup::Create(probe, id, {});
  ASSERT_FALSE(cg.has_value());
  EXPECT_EQ(cg.error().code, ErrorCode::kSandbox);
  EXPECT_EQ(cg.error().sys_errno, ENOENT);
  const char* file = probe.version == Version::kV2 ? "/memory.max)" : "/memory.limit_in_bytes)";
  EXPECT_NE(cg.error().message.find(id + file), std::string::npos) << cg.error().message;
  for (const Hierarchy& h : probe.hierarchies) {
    EXPECT_FALSE(DirExists(h.parent_path + "/" + id)) << h.parent_path;
  }
}

void RunMemoryChild(uint64_t limit, bool expect_oom) {
  auto cg = RunCgroup::Create(Detect(), UniqueId("mem"),
                              {.memory_max_bytes = limit, .pids_max = 8});
  ASSERT_TRUE(cg.has_value()) << cg.error().ToString();
  pid_t pid = SpawnInto(*cg, [] { return TouchMemory(200 * kMiB); });
  int status = WaitStatus(pid);
  Stats stats = cg->ReadStats();
  if (expect_oom) {
    ASSERT_TRUE(WIFSIGNALED(status)) << "status " << status;
    EXPECT_EQ(WTERMSIG(status), SIGKILL);
    EXPECT_TRUE(stats.oom_killed);
  } else {
    ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
    EXPECT_EQ(WEXITSTATUS(status), 0);
    EXPECT_FALSE(stats.oom_killed);
    if (Detect().has_memory_peak) {
      EXPECT_GE(stats.memory_peak_bytes, 200 * kMiB);
    }
  }
  EXPECT_LE(stats.memory_peak_bytes, limit);
}

TEST(CgroupTest, MemoryLimitOomKills) {
  SKIP_WITHOUT_CGROUPS();
  RunMemoryChild(64 * kMiB, /*expect_oom=*/true);
}

TEST(CgroupTest, MemoryUnderLimitSucceeds) {
  SKIP_WITHOUT_CGROUPS();
  RunMemoryChild(512 * kMiB, /*expect_oom=*/false);
}

// The child forks up to 20 sleeping children and exits with the number of forks that succeeded,
// or 100 + that number if a fork failed with something other than EAGAIN.
int ForkMany() {
  int ok = 0;
  for (int i = 0; i < 20; ++i) {
    pid_t p = ::fork();
    if (p == 0) {
      ::pause();
      ::_exit(0);
    }
    if (p < 0) {
      if (errno != EAGAIN) return 100 + ok;
      break;
    }
    ++ok;
  }
  return ok;
}

void RunForkChild(uint32_t pids_max, bool expect_limit) {
  auto cg = RunCgroup::Create(Detect(), UniqueId("pids"),
                              {.memory_max_bytes = 256 * kMiB, .pids_max = pids_max});
  ASSERT_TRUE(cg.has_value()) << cg.error().ToString();
  pid_t pid = SpawnInto(*cg, ForkMany);
  int status = WaitStatus(pid);
  ASSERT_TRUE(WIFEXITED(status)) << "status " << status;
  int forks = WEXITSTATUS(status);
  Stats stats = cg->ReadStats();
  if (expect_limit) {
    // The child itself is one of the pids_max tasks.
    EXPECT_EQ(forks, static_cast<int>(pids_max) - 1);
    EXPECT_TRUE(stats.pids_limit_hit);
  } else {
    EXPECT_EQ(forks, 20);
    EXPECT_FALSE(stats.pids_limit_hit);
  }
  // The grandchildren still sleep in the cgroup; destruction must kill them.
  auto destroyed = cg->Destroy();
  EXPECT_TRUE(destroyed.has_value()) << destroyed.error().ToString();
}

TEST(CgroupTest, PidsLimitStopsForks) {
  SKIP_WITHOUT_CGROUPS();
  RunForkChild(8, /*expect_limit=*/true);
}

TEST(CgroupTest, PidsUnderLimitForkFreely) {
  SKIP_WITHOUT_CGROUPS();
  RunForkChild(64, /*expect_limit=*/false);
}

// Spins until this process has used `cpu` of CPU time.
int Spin(std::chrono::milliseconds cpu) {
  timespec ts;
  do {
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  } while (ts.tv_sec * 1000 + ts.tv_nsec / 1'000'000 < cpu.count());
  return 0;
}

// Runs a child spinning 200 ms of CPU under `percent` and returns {cpu_usage_us, wall ms}.
std::pair<uint64_t, int64_t> SpinUnder(uint32_t percent) {
  auto cg = RunCgroup::Create(Detect(), UniqueId("cpu"),
                              {.memory_max_bytes = 64 * kMiB, .pids_max = 8,
                               .cpu_quota_percent = percent});
  EXPECT_TRUE(cg.has_value()) << cg.error().ToString();
  if (!cg) return {0, 0};
  auto start = std::chrono::steady_clock::now();
  pid_t pid = SpawnInto(*cg, [] { return Spin(std::chrono::milliseconds(200)); });
  int status = WaitStatus(pid);
  auto wall = std::chrono::duration_cast<std::chrono::milliseconds>(
      std::chrono::steady_clock::now() - start);
  EXPECT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0) << "status " << status;
  return {cg->ReadStats().cpu_usage_us, wall.count()};
}

TEST(CgroupTest, CpuUsageIsAccounted) {
  SKIP_WITHOUT_CGROUPS();
  // CPU time only: how long it took on the wall depends on what else the machine runs.
  auto [usage_us, wall_ms] = SpinUnder(100);
  (void)wall_ms;
  EXPECT_GE(usage_us, 190'000u);
  EXPECT_LT(usage_us, 2'000'000u);
}

TEST(CgroupTest, CpuQuotaThrottles) {
  SKIP_WITHOUT_CGROUPS();
  // 25% of a CPU: 200 ms of CPU needs at least ~700 ms of wall time (the first period may run
  // a full quota early), where 100% above needs about 200 ms.
  auto [usage_us, wall_ms] = SpinUnder(25);
  EXPECT_GE(usage_us, 190'000u);
  EXPECT_GE(wall_ms, 600);
}

TEST(CgroupTest, KillAllKillsASleepingTree) {
  SKIP_WITHOUT_CGROUPS();
  auto cg = RunCgroup::Create(Detect(), UniqueId("kill"), {.memory_max_bytes = 64 * kMiB});
  ASSERT_TRUE(cg.has_value()) << cg.error().ToString();
  int ready[2];
  ASSERT_EQ(::pipe2(ready, O_CLOEXEC), 0);
  pid_t pid = SpawnInto(*cg, [&] {
    // Three children, each with a child of its own, all asleep.
    for (int i = 0; i < 3; ++i) {
      if (::fork() == 0) {
        if (::fork() == 0) ::pause();
        ::pause();
      }
    }
    (void)::write(ready[1], "r", 1);
    ::pause();
    return 0;
  });
  ::close(ready[1]);
  char c;
  ASSERT_EQ(::read(ready[0], &c, 1), 1);
  ::close(ready[0]);

  auto killed = cg->KillAll();
  ASSERT_TRUE(killed.has_value()) << killed.error().ToString();
  int status = WaitStatus(pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
  auto destroyed = cg->Destroy();
  EXPECT_TRUE(destroyed.has_value()) << destroyed.error().ToString();
  EXPECT_FALSE(DirExists(cg->path()));
}

TEST(CgroupTest, DestroyKillsAndRemovesWhileChildUnreaped) {
  SKIP_WITHOUT_CGROUPS();
  std::string path;
  pid_t pid;
  {
    auto cg = RunCgroup::Create(Detect(), UniqueId("unreaped"), {});
    ASSERT_TRUE(cg.has_value()) << cg.error().ToString();
    path = cg->path();
    pid = SpawnInto(*cg, [] {
      ::pause();
      return 0;
    });
  }  // Destroyed with a live child: killed, left as our zombie, cgroup removed.
  EXPECT_FALSE(DirExists(path));
  int status = WaitStatus(pid);
  ASSERT_TRUE(WIFSIGNALED(status));
  EXPECT_EQ(WTERMSIG(status), SIGKILL);
}

}  // namespace
}  // namespace skillrt::cgroup
