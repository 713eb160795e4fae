// The native sandbox's surface for script-style skills, against the real runtime: the
// workspace (ownership, escapes by symbolic link, ".." and hard link, set-user-ID files), the
// execution profile, the python alias, /dev/shm and the sandbox's own loopback. Each block has
// its positive control: the same probe succeeds on the host, or where the restriction is off.
#include <netinet/in.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "probe_runner.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using nlohmann::json;
using ::skillrt::testing::LastJsonLine;
using ::skillrt::testing::ProbePath;
using ::skillrt::testing::RunOnHost;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::VarTmpDir;
using ::skillrt::testing::WriteFile;

// The workspace's owner in tests run as root: an id that is neither root nor the sandbox's.
constexpr uid_t kOwner = 4242;

std::string Describe(const Outcome& o) {
  return "status=" + std::string(StatusName(o.status)) +
         " exit=" + std::to_string(o.exit_code.value_or(-1)) + " message=" + o.message +
         " stdout=" + o.stdout_stream.data.substr(0, 600) +
         " stderr=" + o.stderr_stream.data.substr(0, 600);
}

json Report(const Outcome& o) { return LastJsonLine(o.stdout_stream.data); }

bool Has(const std::vector<std::string>& list, const std::string& item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

struct stat Stat(const fs::path& path) {
  struct stat st = {};
  EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
  return st;
}

#define REQUIRE_ROOT()                                                 \
  do {                                                                 \
    if (::geteuid() != 0) {                                            \
      GTEST_SKIP() << "needs root on the host";                        \
    }                                                                  \
  } while (0)

class WorkspaceTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    auto runtime = MakeNativeRuntime();
    if (runtime) {
      runtime_ = runtime->release();
    } else {
      error_ = new Error(runtime.error());
    }
  }
  static void TearDownTestSuite() {
    delete runtime_;
    runtime_ = nullptr;
    delete error_;
    error_ = nullptr;
  }

  void SetUp() override {
    if (runtime_ == nullptr) {
      if (error_->code == ErrorCode::kUnsupported) GTEST_SKIP() << error_->ToString();
      FAIL() << error_->ToString();
    }
    ::chmod(skill_.path().c_str(), 0755);
    ::chmod(outer_.path().c_str(), 0755);
    workspace_ = outer_.path() / "ws";
    fs::create_directory(workspace_);
    ::chmod(workspace_.c_str(), 0755);
    if (::geteuid() == 0) {
      ASSERT_EQ(::chown(workspace_.c_str(), kOwner, kOwner), 0);
    }
  }

  // Copies probe `name` into the skill directory.
  void Install(const std::string& name) {
    fs::copy_file(ProbePath(name), skill_.path() / name, fs::copy_options::overwrite_existing);
    ::chmod((skill_.path() / name).c_str(), 0755);
  }

  // Runs /skill/<probe> (installed) with the workspace, as the only declared command.
  Plan ProbePlan(const std::string& probe, const std::vector<std::string>& args) {
    Install(probe);
    return CommandPlan({"/skill/" + probe}, args);
  }

  Plan CommandPlan(const std::vector<std::string>& command, const std::vector<std::string>& args) {
    static std::atomic<int> serial{0};
    Plan plan;
    plan.run_id = "ws-" + std::to_string(::getpid()) + "-" + std::to_string(++serial);
    plan.skill_name = "ws";
    plan.skill_dir = skill_.path();
    plan.argv = command;
    plan.argv.insert(plan.argv.end(), args.begin(), args.end());
    plan.commands = {command[0]};
    plan.env = {"PATH=/skillrt/bin:/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
    plan.limits = Limits{.wall_time = 30s,
                         .cpu_time = 20s,
                         .memory_max_bytes = 256ull << 20,
                         .pids_max = 64,
                         .output_max_bytes = 256ull << 10,
                         .file_size_max_bytes = 64ull << 20,
                         .scratch_max_bytes = 32ull << 20,
                         .open_files_max = 256};
    plan.mounts.push_back({.path = workspace_, .writable = true, .workspace = true});
    return plan;
  }

  Outcome Run(const Plan& plan) {
    auto outcome = runtime_->Run(plan);
    EXPECT_TRUE(outcome) << (outcome ? "" : outcome.error().ToString());
    return outcome ? *outcome : Outcome{};
  }

  static Runtime* runtime_;
  static Error* error_;
  TempDir skill_;
  VarTmpDir outer_;   // Holds the workspace and host files beside it.
  fs::path workspace_;
};

Runtime* WorkspaceTest::runtime_ = nullptr;
Error* WorkspaceTest::error_ = nullptr;

#define EXPECT_BLOCKED(outcome)                                        \
  do {                                                                \
    const Outcome& o_ = (outcome);                                    \
    EXPECT_EQ(o_.exit_code, std::optional<int>(1)) << Describe(o_);   \
    EXPECT_EQ(Report(o_).value("ok", true), false) << Describe(o_);   \
  } while (0)

#define EXPECT_HOST_SUCCEEDS(run)                                              \
  do {                                                                         \
    const auto& r_ = (run);                                                    \
    EXPECT_EQ(r_.exit_code, 0) << "positive control failed: " << r_.out << r_.err; \
  } while (0)

// --- Ownership ------------------------------------------------------------------------------

// As root the sandbox's user is host uid 64200, which owns nothing; on the ID-mapped
// workspace the owner's files read as the skill's, and what it writes is the owner's. Control:
// the same directory granted as a plain writable path (no mapping) cannot be written.
TEST_F(WorkspaceTest, AsRootTheWorkspaceOwnerOwnsWhatTheSkillWrites) {
  REQUIRE_ROOT();
  WriteFile(workspace_ / "existing.txt", "data\n");
  ASSERT_EQ(::chown((workspace_ / "existing.txt").c_str(), kOwner, kOwner), 0);

  const Outcome seen = Run(ProbePlan("stat_path", {"existing.txt"}));
  ASSERT_EQ(seen.status, Status::kOk) << Describe(seen);
  EXPECT_EQ(Report(seen).value("uid", -1), 1000) << Describe(seen);
  EXPECT_EQ(Report(seen).value("gid", -1), 1000) << Describe(seen);
  EXPECT_TRUE(Has(seen.layers, "workspace:idmapped")) << Describe(seen);

  // A relative path: the workspace is the working directory.
  const Outcome made = Run(ProbePlan("write_file", {"made.txt"}));
  ASSERT_EQ(made.status, Status::kOk) << Describe(made);
  const struct stat st = Stat(workspace_ / "made.txt");
  EXPECT_EQ(st.st_uid, kOwner);
  EXPECT_EQ(st.st_gid, kOwner);

  Plan plain = ProbePlan("write_file", {(workspace_ / "plain.txt").string()});
  plain.mounts.back().workspace = false;
  const Outcome refused = Run(plain);
  EXPECT_BLOCKED(refused);
  EXPECT_EQ(Report(refused).value("errno", ""), "EACCES") << Describe(refused);
  EXPECT_FALSE(fs::exists(workspace_ / "plain.txt"));
}

// A filesystem that cannot be ID-mapped (ramfs) is refused as a workspace when skillrt runs as
// root, rather than run with the skill unable to write or owning nothing. Control: the same
// run on an ordinary directory works (the test above).
TEST_F(WorkspaceTest, AsRootAWorkspaceThatCannotBeIdMappedIsRefused) {
  REQUIRE_ROOT();
  if (::mount("ramfs", workspace_.c_str(), "ramfs", 0, "mode=0755") != 0) {
    GTEST_SKIP() << "cannot mount a ramfs here: " << std::strerror(errno);
  }
  struct Unmount {
    fs::path path;
    ~Unmount() { ::umount2(path.c_str(), MNT_DETACH); }
  } unmount{workspace_};
  ASSERT_EQ(::chown(workspace_.c_str(), kOwner, kOwner), 0);
  auto outcome = runtime_->Run(ProbePlan("write_file", {"x.txt"}));
  ASSERT_FALSE(outcome) << "ran: " << Describe(*outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kSandbox) << outcome.error().ToString();
  EXPECT_NE(outcome.error().message.find("ID-mapped"), std::string::npos)
      << outcome.error().message;
  EXPECT_FALSE(fs::exists(workspace_ / "x.txt"));
}

// A workspace owned by root is the owner's too, but no file there may become set-user-ID or
// set-group-ID (it would run as root for whoever starts it on the host). Control: root on the
// host can set those bits; the skill can set ordinary modes.
TEST_F(WorkspaceTest, NoSetIdFilesCanBeMadeInTheWorkspace) {
  REQUIRE_ROOT();
  ASSERT_EQ(::chown(workspace_.c_str(), 0, 0), 0);
  WriteFile(outer_.path() / "host-file", "x");
  EXPECT_HOST_SUCCEEDS(RunOnHost("mode_try", {"chmod", (outer_.path() / "host-file").string(),
                                              "4755"}));
  const Outcome plain = Run(ProbePlan("mode_try", {"create", "tool", "0755"}));
  ASSERT_EQ(plain.status, Status::kOk) << Describe(plain);
  EXPECT_EQ(Stat(workspace_ / "tool").st_uid, 0u);
  struct Case {
    std::string call, path, mode;
  };
  for (const Case& c : {Case{"chmod", "tool", "4755"}, Case{"chmod", "tool", "2755"},
                        Case{"create", "suid", "4755"}, Case{"create", "sgid", "2755"},
                        Case{"mknod", "node", "4755"}}) {
    SCOPED_TRACE(c.call + " " + c.mode);
    const Outcome inside = Run(ProbePlan("mode_try", {c.call, c.path, c.mode}));
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("errno", ""), "EPERM") << Describe(inside);
  }
  EXPECT_EQ(Stat(workspace_ / "tool").st_mode & 07777, 0755u);
  EXPECT_FALSE(fs::exists(workspace_ / "suid"));
  EXPECT_FALSE(fs::exists(workspace_ / "node"));
}

// --- Escapes --------------------------------------------------------------------------------

// Symbolic links in the workspace, planted before the run (absolute and relative) or made by
// the skill, and ".." from the workspace, all lead to the sandbox's own tree, where the file
// beside the workspace does not exist. Control: on the host each path reads it.
TEST_F(WorkspaceTest, SymlinksAndDotDotStayInTheSandbox) {
  REQUIRE_ROOT();
  const fs::path secret = outer_.path() / "secret.txt";
  WriteFile(secret, "skillrt-workspace-secret\n");
  ::chmod(secret.c_str(), 0644);
  fs::create_symlink(secret, workspace_ / "absolute");
  fs::create_symlink("../secret.txt", workspace_ / "relative");
  for (const fs::path& path : {workspace_ / "absolute", workspace_ / "relative",
                               workspace_ / ".." / "secret.txt"}) {
    SCOPED_TRACE(path.string());
    EXPECT_HOST_SUCCEEDS(RunOnHost("read_file", {path.string()}));
    const Outcome inside = Run(ProbePlan("read_file", {path.string()}));
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(inside.stdout_stream.data.find("skillrt-workspace-secret"), std::string::npos);
  }
  EXPECT_HOST_SUCCEEDS(RunOnHost("symlink_escape", {secret.string(),
                                                    (outer_.path() / "host-link").string()}));
  for (const std::string& target : {secret.string(), std::string("/etc/shadow")}) {
    SCOPED_TRACE(target);
    fs::remove(workspace_ / "made-link");
    const Outcome inside = Run(ProbePlan("symlink_escape", {target, "made-link"}));
    EXPECT_BLOCKED(inside);
    EXPECT_EQ(Report(inside).value("stage", ""), "open") << Describe(inside);
  }
}

// A hard link placed in the workspace before the run reaches the same inode, which is judged
// by its own owner and mode: a file of another owner (root's, 0644) reads but cannot be
// written; only a file the workspace's owner owns is writable through it, which is the
// owner's to grant. The skill cannot make hard links out of the workspace (another mount:
// EXDEV). Controls: the owner's file is written through its link; links within the
// workspace work.
TEST_F(WorkspaceTest, HardLinksReachNothingTheOwnerDoesNotOwn) {
  REQUIRE_ROOT();
  const fs::path roots = outer_.path() / "roots.conf";
  const fs::path owners = outer_.path() / "owners.conf";
  WriteFile(roots, "root's\n");
  WriteFile(owners, "owner's\n");
  ::chmod(roots.c_str(), 0644);
  ::chmod(owners.c_str(), 0644);
  ASSERT_EQ(::chown(owners.c_str(), kOwner, kOwner), 0);
  ASSERT_EQ(::link(roots.c_str(), (workspace_ / "roots-link").c_str()), 0);
  ASSERT_EQ(::link(owners.c_str(), (workspace_ / "owners-link").c_str()), 0);

  const Outcome read = Run(ProbePlan("read_file", {"roots-link"}));
  EXPECT_EQ(read.status, Status::kOk) << Describe(read);
  const Outcome write = Run(ProbePlan("write_file", {"roots-link", "changed\n"}));
  EXPECT_BLOCKED(write);
  EXPECT_EQ(Report(write).value("errno", ""), "EACCES") << Describe(write);
  EXPECT_EQ(testing::ReadFile(roots), "root's\n");

  const Outcome owned = Run(ProbePlan("write_file", {"owners-link", "changed\n"}));
  EXPECT_EQ(owned.status, Status::kOk) << Describe(owned);
  EXPECT_EQ(testing::ReadFile(owners), "changed\n");

  for (const std::string& target : {std::string("/skill/link_try"), std::string("/etc/passwd")}) {
    SCOPED_TRACE(target);
    const Outcome out = Run(ProbePlan("link_try", {target, "out-link"}));
    EXPECT_BLOCKED(out);
    EXPECT_EQ(Report(out).value("errno", ""), "EXDEV") << Describe(out);
  }
  const Outcome within = Run(ProbePlan("link_try", {"owners-link", "second-link"}));
  EXPECT_EQ(within.status, Status::kOk) << Describe(within);
}

// --- Execution profile ----------------------------------------------------------------------

// A script's helper programs (sh, sort, head; Python's subprocess) run with the system profile
// and fail with EACCES with the declared one. Neither profile runs a program from the
// workspace (noexec, no execute right), while the same program runs from /skill once declared.
TEST_F(WorkspaceTest, ScriptsRunSystemUtilitiesButNothingFromTheWorkspace) {
  WriteFile(skill_.path() / "pipeline.sh", "#!/bin/sh\nprintf 'b\\na\\n' | sort | head -n 1\n");
  ::chmod((skill_.path() / "pipeline.sh").c_str(), 0755);
  Plan pipeline = CommandPlan({"/skill/pipeline.sh"}, {});
  const Outcome ran = Run(pipeline);
  ASSERT_EQ(ran.status, Status::kOk) << Describe(ran);
  EXPECT_EQ(ran.stdout_stream.data, "a\n");
  EXPECT_TRUE(Has(ran.layers, "exec:system"));
  pipeline.exec_profile = ExecProfile::kDeclared;
  const Outcome declared = Run(pipeline);
  EXPECT_NE(declared.status, Status::kOk) << Describe(declared);
  EXPECT_NE(declared.stderr_stream.data.find("ermission denied"), std::string::npos)
      << Describe(declared);

  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no python3 on this host";
  Plan subprocess = CommandPlan(
      {"python3", "-c",
       "import subprocess; print(subprocess.run(['sort'], input=b'b\\na\\n', "
       "capture_output=True, check=True).stdout.decode().split()[0])"},
      {});
  const Outcome py = Run(subprocess);
  ASSERT_EQ(py.status, Status::kOk) << Describe(py);
  EXPECT_EQ(py.stdout_stream.data, "a\n");
  subprocess.exec_profile = ExecProfile::kDeclared;
  const Outcome py_declared = Run(subprocess);
  EXPECT_NE(py_declared.status, Status::kOk) << Describe(py_declared);
  EXPECT_NE(py_declared.stderr_stream.data.find("PermissionError"), std::string::npos)
      << Describe(py_declared);

  Install("whoami_uid");
  fs::copy_file(ProbePath("whoami_uid"), workspace_ / "whoami_uid");
  ::chmod((workspace_ / "whoami_uid").c_str(), 0755);
  Plan from_workspace = ProbePlan("exec_try", {(workspace_ / "whoami_uid").string()});
  const Outcome blocked = Run(from_workspace);
  EXPECT_BLOCKED(blocked);
  EXPECT_EQ(Report(blocked).value("errno", ""), "EACCES") << Describe(blocked);
  Plan from_skill = ProbePlan("exec_try", {"/skill/whoami_uid"});
  from_skill.commands.push_back("/skill/whoami_uid");
  const Outcome control = Run(from_skill);
  EXPECT_EQ(control.status, Status::kOk) << Describe(control);
}

// `python` is Python 3 in the sandbox, whatever the host calls it, and a plan that allows
// python3 may start it as `python`.
TEST_F(WorkspaceTest, PythonIsPython3) {
  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no python3 on this host";
  for (ExecProfile profile : {ExecProfile::kSystem, ExecProfile::kDeclared}) {
    Plan plan = CommandPlan({"python", "-c", "import sys; print(sys.version_info[0])"}, {});
    plan.exec_profile = profile;
    const Outcome outcome = Run(plan);
    ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
    EXPECT_EQ(outcome.stdout_stream.data, "3\n");
  }
  Plan as_python3 = CommandPlan({"python", "-c", "print(1)"}, {});
  as_python3.commands = {"python3"};
  const Outcome allowed = Run(as_python3);
  EXPECT_EQ(allowed.status, Status::kOk) << Describe(allowed);
  // Control: a command that is not allowed under any name is still refused.
  as_python3.commands = {"bash"};
  EXPECT_EQ(Run(as_python3).status, Status::kDenied);
}

// --- /dev/shm -------------------------------------------------------------------------------

// POSIX semaphores and shared memory work (multiprocessing's pools and locks), in a /dev/shm
// of the sandbox's own, bounded by min(scratch, memory / 2). Control: a write under the bound
// succeeds; the host's /dev/shm never sees the file.
TEST_F(WorkspaceTest, DevShmIsPrivateAndBounded) {
  const std::string name = "/dev/shm/skillrt-ws-test-" + std::to_string(::getpid());
  Plan small = ProbePlan("fill_disk", {name, "8"});
  const Outcome ok = Run(small);
  EXPECT_EQ(ok.status, Status::kOk) << Describe(ok);
  EXPECT_FALSE(fs::exists(name)) << "the sandbox's /dev/shm must not be the host's";
  Plan big = ProbePlan("fill_disk", {name, "48"});  // scratch 32 MiB < memory/2 = 128 MiB
  const Outcome full = Run(big);
  EXPECT_BLOCKED(full);
  EXPECT_EQ(Report(full).value("errno", ""), "ENOSPC") << Describe(full);

  if (!fs::exists("/usr/bin/python3")) GTEST_SKIP() << "no python3 on this host";
  const Outcome pool = Run(CommandPlan(
      {"python3", "-c",
       "import multiprocessing as m\n"
       "lock = m.Lock()\n"
       "with m.Pool(2) as p: print(sum(p.map(abs, range(-5, 5))))\n"},
      {}));
  ASSERT_EQ(pool.status, Status::kOk) << Describe(pool);
  EXPECT_EQ(pool.stdout_stream.data, "25\n");
}

// --- Loopback -------------------------------------------------------------------------------

// With or without an egress allowlist, a skill serves and connects on its own loopback, and a
// server on the host's 127.0.0.1 stays unreachable. Control: the host reaches that server.
TEST_F(WorkspaceTest, LoopbackIsTheSandboxsOwn) {
  // Non-blocking, so that counting the connections at the end never waits.
  const int server = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  ASSERT_GE(server, 0);
  struct Closer {
    int fd;
    ~Closer() { ::close(fd); }
  } closer{server};
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  ASSERT_EQ(::bind(server, reinterpret_cast<sockaddr*>(&addr), len), 0);
  ASSERT_EQ(::listen(server, 8), 0);
  ASSERT_EQ(::getsockname(server, reinterpret_cast<sockaddr*>(&addr), &len), 0);
  const std::string port = std::to_string(ntohs(addr.sin_port));
  EXPECT_HOST_SUCCEEDS(RunOnHost("tcp_connect", {"127.0.0.1", port, "1000"}));

  for (bool network : {false, true}) {
    SCOPED_TRACE(network ? "with egress" : "without network");
    auto with = [&](Plan plan) {
      plan.network = network;
      if (network) plan.egress = {EgressRule{.host = "api.example.com", .port = 443}};
      return plan;
    };
    const Outcome echo = Run(with(ProbePlan("loopback_echo", {"127.0.0.1"})));
    EXPECT_EQ(echo.status, Status::kOk) << Describe(echo);
    const Outcome host = Run(with(ProbePlan("tcp_connect", {"127.0.0.1", port, "1000"})));
    EXPECT_BLOCKED(host);
    EXPECT_EQ(Report(host).value("errno", ""), "ECONNREFUSED") << Describe(host);
  }
  // Only the host's own control connection ever reached the host's server.
  int accepted = 0;
  for (int conn; (conn = ::accept4(server, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0;) {
    ::close(conn);
    ++accepted;
  }
  EXPECT_EQ(accepted, 1);
}

// --- git ------------------------------------------------------------------------------------

// git in a workspace repository works with no configuration: the repository reads as the
// skill's own (no "dubious ownership"), HOME is writable, commits get the sandbox's author,
// and the repository stays the owner's on the host.
TEST_F(WorkspaceTest, GitCommitsInTheWorkspace) {
  if (!fs::exists("/usr/bin/git")) GTEST_SKIP() << "no git on this host";
  WriteFile(skill_.path() / "commit.sh",
            "#!/bin/sh\nset -e\ngit init -q .\necho hello > notes.txt\ngit add notes.txt\n"
            "git commit -q -m first\ngit status --porcelain\ngit log --format='%an %s'\n");
  ::chmod((skill_.path() / "commit.sh").c_str(), 0755);
  const Outcome outcome = Run(CommandPlan({"/skill/commit.sh"}, {}));
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  EXPECT_EQ(outcome.stdout_stream.data, "skill first\n");
  EXPECT_EQ(Stat(workspace_ / ".git" / "HEAD").st_uid, ::geteuid() == 0 ? kOwner : ::geteuid());
}

}  // namespace
}  // namespace skillrt
