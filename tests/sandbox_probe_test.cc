// Hostile programs against the real native sandbox.
//
// Each probe in tests/probes/ attempts one thing a skill must not be able to do and reports
// the result as one JSON line; it exits 0 when the action succeeded and 1 when it was
// blocked. Every test first runs the probe where the restriction does not apply (directly on
// the host, or in the sandbox with a larger limit) and asserts that it SUCCEEDS, so that a
// blocked result inside the sandbox proves the sandbox, not a broken probe. Then it runs the
// probe through skillrt::MakeNativeRuntime() and asserts it is blocked, and that the host is
// unaffected afterwards.
#include <fcntl.h>
#include <grp.h>
#include <netinet/in.h>
#include <poll.h>
#include <pty.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"
#include "probe_runner.h"
#include "test_util.h"
#include "runtime/path_pin.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::skillrt::testing::HostOptions;
using ::skillrt::testing::HostRun;
using ::skillrt::testing::LastJsonLine;
using ::skillrt::testing::ProbePath;
using ::skillrt::testing::RunOnHost;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::UpToRoot;
using ::skillrt::testing::WriteFile;

constexpr uint32_t kSandboxHostUid = 64'200;

// --- Running probes ------------------------------------------------------------------------

// Unique run ids: the cgroup of each run is named after it.
std::string NextRunId() {
  static std::atomic<int> counter{0};
  return "probe-" + std::to_string(getpid()) + "-" + std::to_string(++counter);
}

// Limits for probe runs: generous enough for every probe, narrowed by each test.
Limits ProbeLimits() {
  return Limits{.wall_time = 20s,
                .cpu_time = 10s,
                .memory_max_bytes = 128ull << 20,
                .pids_max = 32,
                .output_max_bytes = 256ull << 10,
                .file_size_max_bytes = 8ull << 20,
                .scratch_max_bytes = 32ull << 20,
                .open_files_max = 256};
}

// Every plan of this test process carries this variable, so that processes left behind by
// its runs can be told apart from those of other programs using the same sandbox uid.
std::string RunMarker() { return "SKILLRT_PROBE_TEST=" + std::to_string(getpid()); }

// Host processes with real uid `uid` whose environment holds RunMarker().
std::vector<pid_t> LeftoverProcesses(uid_t uid) {
  return skillrt::testing::ProcessesWithEnv(RunMarker(), uid);
}

// A child process of the test that sleeps until killed: the host process that probes try to
// trace, signal or see.
class HostVictim {
 public:
  HostVictim() {
    pid_ = fork();
    if (pid_ == 0) {
      for (;;) pause();
    }
  }
  ~HostVictim() {
    if (pid_ > 0) {
      kill(pid_, SIGKILL);
      waitpid(pid_, nullptr, 0);
    }
  }
  HostVictim(const HostVictim&) = delete;
  HostVictim& operator=(const HostVictim&) = delete;

  pid_t pid() const { return pid_; }

  // Alive and not stopped or traced into a zombie.
  bool Alive() const {
    int status = 0;
    return pid_ > 0 && waitpid(pid_, &status, WNOHANG) == 0 && kill(pid_, 0) == 0;
  }

 private:
  pid_t pid_ = -1;
};

// A test-owned secret file that is removed with its directory on destruction.
// A host home directory for the secret-reading probes, unique per test process so that
// tests running in parallel never remove one another's secret.
std::string HomeProbeDir() { return "/home/skillrt-probe-test-" + std::to_string(getpid()); }

class HostSecret {
 public:
  HostSecret(fs::path dir, std::string file, bool remove_dir)
      : dir_(std::move(dir)), path_(dir_ / file), remove_dir_(remove_dir) {
    fs::create_directories(dir_);
    WriteFile(path_, "skillrt-probe-secret-4d1c\n");
    chmod(path_.c_str(), 0600);
  }
  ~HostSecret() {
    std::error_code ec;
    if (remove_dir_) {
      fs::remove_all(dir_, ec);
    } else {
      fs::remove(path_, ec);
    }
  }
  HostSecret(const HostSecret&) = delete;
  HostSecret& operator=(const HostSecret&) = delete;

  const fs::path& path() const { return path_; }
  static constexpr const char* kContent = "skillrt-probe-secret-4d1c";

 private:
  fs::path dir_;
  fs::path path_;
  bool remove_dir_;
};

class SandboxProbeTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto runtime = MakeNativeRuntime();
    if (runtime) {
      runtime_ = runtime->release();
    } else {
      runtime_error_ = new Error(runtime.error());
    }
  }
  static void TearDownTestSuite() {
    delete runtime_;
    runtime_ = nullptr;
    delete runtime_error_;
    runtime_error_ = nullptr;
  }

  void SetUp() override {
    if (runtime_ == nullptr) {
      if (runtime_error_->code == ErrorCode::kUnsupported) {
        GTEST_SKIP() << "the kernel lacks what the sandbox needs: " << runtime_error_->ToString();
      }
      FAIL() << "MakeNativeRuntime: " << runtime_error_->ToString();
    }
    // The skill directory is mounted at /skill and read by the sandbox's unprivileged user.
    chmod(skill_dir_.path().c_str(), 0755);
  }

  void TearDown() override {
    if (runtime_ == nullptr || geteuid() != 0) return;
    // Nothing the sandbox started may outlive its run.
    std::vector<pid_t> left;
    for (int i = 0; i < 40; ++i) {
      left = LeftoverProcesses(kSandboxHostUid);
      if (left.empty()) break;
      std::this_thread::sleep_for(50ms);
    }
    EXPECT_TRUE(left.empty()) << left.size() << " process(es) of uid " << kSandboxHostUid
                              << " outlived the run, e.g. pid " << left.front();
  }

  // Copies probe `name` into the skill directory (as `as`, default the same name).
  fs::path Install(const std::string& name, const std::string& as = "") {
    const fs::path target = skill_dir_.path() / (as.empty() ? name : as);
    std::error_code ec;
    fs::copy_file(ProbePath(name), target, fs::copy_options::overwrite_existing, ec);
    EXPECT_FALSE(ec) << "copy " << ProbePath(name) << ": " << ec.message();
    chmod(target.c_str(), 0755);
    return target;
  }

  // A plan running /skill/<probe> with `args`; only the probe itself may be executed.
  Plan MakePlan(const std::string& probe, const std::vector<std::string>& args) {
    if (!fs::exists(skill_dir_.path() / probe)) Install(probe);
    Plan plan;
    plan.run_id = NextRunId();
    plan.skill_name = "probe";
    plan.skill_dir = skill_dir_.path();
    plan.argv = {"/skill/" + probe};
    plan.argv.insert(plan.argv.end(), args.begin(), args.end());
    plan.commands = {"/skill/" + probe};
    plan.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", RunMarker()};
    plan.limits = ProbeLimits();
    return plan;
  }

  // Runs `plan` in the sandbox; the outcome must exist (skillrt itself must not fail).
  Outcome RunInSandbox(const Plan& plan) {
    auto outcome = runtime_->Run(plan);
    EXPECT_TRUE(outcome.has_value()) << "Run(" << plan.argv[0]
                                     << "): " << (outcome ? "" : outcome.error().ToString());
    return outcome ? *outcome : Outcome{};
  }

  Outcome RunProbe(const std::string& probe, const std::vector<std::string>& args) {
    return RunInSandbox(MakePlan(probe, args));
  }

  static Runtime* runtime_;
  static Error* runtime_error_;
  TempDir skill_dir_;
};

Runtime* SandboxProbeTest::runtime_ = nullptr;
Error* SandboxProbeTest::runtime_error_ = nullptr;

json Report(const Outcome& outcome) { return LastJsonLine(outcome.stdout_stream.data); }

bool HasLimit(const Outcome& outcome, const std::string& limit) {
  return std::find(outcome.limits_hit.begin(), outcome.limits_hit.end(), limit) !=
         outcome.limits_hit.end();
}

std::string Describe(const Outcome& o) {
  std::ostringstream s;
  s << "status=" << StatusName(o.status) << " exit=" << (o.exit_code ? *o.exit_code : -1)
    << " signal=" << (o.signal ? *o.signal : 0) << " message=" << o.message
    << " limits_hit=" << json(o.limits_hit).dump()
    << " stdout=" << o.stdout_stream.data.substr(0, 600)
    << " stderr=" << o.stderr_stream.data.substr(0, 600);
  return s.str();
}

// The probe ran to completion inside the sandbox and reported that it was blocked.
#define EXPECT_BLOCKED(outcome)                                                          \
  do {                                                                                   \
    const Outcome& o_ = (outcome);                                                       \
    EXPECT_EQ(o_.exit_code, std::optional<int>(1)) << Describe(o_);                      \
    EXPECT_EQ(Report(o_).value("ok", true), false) << Describe(o_);                      \
  } while (0)

#define EXPECT_HOST_SUCCEEDS(run)                                                  \
  do {                                                                             \
    const HostRun& r_ = (run);                                                     \
    EXPECT_EQ(r_.exit_code, 0) << "positive control failed: " << r_.out << r_.err; \
    EXPECT_EQ(r_.report.value("ok", false), true) << r_.out;                       \
  } while (0)

#define REQUIRE_ROOT()                                                                      \
  do {                                                                                      \
    if (geteuid() != 0) GTEST_SKIP() << "the positive control needs root on the host"; \
  } while (0)

// --- Files ----------------------------------------------------------------------------------

TEST_F(SandboxProbeTest, ReadingHostSecretsIsBlocked) {
  REQUIRE_ROOT();
  HostSecret home(HomeProbeDir(), "secret.txt", /*remove_dir=*/true);
  HostSecret root_file("/root", ".skillrt-probe-secret.txt", /*remove_dir=*/false);
  for (const std::string& target : std::vector<std::string>{std::string("/etc/shadow"), root_file.path().string(), home.path().string()}) {
    SCOPED_TRACE(target);
    EXPECT_HOST_SUCCEEDS(RunOnHost("read_file", {target}));
    const Outcome inside = RunProbe("read_file", {target});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(inside.stdout_stream.data.find(HostSecret::kContent), std::string::npos);
    EXPECT_EQ(inside.stdout_stream.data.find("root:"), std::string::npos);
    // Not even the existence of the file shows.
    EXPECT_BLOCKED(RunProbe("stat_path", {target}));
  }
}

TEST_F(SandboxProbeTest, WritingOutsideScratchIsBlocked) {
  TempDir host_dir;
  chmod(host_dir.path().c_str(), 0777);
  const fs::path host_target = host_dir.path() / "written-by-probe";
  EXPECT_HOST_SUCCEEDS(RunOnHost("write_file", {host_target.string()}));
  ASSERT_TRUE(fs::exists(host_target));
  fs::remove(host_target);

  const fs::path skill_target = skill_dir_.path() / "written-by-probe";
  for (const std::string& target : std::vector<std::string>{host_target.string(), std::string("/skill/written-by-probe"),
        std::string("/etc/skillrt-probe"), std::string("/usr/skillrt-probe"),
        std::string("/skillrt-probe"), std::string("/proc/sys/kernel/hostname")}) {
    SCOPED_TRACE(target);
    EXPECT_BLOCKED(RunProbe("write_file", {target}));
  }
  EXPECT_FALSE(fs::exists(host_target));
  EXPECT_FALSE(fs::exists(skill_target));
  EXPECT_FALSE(fs::exists("/etc/skillrt-probe"));
  EXPECT_FALSE(fs::exists("/usr/skillrt-probe"));
  EXPECT_FALSE(fs::exists("/skillrt-probe"));

  // The private scratch directory is writable: the same probe succeeds there, and what it
  // writes does not land in the host's /tmp.
  const std::string scratch_file = "/tmp/skillrt-probe-scratch-" + std::to_string(getpid());
  const Outcome scratch = RunProbe("write_file", {scratch_file});
  EXPECT_EQ(scratch.status, Status::kOk) << Describe(scratch);
  EXPECT_FALSE(fs::exists(scratch_file)) << "the sandbox's /tmp must not be the host's /tmp";
}

TEST_F(SandboxProbeTest, DotDotTraversalOutOfSkillDirIsBlocked) {
  REQUIRE_ROOT();
  HostSecret home(HomeProbeDir(), "secret.txt", /*remove_dir=*/true);
  // On the host, walking up from the skill directory reaches the secret.
  const std::string host_path =
      skill_dir_.path().string() + "/" + UpToRoot(skill_dir_.path()) +
      HomeProbeDir().substr(1) + "/secret.txt";
  EXPECT_HOST_SUCCEEDS(RunOnHost("read_file", {host_path}));
  for (const std::string& target : std::vector<std::string>{std::string("/skill/../../etc/shadow"), std::string("/skill/../../../root/.bashrc"),
        "/skill/.." + HomeProbeDir() + "/secret.txt",
        "/skill/../" + host_path}) {
    SCOPED_TRACE(target);
    const Outcome inside = RunProbe("read_file", {target});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(inside.stdout_stream.data.find(HostSecret::kContent), std::string::npos);
  }
}

TEST_F(SandboxProbeTest, SymlinkTraversalOutOfSkillDirIsBlocked) {
  REQUIRE_ROOT();
  HostSecret home(HomeProbeDir(), "secret.txt", /*remove_dir=*/true);
  // Symlinks shipped inside the skill, absolute and relative, pointing at the host secret.
  fs::create_symlink(home.path(), skill_dir_.path() / "absolute-link");
  fs::create_symlink(UpToRoot(skill_dir_.path()) + HomeProbeDir().substr(1) + "/secret.txt", skill_dir_.path() / "up-link");
  for (const char* link : {"absolute-link", "up-link"}) {
    SCOPED_TRACE(link);
    EXPECT_HOST_SUCCEEDS(RunOnHost("read_file", {(skill_dir_.path() / link).string()}));
    const Outcome inside = RunProbe("read_file", {std::string("/skill/") + link});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(inside.stdout_stream.data.find(HostSecret::kContent), std::string::npos);
  }

  // A symlink the skill creates at run time in its scratch directory.
  TempDir host_links;
  const fs::path host_link = host_links.path() / "link";
  EXPECT_HOST_SUCCEEDS(RunOnHost("symlink_escape", {home.path().string(), host_link.string()}));
  for (const std::string& target : std::vector<std::string>{home.path().string(), std::string("/etc/shadow")}) {
    SCOPED_TRACE(target);
    EXPECT_BLOCKED(RunProbe("symlink_escape", {target, "/tmp/escape-link"}));
  }
}

TEST_F(SandboxProbeTest, RootDirectoryShowsOnlyTheMinimalRoot) {
  const HostRun host = RunOnHost("list_dir", {"/"});
  EXPECT_HOST_SUCCEEDS(host);
  const Outcome inside = RunProbe("list_dir", {"/"});
  ASSERT_EQ(inside.status, Status::kOk) << Describe(inside);
  const json entries = Report(inside).value("entries", json::array());
  ASSERT_FALSE(entries.empty()) << Describe(inside);
  const std::set<std::string> allowed = {"skill", "tmp",  "proc",  "dev",    "etc",
                                         "usr",   "bin",  "sbin",  "lib",    "lib32",
                                         "lib64", "libx32", "skillrt"};
  for (const auto& entry : entries) {
    EXPECT_TRUE(allowed.count(entry.get<std::string>())) << "unexpected /" << entry;
  }
  for (const char* hidden : {"home", "root", "var", "run", "srv", "mnt", "opt", "media", "boot",
                             "work", "sys", "lost+found"}) {
    EXPECT_FALSE(std::find(entries.begin(), entries.end(), hidden) != entries.end())
        << "/" << hidden << " is visible in the sandbox";
  }
  EXPECT_BLOCKED(RunProbe("list_dir", {"/home"}));
  EXPECT_BLOCKED(RunProbe("list_dir", {"/root"}));
  EXPECT_BLOCKED(RunProbe("stat_path", {"/var/run"}));
}

// --- Network --------------------------------------------------------------------------------

// A socket of the test bound to 127.0.0.1 on a free port.
class LocalSocket {
 public:
  explicit LocalSocket(int type) {
    fd_ = socket(AF_INET, type | SOCK_CLOEXEC, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof(addr);
    if (bind(fd_, reinterpret_cast<sockaddr*>(&addr), len) == 0 &&
        getsockname(fd_, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
      port_ = ntohs(addr.sin_port);
    }
    if (type == SOCK_STREAM) listen(fd_, 16);
  }
  ~LocalSocket() { close(fd_); }
  LocalSocket(const LocalSocket&) = delete;
  LocalSocket& operator=(const LocalSocket&) = delete;

  int fd() const { return fd_; }
  std::string port() const { return std::to_string(port_); }

  // Receives one datagram or connection within `timeout`; true if one arrived.
  bool Receive(std::chrono::milliseconds timeout) {
    pollfd p = {fd_, POLLIN, 0};
    if (poll(&p, 1, static_cast<int>(timeout.count())) <= 0) return false;
    char buf[2048];
    sockaddr_storage peer{};
    socklen_t peer_len = sizeof(peer);
    int conn = accept4(fd_, reinterpret_cast<sockaddr*>(&peer), &peer_len, SOCK_CLOEXEC);
    if (conn >= 0) {
      close(conn);
      return true;
    }
    return recv(fd_, buf, sizeof(buf), MSG_DONTWAIT) >= 0;
  }

 private:
  int fd_ = -1;
  int port_ = 0;
};

// A minimal DNS responder on 127.0.0.1: answers every query with an empty NOERROR reply.
class LocalDnsServer {
 public:
  LocalDnsServer() : socket_(SOCK_DGRAM) {
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p = {socket_.fd(), POLLIN, 0};
        if (poll(&p, 1, 50) <= 0) continue;
        unsigned char buf[512];
        sockaddr_storage peer{};
        socklen_t len = sizeof(peer);
        ssize_t n = recvfrom(socket_.fd(), buf, sizeof(buf), 0,
                             reinterpret_cast<sockaddr*>(&peer), &len);
        if (n < 12) continue;
        ++queries_;
        buf[2] |= 0x80;  // QR: this is a response.
        buf[3] = 0x80;   // RA, rcode NOERROR.
        sendto(socket_.fd(), buf, static_cast<size_t>(n), 0, reinterpret_cast<sockaddr*>(&peer),
               len);
      }
    });
  }
  ~LocalDnsServer() {
    stop_ = true;
    thread_.join();
  }
  std::string port() const { return socket_.port(); }
  int queries() const { return queries_; }

 private:
  LocalSocket socket_;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

// The first IPv4 nameserver of /etc/resolv.conf, if any.
std::optional<std::string> HostResolver() {
  std::ifstream in("/etc/resolv.conf");
  std::string word;
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream fields(line);
    std::string address;
    if (fields >> word >> address && word == "nameserver" &&
        address.find(':') == std::string::npos) {
      return address;
    }
  }
  return std::nullopt;
}

// TCP sockets exist in the sandbox (for its own loopback), but its network namespace holds
// nothing of the host's: the host's loopback server is another namespace's, and no other
// address has a route.
TEST_F(SandboxProbeTest, TcpToTheHostIsBlocked) {
  LocalSocket server(SOCK_STREAM);
  EXPECT_HOST_SUCCEEDS(RunOnHost("tcp_connect", {"127.0.0.1", server.port(), "1000"}));
  EXPECT_TRUE(server.Receive(1s));
  std::vector<std::string> targets = {"127.0.0.1", "::1"};
  if (auto resolver = HostResolver()) targets.push_back(*resolver);
  for (const auto& target : targets) {
    SCOPED_TRACE(target);
    const Outcome inside = RunProbe("tcp_connect", {target, server.port(), "1000"});
    EXPECT_BLOCKED(inside);
    const std::string err = Report(inside).value("errno", "");
    EXPECT_TRUE(err == "ECONNREFUSED" || err == "ENETUNREACH" || err == "EADDRNOTAVAIL")
        << Describe(inside);
  }
  EXPECT_FALSE(server.Receive(200ms)) << "a connection from the sandbox reached the host";
}

TEST_F(SandboxProbeTest, UdpEgressIsBlocked) {
  LocalSocket sink(SOCK_DGRAM);
  EXPECT_HOST_SUCCEEDS(RunOnHost("udp_send", {"127.0.0.1", sink.port()}));
  EXPECT_TRUE(sink.Receive(1s)) << "positive control: the datagram did not arrive";
  const Outcome inside = RunProbe("udp_send", {"127.0.0.1", sink.port()});
  EXPECT_BLOCKED(inside);
  EXPECT_EQ(Report(inside).value("errno", ""), "EPERM") << Describe(inside);
  EXPECT_FALSE(sink.Receive(300ms)) << "a datagram from the sandbox reached the host";
}

TEST_F(SandboxProbeTest, DnsQueriesAreBlocked) {
  LocalDnsServer dns;
  EXPECT_HOST_SUCCEEDS(RunOnHost("dns_query", {"127.0.0.1", "example.com", dns.port(), "1000"}));
  ASSERT_EQ(dns.queries(), 1);
  const Outcome local = RunProbe("dns_query", {"127.0.0.1", "example.com", dns.port(), "1000"});
  EXPECT_BLOCKED(local);
  if (auto resolver = HostResolver()) {
    SCOPED_TRACE(*resolver);
    EXPECT_BLOCKED(RunProbe("dns_query", {*resolver, "example.com", "53", "1000"}));
  }
  EXPECT_EQ(dns.queries(), 1) << "a DNS query from the sandbox reached the host";
}

// A skill may serve on its own loopback (a local test server) and reach what it serves there;
// the host's loopback stays out of reach (TcpToTheHostIsBlocked, and workspace_test.cc's
// loopback test with and without egress).
TEST_F(SandboxProbeTest, ListeningStaysOnTheSandboxsOwnLoopback) {
  for (const char* address : {"127.0.0.1", "0.0.0.0"}) {
    SCOPED_TRACE(address);
    EXPECT_HOST_SUCCEEDS(RunOnHost("tcp_listen", {"0", address}));
    const Outcome inside = RunProbe("tcp_listen", {"0", address});
    EXPECT_EQ(inside.status, Status::kOk) << Describe(inside);
  }
  const Outcome echo = RunProbe("loopback_echo", {"127.0.0.1"});
  EXPECT_EQ(echo.status, Status::kOk) << Describe(echo);
}

// --- Processes ------------------------------------------------------------------------------

TEST_F(SandboxProbeTest, TracingAHostProcessIsBlocked) {
  REQUIRE_ROOT();
  HostVictim victim;
  const std::string pid = std::to_string(victim.pid());
  EXPECT_HOST_SUCCEEDS(RunOnHost("ptrace_attach", {pid}));
  ASSERT_TRUE(victim.Alive());
  EXPECT_BLOCKED(RunProbe("ptrace_attach", {pid}));
  EXPECT_BLOCKED(RunProbe("ptrace_attach", {"1"}));  // The sandbox's own init.
  EXPECT_TRUE(victim.Alive());
}

TEST_F(SandboxProbeTest, SignallingAHostProcessIsBlocked) {
  HostVictim victim;
  const std::string pid = std::to_string(victim.pid());
  EXPECT_HOST_SUCCEEDS(RunOnHost("kill_pid", {pid, "0"}));
  for (const char* sig : {"0", "9", "15"}) {
    SCOPED_TRACE(sig);
    EXPECT_BLOCKED(RunProbe("kill_pid", {pid, sig}));
  }
  EXPECT_TRUE(victim.Alive()) << "a signal from the sandbox reached a host process";
}

TEST_F(SandboxProbeTest, HostProcessesAreInvisible) {
  const std::string self = std::to_string(getpid());
  const HostRun host = RunOnHost("list_procs", {self});
  EXPECT_HOST_SUCCEEDS(host);
  const Outcome inside = RunProbe("list_procs", {self});
  EXPECT_BLOCKED(inside);
  const json report = Report(inside);
  const json pids = report.value("pids", json::array());
  // A fresh procfs of the sandbox's pid namespace: only the probe and the sandbox's init.
  EXPECT_LE(pids.size(), 3u) << report.dump();
  EXPECT_GT(host.report.value("count", 0), static_cast<int>(pids.size()));
  for (const auto& p : pids) EXPECT_LT(p.get<int>(), 100) << report.dump();
}

TEST_F(SandboxProbeTest, ForkBombIsStoppedByTheProcessLimit) {
  EXPECT_HOST_SUCCEEDS(RunOnHost("fork_bomb", {"20"}));
  // Positive control in the sandbox: fewer forks than the limit succeed.
  Plan small = MakePlan("fork_bomb", {"8"});
  small.limits.pids_max = 16;
  const Outcome ok = RunInSandbox(small);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan bomb = MakePlan("fork_bomb", {});
  bomb.limits.pids_max = 16;
  const auto start = std::chrono::steady_clock::now();
  const Outcome inside = RunInSandbox(bomb);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_NE(inside.status, Status::kOk) << Describe(inside);
  EXPECT_TRUE(HasLimit(inside, "processes")) << Describe(inside);
  const json report = Report(inside);
  if (!report.is_null()) {
    EXPECT_EQ(report.value("ok", true), false);
    EXPECT_LT(report.value("forked", 1 << 30), 16) << report.dump();
    EXPECT_EQ(report.value("errno", ""), "EAGAIN") << report.dump();
  }
  if (geteuid() == 0) {
    EXPECT_TRUE(LeftoverProcesses(kSandboxHostUid).empty());
  }
}

TEST_F(SandboxProbeTest, MemoryBombIsKilledAtTheMemoryLimit) {
  EXPECT_HOST_SUCCEEDS(RunOnHost("memory_bomb", {"128"}));
  Plan roomy = MakePlan("memory_bomb", {"128"});
  roomy.limits.memory_max_bytes = 512ull << 20;
  const Outcome ok = RunInSandbox(roomy);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan tight = MakePlan("memory_bomb", {"128"});
  tight.limits.memory_max_bytes = 48ull << 20;
  const Outcome inside = RunInSandbox(tight);
  EXPECT_EQ(inside.status, Status::kKilled) << Describe(inside);
  EXPECT_TRUE(HasLimit(inside, "memory")) << Describe(inside);
  EXPECT_NE(inside.exit_code, std::optional<int>(0));
}

TEST_F(SandboxProbeTest, CpuSpinIsKilledAtTheCpuLimit) {
  Plan short_spin = MakePlan("cpu_spin", {"0.3"});
  short_spin.limits.cpu_time = 2s;
  const Outcome ok = RunInSandbox(short_spin);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan spin = MakePlan("cpu_spin", {"30"});
  spin.limits.cpu_time = 1s;
  spin.limits.wall_time = 20s;
  const auto start = std::chrono::steady_clock::now();
  const Outcome inside = RunInSandbox(spin);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 10s);
  EXPECT_EQ(inside.status, Status::kKilled) << Describe(inside);
  EXPECT_TRUE(HasLimit(inside, "cpu_time")) << Describe(inside);
  EXPECT_GE(inside.cpu, 900ms) << Describe(inside);
}

TEST_F(SandboxProbeTest, SleepIsKilledAtTheWallClockLimit) {
  Plan short_sleep = MakePlan("sleep_for", {"0.2"});
  short_sleep.limits.wall_time = 3s;
  const Outcome ok = RunInSandbox(short_sleep);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan sleep = MakePlan("sleep_for", {"60"});
  sleep.limits.wall_time = 1s;
  const auto start = std::chrono::steady_clock::now();
  const Outcome inside = RunInSandbox(sleep);
  const auto elapsed = std::chrono::steady_clock::now() - start;
  EXPECT_EQ(inside.status, Status::kTimeout) << Describe(inside);
  EXPECT_TRUE(HasLimit(inside, "wall_time")) << Describe(inside);
  EXPECT_GE(elapsed, 900ms);
  EXPECT_LT(elapsed, 10s);
}

// Reports when the skill started, and what it wrote.
class RecordingObserver : public RunObserver {
 public:
  void OnStarted(const std::vector<std::string>& layers) override {
    layers_ = layers;
    started_.store(true);
  }
  void OnOutput(OutputStream stream, std::string_view bytes) override {
    if (stream == OutputStream::kStdout) output_ += bytes;
  }
  bool started() const { return started_.load(); }
  std::vector<std::string> layers_;
  std::string output_;

 private:
  std::atomic<bool> started_{false};
};

TEST_F(SandboxProbeTest, CancelKillsTheRunAndLeavesNothing) {
  // Positive control: without a cancel, the same sleep runs to its end.
  Plan short_sleep = MakePlan("sleep_for", {"0.3"});
  const Outcome ok = RunInSandbox(short_sleep);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan sleep = MakePlan("sleep_for", {"60"});
  sleep.limits.wall_time = 30s;
  CancelToken token;
  RecordingObserver observer;
  std::thread canceller([&] {
    for (int i = 0; i < 500 && !observer.started(); ++i) std::this_thread::sleep_for(10ms);
    std::this_thread::sleep_for(100ms);
    token.Cancel("stopped by the test");
  });
  const auto start = std::chrono::steady_clock::now();
  auto outcome = runtime_->Execute(sleep, RunContext{.cancel = &token, .observer = &observer});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  canceller.join();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kCancelled) << Describe(*outcome);
  EXPECT_EQ(outcome->message, "stopped by the test");
  EXPECT_TRUE(observer.started());
  EXPECT_EQ(observer.layers_, outcome->layers);
  EXPECT_LT(elapsed, 10s);
  // TearDown asserts that no process of the sandbox's user is left.
}

TEST_F(SandboxProbeTest, CancelledBeforeStartRunsNothing) {
  Plan plan = MakePlan("sleep_for", {"60"});
  CancelToken token;
  token.Cancel("never mind");
  RecordingObserver observer;
  auto outcome = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_FALSE(observer.started());
}

TEST_F(SandboxProbeTest, OutputReachesTheObserverAsItIsWritten) {
  Plan plan = MakePlan("output_flood", {"32768"});
  RecordingObserver observer;
  auto outcome = runtime_->Execute(plan, RunContext{.observer = &observer});
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kOk) << Describe(*outcome);
  EXPECT_EQ(observer.output_.size(), outcome->stdout_stream.data.size());
  EXPECT_TRUE(observer.output_ == outcome->stdout_stream.data);
  EXPECT_EQ(observer.output_.size(), 32768u);
}

TEST_F(SandboxProbeTest, OutputFloodIsCutAtTheOutputLimit) {
  Plan small = MakePlan("output_flood", {"32768"});
  small.limits.output_max_bytes = 64 << 10;
  const Outcome ok = RunInSandbox(small);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);
  EXPECT_EQ(ok.stdout_stream.data.size(), 32768u);
  EXPECT_FALSE(ok.stdout_stream.truncated);

  Plan flood = MakePlan("output_flood", {std::to_string(512 << 20)});
  flood.limits.output_max_bytes = 64 << 10;
  const auto start = std::chrono::steady_clock::now();
  const Outcome inside = RunInSandbox(flood);
  EXPECT_LT(std::chrono::steady_clock::now() - start, 15s);
  EXPECT_EQ(inside.status, Status::kKilled) << Describe(inside);
  EXPECT_TRUE(HasLimit(inside, "output")) << Describe(inside);
  EXPECT_EQ(inside.stdout_stream.data.size(), 64u << 10);
  EXPECT_TRUE(inside.stdout_stream.truncated);
  EXPECT_GT(inside.stdout_stream.total_bytes, 64u << 10);
}

TEST_F(SandboxProbeTest, FillingTheDiskStopsAtTheFileSizeLimit) {
  Plan small = MakePlan("fill_disk", {"/tmp/small", "2"});
  small.limits.file_size_max_bytes = 4 << 20;
  const Outcome ok = RunInSandbox(small);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);

  Plan big = MakePlan("fill_disk", {"/tmp/big", "64"});
  big.limits.file_size_max_bytes = 4 << 20;
  big.limits.scratch_max_bytes = 128ull << 20;
  big.limits.memory_max_bytes = 256ull << 20;
  const Outcome inside = RunInSandbox(big);
  const bool killed_by_sigxfsz = inside.status == Status::kKilled &&
                                 inside.signal == std::optional<int>(SIGXFSZ) &&
                                 HasLimit(inside, "file_size");
  const bool efbig = inside.exit_code == std::optional<int>(1) &&
                     Report(inside).value("errno", "") == "EFBIG";
  EXPECT_TRUE(killed_by_sigxfsz || efbig) << Describe(inside);

  // The scratch tmpfs has its own size: a file under the file-size limit still cannot
  // exceed it.
  Plan full = MakePlan("fill_disk", {"/tmp/full", "48"});
  full.limits.file_size_max_bytes = 256ull << 20;
  full.limits.scratch_max_bytes = 16ull << 20;
  full.limits.memory_max_bytes = 256ull << 20;
  const Outcome scratch = RunInSandbox(full);
  EXPECT_BLOCKED(scratch);
  EXPECT_EQ(Report(scratch).value("errno", ""), "ENOSPC") << Describe(scratch);
}

// --- Environment, descriptors, terminal -----------------------------------------------------

TEST_F(SandboxProbeTest, HostEnvironmentDoesNotLeak) {
  constexpr const char* kSecret = "hunter2-skillrt-probe";
  setenv("HOST_SECRET", kSecret, 1);
  const HostRun host = RunOnHost("env_dump", {"HOST_SECRET"});
  EXPECT_HOST_SUCCEEDS(host);
  const Outcome inside = RunProbe("env_dump", {"HOST_SECRET"});
  unsetenv("HOST_SECRET");
  EXPECT_BLOCKED(inside);
  EXPECT_EQ(inside.stdout_stream.data.find(kSecret), std::string::npos);
  const json env = Report(inside).value("env", json::object());
  EXPECT_FALSE(env.contains("HOST_SECRET"));
  // Exactly the plan's environment, nothing inherited.
  EXPECT_EQ(env, json({{"PATH", "/usr/bin:/bin"},
                       {"HOME", "/tmp"},
                       {"TMPDIR", "/tmp"},
                       {"SKILLRT_PROBE_TEST", std::to_string(getpid())}}))
      << env.dump();
}

TEST_F(SandboxProbeTest, HostDescriptorsAreNotInherited) {
  // Deliberately without O_CLOEXEC: a careless runtime would pass it on.
  const int leaked = open("/etc/hostname", O_RDONLY);
  ASSERT_GE(leaked, 3);
  const HostRun host = RunOnHost("inherited_fd", {});
  EXPECT_HOST_SUCCEEDS(host);
  bool seen = false;
  for (const auto& fd : host.report.value("fds", json::array())) {
    seen = seen || fd.value("fd", -1) == leaked;
  }
  EXPECT_TRUE(seen) << "positive control: fd " << leaked << " not seen: " << host.out;
  const Outcome inside = RunProbe("inherited_fd", {});
  close(leaked);
  EXPECT_BLOCKED(inside);
  EXPECT_EQ(Report(inside).value("count", -1), 0) << Describe(inside);
}

TEST_F(SandboxProbeTest, TerminalInjectionIsBlocked) {
  REQUIRE_ROOT();
  int master = -1;
  int slave = -1;
  ASSERT_EQ(openpty(&master, &slave, nullptr, nullptr, nullptr), 0) << strerror(errno);
  HostOptions on_pty;
  on_pty.stdin_fd = slave;
  const HostRun host = RunOnHost("tiocsti", {"/dev/null"}, on_pty);
  close(slave);
  close(master);
  if (host.report.value("stdin", json()) == "EIO") {
    GTEST_SKIP() << "the kernel has TIOCSTI disabled (CONFIG_LEGACY_TIOCSTI off)";
  }
  EXPECT_HOST_SUCCEEDS(host);
  const Outcome inside = RunProbe("tiocsti", {});
  EXPECT_BLOCKED(inside);
}

// --- Namespaces, mounts, privileges --------------------------------------------------------

TEST_F(SandboxProbeTest, MountIsBlocked) {
  REQUIRE_ROOT();
  TempDir target;
  HostOptions own_mount_ns;
  own_mount_ns.private_mount_ns = true;
  EXPECT_HOST_SUCCEEDS(RunOnHost("mount_try", {target.path().string()}, own_mount_ns));
  for (const char* where : {"/tmp", "/skill", "/proc"}) {
    SCOPED_TRACE(where);
    const Outcome inside = RunProbe("mount_try", {where});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), "EPERM") << Describe(inside);
  }
}

TEST_F(SandboxProbeTest, NewNamespacesAreBlocked) {
  for (const char* flags : {"user", "mnt", "net", "pid", "user,mnt"}) {
    SCOPED_TRACE(flags);
    EXPECT_HOST_SUCCEEDS(RunOnHost("unshare_try", {flags}));
    EXPECT_BLOCKED(RunProbe("unshare_try", {flags}));
  }
  for (const char* flags : {"mnt", "user", "net"}) {
    SCOPED_TRACE(std::string("clone ") + flags);
    EXPECT_HOST_SUCCEEDS(RunOnHost("clone_ns", {flags}));
    const Outcome inside = RunProbe("clone_ns", {flags});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), "EPERM") << Describe(inside);
  }
}

TEST_F(SandboxProbeTest, SetuidBinaryGivesNoPrivilege) {
  REQUIRE_ROOT();
  // A setuid-root copy of whoami_uid, owned by root.
  Install("setuid_exec");
  const fs::path suid = Install("whoami_uid", "suid_whoami");
  ASSERT_EQ(chown(suid.c_str(), 0, 0), 0);
  ASSERT_EQ(chmod(suid.c_str(), 04755), 0);

  // Positive control: an unprivileged host user gains euid 0 through it. The copies in the
  // (world-readable) skill directory are used, since the build tree may not be.
  HostOptions nobody;
  nobody.drop_to_uid = 65534;
  const HostRun host =
      RunOnHost((skill_dir_.path() / "setuid_exec").string(), {suid.string()}, nobody);
  EXPECT_EQ(host.exit_code, 0) << host.out << host.err;
  EXPECT_EQ(host.report.value("euid", -1), 0) << host.out;
  EXPECT_EQ(host.report.value("uid", -1), 65534) << host.out;

  Plan plan = MakePlan("setuid_exec", {"/skill/suid_whoami"});
  plan.commands.push_back("/skill/suid_whoami");
  const Outcome inside = RunInSandbox(plan);
  EXPECT_EQ(inside.exit_code, std::optional<int>(1)) << Describe(inside);
  const json report = Report(inside);
  EXPECT_EQ(report.value("probe", ""), "whoami_uid") << "the exec itself failed: "
                                                      << Describe(inside);
  EXPECT_NE(report.value("euid", 0), 0) << report.dump();
  EXPECT_EQ(report.value("euid", -1), report.value("uid", -2)) << report.dump();
}

TEST_F(SandboxProbeTest, DangerousSyscallsAreDenied) {
  struct Case {
    const char* name;
    const char* errno_name;
  };
  for (const Case& c : {Case{"io_uring_setup", "EPERM"}, Case{"bpf", "EPERM"},
                        Case{"perf_event_open", "EPERM"}, Case{"keyctl", "EPERM"},
                        Case{"add_key", "EPERM"}, Case{"userfaultfd", "EPERM"},
                        Case{"open_by_handle_at", "EPERM"}, Case{"socket_raw", "EPERM"},
                        Case{"socket_packet", "EPERM"}, Case{"socket_netlink", "EPERM"},
                        Case{"clone3", "ENOSYS"}, Case{"socket_unix", "EACCES"},
                        Case{"personality_rie", "EPERM"}}) {
    SCOPED_TRACE(c.name);
    if (geteuid() == 0) {
      EXPECT_HOST_SUCCEEDS(RunOnHost("syscall_try", {c.name}));
    }
    const Outcome inside = RunProbe("syscall_try", {c.name});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), c.errno_name) << Describe(inside);
  }
  // memfd_secret exists only where the kernel was booted with secretmem: the host run says
  // whether there is anything to refuse.
  if (RunOnHost("syscall_try", {"memfd_secret"}).exit_code == 0) {
    const Outcome inside = RunProbe("syscall_try", {"memfd_secret"});
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), "EPERM") << Describe(inside);
  }
  // Anonymous socket pairs and TCP sockets (bounded by the network namespace) stay available:
  // the filter is a deny list, not a broken process.
  for (const char* allowed : {"socketpair_unix", "socket_inet", "socket_inet6"}) {
    SCOPED_TRACE(allowed);
    const Outcome ok = RunProbe("syscall_try", {allowed});
    EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);
  }
}

// The execute rules are not a boundary around code (docs/sandbox.md, "Execution rules"): once
// any dynamically linked command is declared, the dynamic loader is executable, and run
// directly it runs any program the skill can read. What that program can do is the
// sandbox's to bound: it runs as the sandbox's unprivileged user. Control: with no dynamic
// command declared, the loader itself cannot be started.
TEST_F(SandboxProbeTest, TheLoaderRunsReadableProgramsButStillConfined) {
  const char* loader = "/lib64/ld-linux-x86-64.so.2";
  if (!fs::exists(loader)) GTEST_SKIP() << "no " << loader << " on this architecture";
  Plan declared_only = MakePlan("exec_try", {loader, "/usr/bin/id", "-u"});
  declared_only.exec_profile = ExecProfile::kDeclared;
  const Outcome refused = RunInSandbox(declared_only);
  EXPECT_BLOCKED(refused);
  EXPECT_EQ(Report(refused).value("errno", ""), "EACCES") << Describe(refused);

  Plan plan = MakePlan("exec_try", {loader, "/usr/bin/id", "-u"});
  plan.exec_profile = ExecProfile::kDeclared;
  plan.commands.push_back("/usr/bin/env");  // Dynamic: its interpreter becomes executable.
  const Outcome ran = RunInSandbox(plan);
  ASSERT_EQ(ran.status, Status::kOk) << Describe(ran);
  EXPECT_EQ(Report(ran).value("exit", -1), 0) << Describe(ran);
  EXPECT_NE(ran.stderr_stream.data.find("1000"), std::string::npos) << Describe(ran);
}

// A host service's Unix socket inside a granted directory: connect(2) needs only the socket
// file, which no read-only mount or Landlock right withholds, so the sandbox refuses the
// socket(AF_UNIX) that would reach it. Positive control: the same probe connects on the host.
TEST_F(SandboxProbeTest, HostUnixSocketInAGrantedDirectoryIsUnreachable) {
  skillrt::testing::VarTmpDir dir;
  const std::string path = (dir.path() / "service.sock").string();
  const int server = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{server};
  sockaddr_un addr{};
  addr.sun_family = AF_UNIX;
  std::snprintf(addr.sun_path, sizeof addr.sun_path, "%s", path.c_str());
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), sizeof addr), 0);
  ASSERT_EQ(::chmod(path.c_str(), 0777), 0);
  ASSERT_EQ(::chmod(dir.path().c_str(), 0755), 0);
  ASSERT_EQ(::listen(server, 4), 0);

  EXPECT_HOST_SUCCEEDS(RunOnHost("unix_connect", {path}));
  Plan plan = MakePlan("unix_connect", {path});
  plan.mounts.push_back({.path = dir.path(), .writable = false});
  const Outcome inside = RunInSandbox(plan);
  EXPECT_BLOCKED(inside);
  EXPECT_EQ(Report(inside).value("errno", ""), "EACCES") << Describe(inside);
}

// A declared writable path that another process swaps with a symbolic link to the host's
// root (renameat2(RENAME_EXCHANGE) in a tight loop) while runs are planned and started. The
// path is resolved and pinned once; the sandbox binds the pinned object or refuses the run,
// so no run ever sees the host's root. Positive control: the same swap, followed from the
// host, does reach the host's root (the race is real while the runs happen).
TEST_F(SandboxProbeTest, SwappingADeclaredPathForASymlinkNeverBindsTheHostRoot) {
  skillrt::testing::VarTmpDir dir;
  const fs::path real = dir.path() / "data";
  const fs::path decoy = dir.path() / "decoy";
  fs::create_directory(real);
  WriteFile(real / "inside.txt", "data\n");
  fs::create_directory_symlink("/", decoy);

  std::atomic<bool> stop{false};
  std::atomic<uint64_t> swaps{0};
  std::thread swapper([&] {
    while (!stop.load(std::memory_order_relaxed)) {
      if (::syscall(SYS_renameat2, AT_FDCWD, real.c_str(), AT_FDCWD, decoy.c_str(),
                    RENAME_EXCHANGE) == 0) {
        swaps.fetch_add(1, std::memory_order_relaxed);
      }
      // A swap every few hundred microseconds: often enough to land between a run's decision
      // and its bind (milliseconds apart), rarely enough that most runs get that far.
      std::this_thread::sleep_for(300us);
    }
  });
  struct Join {
    std::atomic<bool>& stop;
    std::thread& thread;
    ~Join() {
      stop = true;
      thread.join();
    }
  } join{stop, swapper};

  // Positive control: followed from the host, the declared path is at times the host's root.
  int host_saw_root = 0;
  const auto give_up = std::chrono::steady_clock::now() + 5s;
  while (host_saw_root == 0 && std::chrono::steady_clock::now() < give_up) {
    std::error_code ec;
    if (fs::exists(real / "proc" / "self", ec)) ++host_saw_root;
  }
  EXPECT_GT(host_saw_root, 0) << "the swap never showed the host's root; the race is not running";

  // Until 40 runs have started in a sandbox (each a chance for the swap to land between the
  // decision and the bind), or a bounded number of attempts.
  int ran = 0, refused = 0, escaped = 0;
  for (int i = 0; i < 4000 && ran < 40; ++i) {
    Result<PathPin> pin = PinHostPath(real);
    if (!pin || ReservedHostPath(pin->resolved.string())) {
      ++refused;  // Planning refused it: it resolved to the root, or changed under us.
      continue;
    }
    Plan plan = MakePlan("list_dir", {real.string()});
    plan.mounts.push_back({.path = real, .writable = true, .pin = *pin});
    auto outcome = runtime_->Run(plan);
    if (!outcome) {
      ++refused;  // The sandbox found another object at the path than the one pinned.
      EXPECT_EQ(outcome.error().code, ErrorCode::kSandbox) << outcome.error().ToString();
      continue;
    }
    ++ran;
    const json entries = Report(*outcome).value("entries", json::array());
    for (const json& entry : entries) {
      if (entry == "proc" || entry == "etc" || entry == "usr") {
        ++escaped;
        break;
      }
    }
  }
  stop = true;
  EXPECT_EQ(escaped, 0) << escaped << " run(s) saw the host's root through the declared path";
  EXPECT_GT(ran, 0) << "no run got past planning; the test proved nothing";
  RecordProperty("swaps", std::to_string(swaps.load()));
  RecordProperty("ran", ran);
  RecordProperty("refused", refused);
}

// The host's boot parameters are masked: /proc/cmdline reads empty. Positive control: the
// host's is not empty.
TEST_F(SandboxProbeTest, HostBootParametersAreMasked) {
  const HostRun host = RunOnHost("read_file", {"/proc/cmdline"});
  ASSERT_EQ(host.exit_code, 0);
  EXPECT_GT(host.report.value("bytes", 0), 0) << host.out;
  const Outcome inside = RunProbe("read_file", {"/proc/cmdline"});
  ASSERT_EQ(inside.status, Status::kOk) << Describe(inside);
  EXPECT_EQ(Report(inside).value("bytes", -1), 0) << Describe(inside);
}

// With the declared execution profile, only the declared commands run.
TEST_F(SandboxProbeTest, UndeclaredExecutablesCannotRun) {
  EXPECT_HOST_SUCCEEDS(RunOnHost("exec_try", {"/usr/bin/id"}));
  auto declared_only = [&](const std::vector<std::string>& args) {
    Plan plan = MakePlan("exec_try", args);
    plan.exec_profile = ExecProfile::kDeclared;
    return plan;
  };
  for (const char* target : {"/usr/bin/id", "/bin/sh", "/usr/bin/python3"}) {
    SCOPED_TRACE(target);
    const Outcome inside = RunInSandbox(declared_only({target}));
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), "EACCES") << Describe(inside);
  }
  // A copy of a probe that is in the skill directory but not declared is refused too, in
  // either profile ...
  Install("whoami_uid");
  EXPECT_BLOCKED(RunInSandbox(declared_only({"/skill/whoami_uid"})));
  EXPECT_BLOCKED(RunProbe("exec_try", {"/skill/whoami_uid"}));
  // ... and runs once declared (the positive control inside the sandbox).
  Plan declared = declared_only({"/skill/whoami_uid"});
  declared.commands.push_back("/skill/whoami_uid");
  const Outcome ok = RunInSandbox(declared);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);
  EXPECT_EQ(Report(ok).value("exit", -1), 1) << "whoami_uid must not run as root";
}

}  // namespace
}  // namespace skillrt
