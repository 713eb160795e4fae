// Sandboxes held before execve for one plan (prepared.h, ChildSpec::hold_for_release): the
// release protocol on its own, and runs through the native runtime with and without them.
// Each run's program reports its pid namespace (/proc/self/ns/pid), which the test compares
// with those of the sandboxes held when the run began, so every test sees which path it took.
#include "sandbox/linux/prepared.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <nlohmann/json.hpp>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fstream>
#include <functional>
#include <optional>
#include <set>
#include <sstream>
#include <thread>

#include "runtime/child_failure.h"
#include "sandbox/linux/cgroup.h"
#include "skillrt/runtime.h"
#include "sandbox_probe.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

// A shell script: its first line is its pid namespace; then its run id, another variable,
// its standard input's first line and its arguments. With a writable directory as $1, it
// appends a line there for every run that executed it.
constexpr const char* kScript = R"SH(readlink /proc/self/ns/pid
echo "run_id=$SKILLRT_RUN_ID mark=$PREPARED_MARK"
read -r input || true
echo "stdin=$input"
echo "args=$*"
if [ -n "$1" ]; then echo "ran $SKILLRT_RUN_ID" >> "$1/runs"; fi
echo "to stderr" >&2
exit "${2:-0}"
)SH";

std::string UniqueRunId() {
  static std::atomic<int> counter{0};
  return "ph" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

// Children of this process (the runtime's background thread spawns them) that wait with the
// seccomp filter installed: held sandboxes. A spare sandbox waits before any layer, and
// finished runs were reaped.
std::vector<pid_t> HeldSandboxes() {
  std::vector<pid_t> found;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::ifstream status(entry.path() / "status");
    std::string line;
    bool ours = false, filtered = false;
    while (std::getline(status, line)) {
      if (line.starts_with("PPid:")) ours = std::stoi(line.substr(5)) == ::getpid();
      if (line.starts_with("Seccomp:")) filtered = line.find('2') != std::string::npos;
    }
    if (ours && filtered) found.push_back(static_cast<pid_t>(std::stoi(name)));
  }
  return found;
}

// HeldSandboxes() once there is any (the background thread makes them after a run), or
// none after 5 s.
std::vector<pid_t> AwaitHeldSandboxes() {
  std::vector<pid_t> waiting;
  for (int i = 0; i < 100 && waiting.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
    waiting = HeldSandboxes();
  }
  return waiting;
}

// The pid namespaces ("pid:[inode]") of the sandboxes held now.
std::set<std::string> HeldNamespaces() {
  std::set<std::string> namespaces;
  for (pid_t pid : HeldSandboxes()) {
    std::error_code ec;
    const auto ns = std::filesystem::read_symlink("/proc/" + std::to_string(pid) + "/ns/pid", ec);
    if (!ec) namespaces.insert(ns.string());
  }
  return namespaces;
}

class NativePreparedSandboxTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto on = MakeNativeRuntime();
    ASSERT_TRUE(on) << on.error().ToString();
    on_ = std::move(*on);
    NativeRuntimeOptions off_options;
    off_options.prepared_sandboxes = 0;
    auto off = MakeNativeRuntime(off_options);
    ASSERT_TRUE(off) << off.error().ToString();
    off_ = std::move(*off);
    WriteFile(skill_.path() / "report.sh", kScript);
    ::chmod(skill_.path().c_str(), 0755);
  }

  Plan MakePlan(std::vector<std::string> args = {}) {
    Plan plan;
    plan.run_id = UniqueRunId();
    plan.skill_name = "held-test";
    plan.skill_dir = skill_.path();
    plan.commands = {"sh", "readlink"};
    plan.argv = {"sh", "report.sh"};
    plan.argv.insert(plan.argv.end(), args.begin(), args.end());
    plan.env = {"PATH=/usr/bin:/bin", "SKILLRT_RUN_ID=" + plan.run_id, "PREPARED_MARK=" + mark_};
    plan.limits.wall_time = std::chrono::seconds(20);
    plan.stdin_data = "input of " + plan.run_id + "\n";
    plan.tree_sha256 = std::string(64, 'c');
    // An unprivileged user usually has no cgroup of its own to delegate: rlimits only.
    if (::geteuid() != 0) plan.level = SandboxLevel::kBestEffort;
    return plan;
  }

  // The outcome and whether a sandbox held when it began served it; the namespace line is
  // removed from stdout.
  static std::pair<Outcome, bool> Run(Runtime& runtime, const Plan& plan) {
    const std::set<std::string> held = HeldNamespaces();
    auto outcome = runtime.Run(plan);
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    if (!outcome) return {};
    std::string& out = outcome->stdout_stream.data;
    const size_t eol = out.find('\n');
    const std::string ns = out.substr(0, eol);
    EXPECT_TRUE(ns.starts_with("pid:[")) << out << outcome->stderr_stream.data;
    out.erase(0, eol == std::string::npos ? out.size() : eol + 1);
    return {std::move(*outcome), held.contains(ns)};
  }

  // Runs `make()`'s plans until one is served by a held sandbox (the first run asks for it;
  // the background thread makes it meanwhile).
  std::optional<Outcome> RunUntilHeld(const std::function<Plan()>& make) {
    for (int attempt = 0; attempt < 60; ++attempt) {
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
      auto [outcome, held] = Run(*on_, make());
      if (held) return outcome;
    }
    return std::nullopt;
  }

  const std::string mark_ = UniqueRunId();
  TempDir skill_;
  std::unique_ptr<Runtime> on_, off_;
};

TEST(PreparedReleaseTest, AMessageLongerThanTheChildReadsIsNeverSent) {
  int pair[2];
  ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
  EXPECT_FALSE(prepared::Release(-1, pair[0], "r" + std::string(sandbox::kMaxReleaseBytes, 'x')));
  char buf[sandbox::kMaxReleaseBytes + 8];
  EXPECT_LT(::recv(pair[1], buf, sizeof(buf), MSG_DONTWAIT), 0);  // Nothing arrived.
  // The positive control: one that fits is sent whole.
  const std::string fits = "r" + std::string(sandbox::kMaxReleaseBytes - 1, 'x');
  EXPECT_TRUE(prepared::Release(-1, pair[0], fits));
  EXPECT_EQ(::recv(pair[1], buf, sizeof(buf), MSG_DONTWAIT), static_cast<ssize_t>(fits.size()));
  ::close(pair[0]);
  ::close(pair[1]);
}

// The held waiter on its own, outside any sandbox: started as a held sandbox starts it
// (argv: the program's path, then its argv; the channel as descriptor 4, the error pipe as 3),
// then released with `message`, or its channel closed when `message` is empty. Returns its
// exit status, what it printed and what it wrote to the error pipe.
struct WaiterResult {
  int status = -1;
  std::string out, error_pipe;
};
WaiterResult RunWaiter(const std::vector<std::string>& argv, const std::string& message) {
  WaiterResult result;
  UniqueFd waiter = prepared::MakeHeldWaiter();
  EXPECT_TRUE(waiter) << "no held waiter in this build";
  if (!waiter) return result;
  int channel[2], error[2], out[2];
  EXPECT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, channel), 0);
  EXPECT_EQ(::pipe2(error, O_CLOEXEC), 0);
  EXPECT_EQ(::pipe2(out, O_CLOEXEC), 0);
  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  char old_id[] = "SKILLRT_RUN_ID=prepared-for-another";
  char other[] = "OTHER=kept";
  char* env[] = {old_id, other, nullptr};
  const pid_t pid = ::fork();
  if (pid == 0) {
    // Above every number the dups below assign.
    const int c = ::fcntl(channel[1], F_DUPFD, 10), e = ::fcntl(error[1], F_DUPFD, 10),
              w = ::fcntl(waiter.get(), F_DUPFD_CLOEXEC, 10);
    if (c < 0 || e < 0 || w < 0 || ::dup2(out[1], 1) < 0 || ::dup2(e, 3) < 0 ||
        ::dup2(c, 4) < 0 || ::dup3(w, sandbox::kHeldWaiterFd, O_CLOEXEC) < 0 ||
        ::close_range(sandbox::kHeldWaiterFd + 1, ~0U, 0) != 0) {
      ::_exit(99);
    }
    ::execveat(sandbox::kHeldWaiterFd, "", args.data(), env, AT_EMPTY_PATH);
    ::_exit(98);
  }
  ::close(channel[1]);
  ::close(error[1]);
  ::close(out[1]);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  // Nothing before the release: not run, nothing written.
  char buf[512];
  EXPECT_LT(::recv(channel[0], buf, sizeof(buf), MSG_DONTWAIT), 0);
  EXPECT_EQ(::waitpid(pid, &result.status, WNOHANG), 0) << "ended before its release";
  if (!message.empty()) {
    EXPECT_TRUE(prepared::Release(-1, channel[0], message));
  }
  ::close(channel[0]);
  EXPECT_EQ(::waitpid(pid, &result.status, 0), pid);
  for (auto [fd, text] : {std::pair{out[0], &result.out}, std::pair{error[0], &result.error_pipe}}) {
    ssize_t n;
    while ((n = ::read(fd, buf, sizeof(buf))) > 0) text->append(buf, static_cast<size_t>(n));
    ::close(fd);
  }
  return result;
}

TEST(HeldWaiterTest, ReleasedItExecutesTheProgramWithTheRunsOwnId) {
  const WaiterResult r =
      RunWaiter({"/bin/sh", "sh", "-c", "echo \"$0 $SKILLRT_RUN_ID $OTHER\"; ls /proc/self/fd"},
                prepared::ReleaseMessage({"SKILLRT_RUN_ID=the-run"}));
  ASSERT_TRUE(WIFEXITED(r.status)) << r.status;
  EXPECT_EQ(WEXITSTATUS(r.status), 0);
  // The channel and the error pipe are closed before the program starts (3 is ls's own).
  EXPECT_EQ(r.out, "sh the-run kept\n0\n1\n2\n3\n");
  EXPECT_EQ(r.error_pipe, "");
}

TEST(HeldWaiterTest, WithoutAReleaseItExecutesNothing) {
  TempDir dir;
  const std::string marker = (dir.path() / "ran").string();
  const WaiterResult r = RunWaiter({"/bin/sh", "sh", "-c", "echo ran > " + marker}, "");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), kChildFailureExit);
  EXPECT_FALSE(std::filesystem::exists(marker));
  EXPECT_EQ(r.error_pipe, "");
  // Anything but a release is refused the same way.
  const WaiterResult other = RunWaiter({"/bin/sh", "sh", "-c", "echo ran > " + marker}, "x");
  EXPECT_EQ(WEXITSTATUS(other.status), kChildFailureExit);
  EXPECT_FALSE(std::filesystem::exists(marker));
}

TEST(HeldWaiterTest, AFailedExecveIsReportedOnTheErrorPipe) {
  const WaiterResult r = RunWaiter({"/nonexistent/program", "program"}, "r");
  ASSERT_TRUE(WIFEXITED(r.status));
  EXPECT_EQ(WEXITSTATUS(r.status), kChildFailureExit);
  ASSERT_EQ(r.error_pipe.size(), sizeof(ChildFailure));
  ChildFailure failure;
  std::memcpy(&failure, r.error_pipe.data(), sizeof(failure));
  EXPECT_EQ(failure.err, ENOENT);
  EXPECT_TRUE(failure.exec);
  EXPECT_STREQ(failure.what, "execve(/nonexistent/program)");
}

TEST(HeldWaiterTest, TheWaitersMemfdIsSealedAndExecutable) {
  UniqueFd waiter = prepared::MakeHeldWaiter();
  ASSERT_TRUE(waiter);
  const int seals = ::fcntl(waiter.get(), F_GET_SEALS);
  EXPECT_EQ(seals & (F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL),
            F_SEAL_WRITE | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL);
  EXPECT_LT(::write(waiter.get(), "x", 1), 0);
  EXPECT_EQ(errno, EPERM);
  struct stat st = {};
  ASSERT_EQ(::fstat(waiter.get(), &st), 0);
  EXPECT_NE(st.st_mode & S_IXUSR, 0u);
  EXPECT_GT(st.st_size, 0);
  EXPECT_NE(::fcntl(waiter.get(), F_GETFD) & FD_CLOEXEC, 0);
}

TEST_F(NativePreparedSandboxTest, ARunGivesTheSameOutputStatusAndOutcomeAsANormalRun) {
  for (const std::vector<std::string>& args :
       {std::vector<std::string>{}, std::vector<std::string>{"", "3"}}) {
    auto held = RunUntilHeld([&] { return MakePlan(args); });
    ASSERT_TRUE(held) << "no run was served by a held sandbox";
    Plan plan = MakePlan(args);
    auto [normal, was_held] = Run(*off_, plan);
    EXPECT_FALSE(was_held);
    // Each run sees its own run id and input; the rest is the same.
    EXPECT_EQ(held->stdout_stream.data,
              "run_id=" + held->run_id + " mark=" + mark_ + "\nstdin=input of " + held->run_id +
                  "\nargs=" + (args.empty() ? "" : " 3") + "\n");
    EXPECT_EQ(normal.stdout_stream.data,
              "run_id=" + plan.run_id + " mark=" + mark_ + "\nstdin=input of " + plan.run_id +
                  "\nargs=" + (args.empty() ? "" : " 3") + "\n");
    EXPECT_EQ(held->stderr_stream.data, normal.stderr_stream.data);
    EXPECT_EQ(held->status, normal.status);
    EXPECT_EQ(held->exit_code, normal.exit_code);
    EXPECT_EQ(held->message, normal.message);
    EXPECT_EQ(held->layers, normal.layers);
    EXPECT_EQ(held->limits_hit, normal.limits_hit);
  }
}

TEST_F(NativePreparedSandboxTest, AHeldSandboxRunsNothingUntilReleased) {
  skillrt::testing::VarTmpDir out;  // Not under /tmp, which the sandbox has its own of.
  ::chmod(out.path().c_str(), 0777);
  auto make = [&] {
    Plan plan = MakePlan({out.path().string()});
    plan.mounts.push_back({.path = out.path(), .writable = true});
    return plan;
  };
  int runs = 0;
  std::optional<Outcome> held;
  for (int attempt = 0; attempt < 60 && !held; ++attempt) {
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    auto [outcome, was_held] = Run(*on_, make());
    ASSERT_EQ(outcome.status, Status::kOk) << outcome.message << outcome.stderr_stream.data;
    ++runs;
    if (was_held) held = outcome;
  }
  ASSERT_TRUE(held) << "no run was served by a held sandbox";
  // Another one is held for the next run by now: it has run nothing.
  const std::vector<pid_t> waiting = AwaitHeldSandboxes();
  EXPECT_EQ(waiting.size(), 1u);
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  // The positive control: every run executed the program once, and wrote its line.
  EXPECT_EQ(skillrt::testing::Lines(ReadFile(out.path() / "runs")).size(),
            static_cast<size_t>(runs));
  EXPECT_NE(ReadFile(out.path() / "runs").find("ran " + held->run_id + "\n"), std::string::npos);
  on_.reset();  // Kills the held sandbox, which must not run the program on its way out.
  EXPECT_TRUE(HeldSandboxes().empty());
  EXPECT_EQ(skillrt::testing::Lines(ReadFile(out.path() / "runs")).size(),
            static_cast<size_t>(runs));
}

TEST_F(NativePreparedSandboxTest, AnotherPlanNeverGetsTheHeldSandbox) {
  // Room for the changed plans' own sandboxes, so that none displaces the unchanged one.
  NativeRuntimeOptions options;
  options.prepared_sandboxes = 8;
  auto roomy = MakeNativeRuntime(options);
  ASSERT_TRUE(roomy) << roomy.error().ToString();
  on_ = std::move(*roomy);
  ASSERT_TRUE(RunUntilHeld([&] { return MakePlan(); }));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Plan changed_tree = MakePlan();
  changed_tree.tree_sha256 = std::string(64, 'd');
  EXPECT_FALSE(Run(*on_, changed_tree).second);
  Plan changed_env = MakePlan();
  changed_env.env.push_back("EXTRA=1");
  EXPECT_FALSE(Run(*on_, changed_env).second);
  EXPECT_FALSE(Run(*on_, MakePlan({"", "1"})).second);
  Plan changed_limits = MakePlan();
  changed_limits.limits.memory_max_bytes /= 2;
  EXPECT_FALSE(Run(*on_, changed_limits).second);
  TempDir other;
  WriteFile(other.path() / "report.sh", kScript);
  ::chmod(other.path().c_str(), 0755);
  Plan other_skill = MakePlan();
  other_skill.skill_dir = other.path();
  EXPECT_FALSE(Run(*on_, other_skill).second);
  // The positive control: the unchanged plan is still served.
  auto [same, held] = Run(*on_, MakePlan());
  EXPECT_TRUE(held);
  EXPECT_EQ(same.status, Status::kOk);
}

TEST_F(NativePreparedSandboxTest, TheSandboxStillBlocksFromAHeldSandbox) {
  const skillrt::testing::ProbeTargets targets;
  ASSERT_TRUE(targets.ok());
  const std::filesystem::path& secret = targets.secret;
  const std::string& port = targets.port;
  // The probe as Python run with an interpreter option (-I), which takes the held path rather
  // than a prepared interpreter; its first line is its pid namespace, as kScript's.
  WriteFile(skill_.path() / "probe.py",
            std::string("import os\nprint(os.readlink('/proc/self/ns/pid'))\n") +
                skillrt::testing::kPythonSandboxProbe);
  auto make = [&] {
    Plan plan = MakePlan();
    plan.commands = {"python3"};
    plan.argv = {"python3", "-I", "probe.py", secret.string(), port};
    return plan;
  };
  // The positive control: the same probe on the host reads the file and connects.
  const std::string command = "python3 -I " + (skill_.path() / "probe.py").string() + " " +
                              secret.string() + " " + port + " 2>&1";
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  std::string host_out;
  char buf[4096];
  while (size_t n = std::fread(buf, 1, sizeof(buf), pipe)) host_out.append(buf, n);
  ::pclose(pipe);
  const nlohmann::json on_host = nlohmann::json::parse(host_out.substr(host_out.find('\n') + 1));
  EXPECT_EQ(on_host["read"], "host secret");
  EXPECT_EQ(on_host["connected"], true);

  auto outcome = RunUntilHeld(make);
  ASSERT_TRUE(outcome) << "no run was served by a held sandbox";
  const nlohmann::json inside = nlohmann::json::parse(outcome->stdout_stream.data);
  EXPECT_FALSE(inside.contains("read")) << inside;
  EXPECT_TRUE(inside.contains("read_errno")) << inside;
  EXPECT_FALSE(inside.contains("connected")) << inside;
  EXPECT_EQ(inside["fd3"], "closed");  // The error pipe closed on execve.
  EXPECT_EQ(inside["fd4"], "closed");  // The release channel closed before execve.
  EXPECT_EQ(inside["fd5"], "closed");
  EXPECT_EQ(inside["status"]["Seccomp"], "2");
  EXPECT_EQ(inside["status"]["NoNewPrivs"], "1");
  EXPECT_EQ(inside["status"]["CapEff"], "0000000000000000");
  EXPECT_EQ(inside["status"]["CapBnd"], "0000000000000000");
}

TEST_F(NativePreparedSandboxTest, WithADelayTheNextSandboxIsPreparedOnlyOnceItHasPassed) {
  NativeRuntimeOptions options;
  options.prepare_delay = std::chrono::milliseconds(1500);
  auto delayed = MakeNativeRuntime(options);
  ASSERT_TRUE(delayed) << delayed.error().ToString();
  const auto ended = std::chrono::steady_clock::now();
  auto [first, first_held] = Run(**delayed, MakePlan());
  EXPECT_FALSE(first_held);
  // Within the delay nothing is held for the plan, and a run of it is made for it.
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  EXPECT_TRUE(HeldSandboxes().empty());
  auto [second, second_held] = Run(**delayed, MakePlan());
  EXPECT_FALSE(second_held);
  // Past it, the sandbox the second run asked for is held, and the next run takes it.
  EXPECT_FALSE(AwaitHeldSandboxes().empty());
  EXPECT_GE(std::chrono::steady_clock::now() - ended, std::chrono::milliseconds(1500));
  auto [third, third_held] = Run(**delayed, MakePlan());
  EXPECT_TRUE(third_held);
  EXPECT_EQ(third.status, Status::kOk) << third.stderr_stream.data;
}

TEST(NativeRuntimeOptionsTest, MoreSandboxesPreparedThanTheMostAreRefused) {
  NativeRuntimeOptions options;
  options.prepared_sandboxes = kMaxPreparedSandboxes + 1;
  auto refused = MakeNativeRuntime(options);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(refused.error().message.find("prepared_sandboxes"), std::string::npos);
  options.prepared_sandboxes = kMaxPreparedSandboxes;  // Positive control.
  auto made = MakeNativeRuntime(options);
  EXPECT_TRUE(made) << made.error().ToString();
}

TEST_F(NativePreparedSandboxTest, ASandboxThatDiedWhileHeldIsDiscarded) {
  ASSERT_TRUE(RunUntilHeld([&] { return MakePlan(); }));
  const std::vector<pid_t> waiting = AwaitHeldSandboxes();
  ASSERT_EQ(waiting.size(), 1u);
  ASSERT_EQ(::kill(waiting[0], SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto [outcome, held] = Run(*on_, MakePlan());
  EXPECT_FALSE(held);
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.message;
  EXPECT_EQ(outcome.exit_code, 0);
}

TEST_F(NativePreparedSandboxTest, DestroyingTheRuntimeKillsHeldSandboxesAndRemovesTheirCgroups) {
  ASSERT_TRUE(RunUntilHeld([&] { return MakePlan(); }));
  const std::vector<pid_t> waiting = AwaitHeldSandboxes();
  ASSERT_EQ(waiting.size(), 1u);  // The positive control: it was there.
  on_.reset();
  off_.reset();
  EXPECT_TRUE(HeldSandboxes().empty());
  EXPECT_NE(::kill(waiting[0], 0), 0);
  for (const std::filesystem::path& left : skillrt::testing::SpareCgroupsLeft()) {
    ADD_FAILURE() << "cgroup left: " << left;
  }
}

}  // namespace
}  // namespace skillrt
