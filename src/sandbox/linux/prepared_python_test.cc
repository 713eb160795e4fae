// Prepared Python interpreters: the bootstrap on its own, and runs through the native runtime
// with and without them. Each run's script reports whether the bootstrap started it (its
// /proc/self/cmdline), so every test sees which path it took.
#include "sandbox/linux/prepared.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <gtest/gtest.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <functional>
#include <nlohmann/json.hpp>
#include <thread>

#include "sandbox/linux/cgroup.h"
#include "skillrt/runtime.h"
#include "sandbox_probe.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

constexpr const char* kReport = R"PY(import json, os, sys
print(json.dumps({"prepared": b"_skillrt_prepared" in open("/proc/self/cmdline", "rb").read()}))
)PY";

// The script compared with and without a prepared interpreter: what `python3 SCRIPT` sets up.
constexpr const char* kMain = R"PY(import helper
data = sys.stdin.read()
print(json.dumps({"argv": sys.argv, "file": __file__, "name": __name__, "path0": sys.path[0],
                  "run_id": os.environ.get("SKILLRT_RUN_ID"), "stdin": data, "cwd": os.getcwd(),
                  "helper": helper.VALUE, "orig_argv": sys.orig_argv[1:],
                  "fds": sorted(os.listdir("/proc/self/fd"))}))
print("to stderr", file=sys.stderr)
if len(sys.argv) > 2:
    raise ValueError(sys.argv[2])
sys.exit(int(sys.argv[1]))
)PY";

// What a sandbox must still refuse when the run starts from a prepared interpreter.
const char* const kProbe = skillrt::testing::kPythonSandboxProbe;

std::string UniqueRunId() {
  static std::atomic<int> counter{0};
  return "pp" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

// A skill directory holding `script` (kReport's line first) and a helper module.
void MakeSkill(const std::filesystem::path& dir, const std::string& name, const char* script) {
  WriteFile(dir / name, std::string(kReport) + script);
  WriteFile(dir / "helper.py", "VALUE = 42\n");
  ::chmod(dir.c_str(), 0755);
}

class NativePreparedPythonTest : public ::testing::Test {
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
    MakeSkill(skill_.path(), "main.py", kMain);
  }

  Plan MakePlan(const std::filesystem::path& dir, std::vector<std::string> argv) {
    Plan plan;
    plan.run_id = UniqueRunId();
    plan.skill_name = "prepared-test";
    plan.skill_dir = dir;
    plan.commands = {"python3"};
    plan.argv = std::move(argv);
    plan.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8", "PREPARED_MARK=" + mark_,
                "SKILLRT_RUN_ID=" + plan.run_id};
    plan.limits.wall_time = std::chrono::seconds(20);
    plan.stdin_data = "input of " + plan.run_id;
    plan.tree_sha256 = std::string(64, 'a');
    // An unprivileged user usually has no cgroup of its own to delegate: rlimits only.
    if (::geteuid() != 0) plan.level = SandboxLevel::kBestEffort;
    return plan;
  }

  // The outcome and whether the bootstrap started it; the report line is removed from stdout.
  static std::pair<Outcome, bool> Run(Runtime& runtime, const Plan& plan) {
    auto outcome = runtime.Run(plan);
    EXPECT_TRUE(outcome) << outcome.error().ToString();
    if (!outcome) return {};
    std::string& out = outcome->stdout_stream.data;
    const size_t eol = out.find('\n');
    const nlohmann::json report =
        nlohmann::json::parse(out.substr(0, eol), nullptr, /*allow_exceptions=*/false);
    EXPECT_TRUE(report.is_object()) << out << outcome->stderr_stream.data;
    const bool prepared = report.is_object() && report.value("prepared", false);
    out.erase(0, eol == std::string::npos ? out.size() : eol + 1);
    return {std::move(*outcome), prepared};
  }

  // Runs `make()`'s plans until one is served by a prepared interpreter (the first run asks
  // for it; the background thread makes it meanwhile).
  std::optional<Outcome> RunUntilPrepared(const std::function<Plan()>& make) {
    for (int attempt = 0; attempt < 60; ++attempt) {
      auto [outcome, prepared] = Run(*on_, make());
      if (prepared) return outcome;
      std::this_thread::sleep_for(std::chrono::milliseconds(150));
    }
    return std::nullopt;
  }

  const std::string mark_ = UniqueRunId();
  TempDir skill_;
  std::unique_ptr<Runtime> on_, off_;
};

TEST_F(NativePreparedPythonTest, OnlyPlainScriptRunsOfPythonGetAnInterpreter) {
  Plan plan = MakePlan(skill_.path(), {"python3", "main.py", "0"});
  EXPECT_TRUE(prepared::Eligible(plan));
  EXPECT_TRUE(prepared::RunsPythonScript(plan, "/usr/bin/python3"));
  EXPECT_TRUE(prepared::RunsPythonScript(plan, "/usr/bin/python3.11"));
  EXPECT_FALSE(prepared::RunsPythonScript(plan, "/usr/bin/python3.x"));
  EXPECT_FALSE(prepared::RunsPythonScript(plan, "/bin/sh"));
  Plan option = MakePlan(skill_.path(), {"python3", "-u", "main.py"});
  EXPECT_FALSE(prepared::RunsPythonScript(option, "/usr/bin/python3"));
  Plan module = MakePlan(skill_.path(), {"python3", "main"});
  EXPECT_FALSE(prepared::RunsPythonScript(module, "/usr/bin/python3"));
  Plan inspect = plan;
  inspect.env.push_back("PYTHONINSPECT=1");
  EXPECT_FALSE(prepared::RunsPythonScript(inspect, "/usr/bin/python3"));
  // Each of these is still eligible for a sandbox held before execve.
  for (const Plan* p : {&option, &module, &inspect}) EXPECT_TRUE(prepared::Eligible(*p));
  // Not eligible at all: no tree hash, network, a workspace.
  Plan unhashed = plan;
  unhashed.tree_sha256.clear();
  EXPECT_FALSE(prepared::Eligible(unhashed));
  Plan network = plan;
  network.network = true;
  EXPECT_FALSE(prepared::Eligible(network));
  Plan workspace = plan;
  workspace.mounts.push_back({.path = "/work", .writable = true, .workspace = true});
  EXPECT_FALSE(prepared::Eligible(workspace));
}

TEST_F(NativePreparedPythonTest, TheBootstrapRunsNothingUntilReleasedAndExitsWhenItsChannelCloses) {
  TempDir dir;
  const std::filesystem::path marker = dir.path() / "ran";
  WriteFile(dir.path() / "s.py", "open(" + nlohmann::json(marker.string()).dump() +
                                     ", 'w').write('yes')\n");
  for (const bool release : {false, true}) {
    int pair[2];
    ASSERT_EQ(::socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair), 0);
    const std::string code(prepared::BootstrapSource());
    const pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      if (pair[1] == sandbox::kKeptChannelFd) {
        ::fcntl(pair[1], F_SETFD, 0);
      } else {
        ::dup2(pair[1], sandbox::kKeptChannelFd);
      }
      if (::chdir(dir.path().c_str()) != 0) ::_exit(99);
      ::execlp("python3", "python3", "-c", code.c_str(), "s.py", nullptr);
      ::_exit(98);
    }
    ::close(pair[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(300));
    EXPECT_FALSE(std::filesystem::exists(marker)) << "ran before its release";
    if (release) {
      EXPECT_TRUE(prepared::Release(-1, pair[0], "r"));
    }
    ::close(pair[0]);
    int status = 0;
    ASSERT_EQ(::waitpid(pid, &status, 0), pid);
    ASSERT_TRUE(WIFEXITED(status));
    if (release) {  // The positive control: released, it runs the script.
      EXPECT_EQ(WEXITSTATUS(status), 0);
      EXPECT_EQ(ReadFile(marker), "yes");
    } else {
      EXPECT_EQ(WEXITSTATUS(status), prepared::kAbandonedExit);
      EXPECT_FALSE(std::filesystem::exists(marker));
    }
  }
}

TEST_F(NativePreparedPythonTest, ARunGivesTheSameOutputStatusAndOutcomeAsANormalRun) {
  for (const std::vector<std::string>& argv :
       {std::vector<std::string>{"python3", "main.py", "3"},
        std::vector<std::string>{"python3", "main.py", "0", "raised"}}) {
    auto prepared = RunUntilPrepared([&] { return MakePlan(skill_.path(), argv); });
    ASSERT_TRUE(prepared) << "no run was served by a prepared interpreter";
    Plan plan = MakePlan(skill_.path(), argv);
    auto [normal, was_prepared] = Run(*off_, plan);
    EXPECT_FALSE(was_prepared);
    // The run id and stdin differ from run to run; each run sees its own.
    nlohmann::json a = nlohmann::json::parse(prepared->stdout_stream.data);
    nlohmann::json b = nlohmann::json::parse(normal.stdout_stream.data);
    EXPECT_EQ(a["run_id"], prepared->run_id);
    EXPECT_EQ(a["stdin"], "input of " + prepared->run_id);
    EXPECT_EQ(b["run_id"], plan.run_id);
    for (nlohmann::json* j : {&a, &b}) j->erase("run_id"), j->erase("stdin");
    EXPECT_EQ(a, b);
    EXPECT_EQ(a["fds"], nlohmann::json::array({"0", "1", "2", "3"}));  // 3: listdir's own.
    EXPECT_EQ(prepared->stderr_stream.data, normal.stderr_stream.data);
    EXPECT_EQ(prepared->status, normal.status);
    EXPECT_EQ(prepared->exit_code, normal.exit_code);
    EXPECT_EQ(prepared->message, normal.message);
    EXPECT_EQ(prepared->layers, normal.layers);
    EXPECT_EQ(prepared->limits_hit, normal.limits_hit);
    EXPECT_GT(prepared->cpu.count(), 0);
  }
}

TEST_F(NativePreparedPythonTest, AScriptChangedAfterItsInterpreterWasPreparedRunsAsChanged) {
  // The interpreter compiled main.py ahead; the file changes (the tree hash in the plan does
  // not, as for an engine that hashed the skill just before the edit).
  auto make = [&] { return MakePlan(skill_.path(), {"python3", "main.py", "0"}); };
  ASSERT_TRUE(RunUntilPrepared(make));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  WriteFile(skill_.path() / "main.py", std::string(kReport) + "print('the new script')\n");
  auto [outcome, prepared] = Run(*on_, make());
  EXPECT_TRUE(prepared);  // Served by the interpreter prepared before the change...
  EXPECT_EQ(outcome.stdout_stream.data, "the new script\n");  // ...which ran the new code.
  EXPECT_EQ(outcome.status, Status::kOk);
}

TEST_F(NativePreparedPythonTest, CompileWarningsAndSyntaxErrorsAreTheRunsOwn) {
  // A warning at compile time is printed once, by the run; a syntax error fails the run as
  // python3 would. Each compared with a run without a prepared interpreter.
  for (const char* body : {"assert (1, 'always true')\nprint('ran')\n", "print('unclosed'\n"}) {
    MakeSkill(skill_.path(), "main.py", body);
    auto make = [&] { return MakePlan(skill_.path(), {"python3", "main.py"}); };
    ASSERT_TRUE(on_->Run(make()));  // Asks for an interpreter for this plan.
    // The interpreter waiting for the next run (it has the plan's environment).
    std::vector<pid_t> waiting;
    for (int i = 0; i < 100 && waiting.empty(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
      waiting = skillrt::testing::ProcessesWithEnv("PREPARED_MARK=" + mark_);
    }
    ASSERT_EQ(waiting.size(), 1u) << body;
    auto prepared = on_->Run(make());
    ASSERT_TRUE(prepared) << prepared.error().ToString();
    EXPECT_NE(::kill(waiting[0], 0), 0) << "the run was not served by the waiting interpreter";
    auto normal = off_->Run(make());
    ASSERT_TRUE(normal) << normal.error().ToString();
    EXPECT_EQ(prepared->stderr_stream.data, normal->stderr_stream.data) << body;
    // Past the report line (which says which path ran), the same output.
    auto past_report = [](const std::string& out) { return out.substr(out.find('\n') + 1); };
    EXPECT_EQ(past_report(prepared->stdout_stream.data), past_report(normal->stdout_stream.data));
    EXPECT_EQ(prepared->status, normal->status) << body;
    EXPECT_EQ(prepared->exit_code, normal->exit_code) << body;
    if (std::string(body).starts_with("assert")) {
      EXPECT_NE(normal->stderr_stream.data.find("SyntaxWarning"), std::string::npos)
          << normal->stderr_stream.data;
      const std::string& err = prepared->stderr_stream.data;
      EXPECT_EQ(err.find("SyntaxWarning"), err.rfind("SyntaxWarning")) << err;  // Once.
    } else {
      EXPECT_NE(normal->stderr_stream.data.find("SyntaxError"), std::string::npos);
      EXPECT_EQ(normal->exit_code, 1);
    }
  }
}

TEST_F(NativePreparedPythonTest, AnotherSkillNeverGetsTheInterpreter) {
  TempDir other;
  MakeSkill(other.path(), "main.py", kMain);
  ASSERT_TRUE(RunUntilPrepared([&] { return MakePlan(skill_.path(), {"python3", "main.py", "0"}); }));
  // The first skill's interpreter is made again after that run; the other skill, with the
  // same script, argv and environment, must not get it.
  std::this_thread::sleep_for(std::chrono::seconds(1));
  auto [first, prepared] = Run(*on_, MakePlan(other.path(), {"python3", "main.py", "0"}));
  EXPECT_FALSE(prepared);
  EXPECT_EQ(first.status, Status::kOk);
  // The positive control: the other skill gets one of its own after its first run.
  EXPECT_TRUE(RunUntilPrepared([&] { return MakePlan(other.path(), {"python3", "main.py", "0"}); }));
}

TEST_F(NativePreparedPythonTest, AChangedTreeHashOrEnvironmentOrArgvIsNotServed) {
  // Room for the changed plans' own interpreters, so that none displaces the unchanged one.
  NativeRuntimeOptions options;
  options.prepared_sandboxes = 8;
  auto roomy = MakeNativeRuntime(options);
  ASSERT_TRUE(roomy) << roomy.error().ToString();
  on_ = std::move(*roomy);
  auto make = [&] { return MakePlan(skill_.path(), {"python3", "main.py", "0"}); };
  ASSERT_TRUE(RunUntilPrepared(make));
  std::this_thread::sleep_for(std::chrono::seconds(1));
  Plan changed_tree = make();
  changed_tree.tree_sha256 = std::string(64, 'b');
  EXPECT_FALSE(Run(*on_, changed_tree).second);
  Plan changed_env = make();
  changed_env.env.push_back("EXTRA=1");
  EXPECT_FALSE(Run(*on_, changed_env).second);
  Plan changed_argv = MakePlan(skill_.path(), {"python3", "main.py", "1"});
  EXPECT_FALSE(Run(*on_, changed_argv).second);
  Plan changed_limits = make();
  changed_limits.limits.memory_max_bytes /= 2;
  EXPECT_FALSE(Run(*on_, changed_limits).second);
  // The positive control: the unchanged plan is still served.
  auto [same, prepared] = Run(*on_, make());
  EXPECT_TRUE(prepared);
  EXPECT_EQ(same.status, Status::kOk);
}

TEST_F(NativePreparedPythonTest, TheSandboxStillBlocksFromAPreparedInterpreter) {
  const skillrt::testing::ProbeTargets targets;
  ASSERT_TRUE(targets.ok());
  const std::filesystem::path& secret = targets.secret;
  const std::string& port = targets.port;
  MakeSkill(skill_.path(), "probe.py", kProbe);

  // The positive control: the same script on the host reads the file and connects.
  TempDir host;
  WriteFile(host.path() / "probe.py", std::string(kReport) + kProbe);
  const std::string command = "cd " + host.path().string() + " && python3 probe.py " +
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

  auto outcome = RunUntilPrepared(
      [&] { return MakePlan(skill_.path(), {"python3", "probe.py", secret.string(), port}); });
  ASSERT_TRUE(outcome);
  const nlohmann::json inside = nlohmann::json::parse(outcome->stdout_stream.data);
  EXPECT_FALSE(inside.contains("read")) << inside;
  EXPECT_TRUE(inside.contains("read_errno")) << inside;
  EXPECT_FALSE(inside.contains("connected")) << inside;
  EXPECT_EQ(inside["fd3"], "closed");  // The error pipe closed on execve.
  EXPECT_EQ(inside["fd4"], "closed");  // The control descriptor closed before the script.
}

TEST_F(NativePreparedPythonTest, AnInterpreterThatDiedWhileWaitingIsDiscarded) {
  auto make = [&] { return MakePlan(skill_.path(), {"python3", "main.py", "0"}); };
  ASSERT_TRUE(RunUntilPrepared(make));
  std::vector<pid_t> waiting;
  for (int i = 0; i < 100 && waiting.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    waiting = skillrt::testing::ProcessesWithEnv("PREPARED_MARK=" + mark_);
  }
  ASSERT_EQ(waiting.size(), 1u);
  ASSERT_EQ(::kill(waiting[0], SIGKILL), 0);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  auto [outcome, prepared] = Run(*on_, make());
  EXPECT_FALSE(prepared);
  EXPECT_EQ(outcome.status, Status::kOk);
  EXPECT_EQ(outcome.exit_code, 0);
  EXPECT_EQ(nlohmann::json::parse(outcome.stdout_stream.data)["helper"], 42);
}

TEST_F(NativePreparedPythonTest, DestroyingTheRuntimeKillsInterpretersAndRemovesTheirCgroups) {
  ASSERT_TRUE(RunUntilPrepared([&] { return MakePlan(skill_.path(), {"python3", "main.py", "0"}); }));
  std::vector<pid_t> waiting;
  for (int i = 0; i < 100 && waiting.empty(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    waiting = skillrt::testing::ProcessesWithEnv("PREPARED_MARK=" + mark_);
  }
  ASSERT_EQ(waiting.size(), 1u);  // The positive control: it was there.
  on_.reset();
  off_.reset();
  EXPECT_TRUE(skillrt::testing::ProcessesWithEnv("PREPARED_MARK=" + mark_).empty());
  for (const std::filesystem::path& left : skillrt::testing::SpareCgroupsLeft()) {
    ADD_FAILURE() << "cgroup left: " << left;
  }
}

}  // namespace
}  // namespace skillrt
