// The native runtime through its public interface: plan in, outcome out. The hostile probes
// live in tests/sandbox_probe_test.cc; these cover the supervisor's own behaviour.
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <thread>

#include "skillrt/runtime.h"
#include "test_util.h"
#include "runtime/path_pin.h"

namespace skillrt {
namespace {

using skillrt::testing::TempDir;

std::string UniqueRunId() {
  static std::atomic<int> counter{0};
  return "rt" + std::to_string(getpid()) + "_" + std::to_string(counter++);
}

class NativeRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto rt = MakeNativeRuntime();
    ASSERT_TRUE(rt) << rt.error().ToString();
    runtime_ = std::move(*rt);
    ::chmod(skill_.path().c_str(), 0755);  // The sandbox user must be able to enter it.
  }

  Plan MakePlan(std::vector<std::string> argv) {
    Plan plan;
    plan.run_id = UniqueRunId();
    plan.skill_name = "runtime-test";
    plan.skill_dir = skill_.path();
    plan.commands = {argv[0]};
    plan.argv = std::move(argv);
    plan.env = {"PATH=/usr/bin:/bin", "HOME=/tmp", "LANG=C.UTF-8"};
    plan.limits.wall_time = std::chrono::seconds(20);
    return plan;
  }

  TempDir skill_;
  std::unique_ptr<Runtime> runtime_;
};

TEST_F(NativeRuntimeTest, ExitStatusAndStreamsAreReported) {
  Plan plan = MakePlan({"sh", "-c", "echo out; echo err >&2; exit 3"});
  auto outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kError);
  EXPECT_EQ(outcome->exit_code, 3);
  EXPECT_FALSE(outcome->signal.has_value());
  EXPECT_EQ(outcome->stdout_stream.data, "out\n");
  EXPECT_EQ(outcome->stderr_stream.data, "err\n");
  EXPECT_EQ(outcome->run_id, plan.run_id);
  EXPECT_GT(outcome->duration.count(), 0);

  plan = MakePlan({"sh", "-c", "exit 0"});
  outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome);
  EXPECT_EQ(outcome->status, Status::kOk);
  EXPECT_EQ(outcome->exit_code, 0);
}

TEST_F(NativeRuntimeTest, EveryLayerIsListed) {
  auto outcome = runtime_->Run(MakePlan({"sh", "-c", "true"}));
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  const std::vector<std::string>& layers = outcome->layers;
  for (const char* layer : {"userns", "mountns", "pidns", "netns", "ipcns", "utsns", "pivot_root",
                            "caps_dropped", "no_new_privs", "rlimits", "seccomp"}) {
    EXPECT_NE(std::find(layers.begin(), layers.end(), layer), layers.end()) << layer;
  }
}

TEST_F(NativeRuntimeTest, LargeStdinRoundTripsThroughThePipes) {
  // Larger than a pipe buffer in both directions: the supervisor must write and read at once.
  std::string input(3 << 20, 'x');
  for (size_t i = 0; i < input.size(); i += 4096) input[i] = '\n';
  Plan plan = MakePlan({"cat"});
  plan.stdin_data = input;
  plan.limits.output_max_bytes = 4 << 20;
  auto outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk) << outcome->message;
  EXPECT_EQ(outcome->stdout_stream.data.size(), input.size());
  EXPECT_TRUE(outcome->stdout_stream.data == input);
  EXPECT_FALSE(outcome->stdout_stream.truncated);
}

TEST_F(NativeRuntimeTest, AChildThatClosesStdinEarlyDoesNotKillTheSupervisor) {
  Plan plan = MakePlan({"sh", "-c", "exec 0<&-; echo done"});
  plan.stdin_data = std::string(8 << 20, 'y');
  auto outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk);
  EXPECT_EQ(outcome->stdout_stream.data, "done\n");
}

TEST_F(NativeRuntimeTest, ACommandThatIsNotThereIsTheSkillsError) {
  auto outcome = runtime_->Run(MakePlan({"no-such-command-in-the-sandbox"}));
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kError);
  EXPECT_EQ(outcome->exit_code, 127);
  EXPECT_NE(outcome->message.find("no-such-command-in-the-sandbox"), std::string::npos);
}

TEST_F(NativeRuntimeTest, AnUndeclaredArgv0IsDenied) {
  Plan plan = MakePlan({"sh", "-c", "true"});
  plan.commands = {"cat"};
  auto outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_FALSE(outcome->exit_code.has_value());
}

TEST_F(NativeRuntimeTest, ASetupStepThatFailsIsAnErrorNamingTheStep) {
  // The skill directory vanishes between planning (which pinned it) and the child opening
  // it: the child's report arrives through the error pipe and the run is refused, not run
  // with less.
  Plan plan = MakePlan({"sh", "-c", "true"});
  plan.skill_dir = skill_.path() / "vanished";
  std::filesystem::create_directory(plan.skill_dir);
  auto pin = PinHostPath(plan.skill_dir);
  ASSERT_TRUE(pin) << pin.error().ToString();
  plan.skill_dir_pin = *pin;
  std::filesystem::remove(plan.skill_dir);
  auto outcome = runtime_->Run(plan);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kSandbox);
  EXPECT_NE(outcome.error().message.find("open(" + plan.skill_dir.string() + ")"),
            std::string::npos)
      << outcome.error().message;
  EXPECT_EQ(outcome.error().sys_errno, ENOENT);
}

TEST_F(NativeRuntimeTest, ConcurrentRunsFromManyThreadsAllComplete) {
  // A regression guard: the child must not call glibc wrappers that wait on the parent's
  // other threads (setgroups/setresuid broadcast to every thread).
  constexpr int kThreads = 4, kRuns = 5;
  std::atomic<int> ok{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&] {
      for (int i = 0; i < kRuns; ++i) {
        Plan plan = MakePlan({"sh", "-c", "echo hi"});
        plan.limits.wall_time = std::chrono::seconds(10);
        auto outcome = runtime_->Run(plan);
        if (outcome && outcome->status == Status::kOk && outcome->stdout_stream.data == "hi\n") {
          ++ok;
        }
      }
    });
  }
  for (std::thread& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kRuns);
}

TEST_F(NativeRuntimeTest, NetworkWithoutAnAllowlistIsRefused) {
  Plan plan = MakePlan({"sh", "-c", "true"});
  plan.network = true;
  auto outcome = runtime_->Run(plan);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
  plan.network = false;
  plan.egress = {EgressRule{.host = "api.example.com"}};
  outcome = runtime_->Run(plan);
  ASSERT_FALSE(outcome);
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(NativeRuntimeTest, EgressRunHasLoopbackAndTheProxyOnly) {
  // Shell built-ins only: the plan allows no other program.
  Plan plan = MakePlan({"sh", "-c",
                        "for f in /proc/net/dev /proc/net/tcp; do "
                        "while IFS= read -r l; do echo \"$l\"; done < $f; done"});
  plan.network = true;
  plan.egress = {EgressRule{.host = "api.example.com"}};
  auto outcome = runtime_->Run(plan);
  ASSERT_TRUE(outcome) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk) << outcome->stderr_stream.data;
  const std::string& out = outcome->stdout_stream.data;
  EXPECT_NE(out.find("lo:"), std::string::npos) << out;
  EXPECT_EQ(out.find("eth"), std::string::npos) << out;
  // /proc/net/tcp lists the proxy's listener, 127.0.0.1:3128 (0100007F:0C38), state 0A.
  EXPECT_NE(out.find("0100007F:0C38 00000000:0000 0A"), std::string::npos) << out;
  EXPECT_TRUE(outcome->egress.empty());
}

}  // namespace
}  // namespace skillrt
