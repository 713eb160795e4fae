// skillrt killed while a skill runs: the sandbox must die with it, and the next engine to open
// the home must end what is left (the run's cgroup) and record the run as abandoned.
// The CLI (SKILLRT_CLI_PATH) runs a native skill that sleeps; the test kills the CLI with
// SIGKILL, or signals it with SIGTERM or SIGINT (which cancel the run instead), and watches the
// sandbox's processes, which carry a marker variable.
#include <fcntl.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using skillrt::testing::Lines;
using skillrt::testing::ProcessesWithEnv;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

// Polls `done` every 20 ms for up to `limit`.
template <typename F>
bool WaitFor(F done, std::chrono::milliseconds limit) {
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    if (done()) return true;
    std::this_thread::sleep_for(20ms);
  }
  return done();
}

class AbandonedRunTest : public ::testing::TestWithParam<int> {
 protected:
  void SetUp() override {
    if (geteuid() != 0) GTEST_SKIP() << "needs root: the sandbox's processes are another uid";
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    skill_ = tmp_.path() / "sleeper";
    marker_ = "ABANDON_TEST_MARKER=" + std::to_string(::getpid()) + "-" +
              std::to_string(GetParam());
    fs::create_directories(skill_);
    fs::copy_file(fs::path(SKILLRT_PROBE_DIR) / "sleep_for", skill_ / "sleep_for");
    ::chmod((skill_ / "sleep_for").c_str(), 0755);
    WriteFile(skill_ / "SKILL.md",
              "---\nname: sleeper\ndescription: Sleeps for a minute.\n---\n# Sleeper\n");
    const std::string value = marker_.substr(marker_.find('=') + 1);
    WriteFile(skill_ / "skill.toml",
              "runtime = \"native\"\n\n[entry]\nargv = [\"./sleep_for\", \"60\"]\n"
              "output = \"text\"\n\n[capabilities.env.set]\nABANDON_TEST_MARKER = \"" +
                  value + "\"\n\n[limits]\nwall_time_ms = 120000\n");
  }

  // Starts `skillrt run` of the sleeper in its own process group; returns its pid.
  pid_t StartRun() {
    const pid_t pid = ::fork();
    if (pid == 0) {
      ::setsid();
      ::setenv("SKILLRT_HOME", home_.c_str(), 1);
      const int null = ::open("/dev/null", O_RDWR);
      ::dup2(null, 0);
      ::dup2(null, 1);
      ::dup2(null, 2);
      ::execl(SKILLRT_CLI_PATH, "skillrt", "run", skill_.c_str(), static_cast<char*>(nullptr));
      ::_exit(127);
    }
    return pid;
  }

  TempDir tmp_;
  fs::path home_;
  fs::path skill_;
  std::string marker_;
};

TEST_P(AbandonedRunTest, SandboxDiesWithTheCliAndTheRunIsRecordedAsAbandoned) {
  const int signal = GetParam();
  const pid_t cli = StartRun();
  ASSERT_GT(cli, 0);
  // Positive control: the skill is running in its sandbox while the CLI lives.
  ASSERT_TRUE(WaitFor([&] { return !ProcessesWithEnv(marker_).empty(); }, 20s))
      << "the sleeper never started";
  const std::vector<fs::path> journal = [&] {
    std::vector<fs::path> files;
    std::error_code ec;
    for (const auto& e : fs::directory_iterator(home_ / "runs", ec)) files.push_back(e.path());
    return files;
  }();
  ASSERT_EQ(journal.size(), 1u) << "the run's start was not written down before it ran";
  const std::string run_id = journal.front().stem().string();

  ASSERT_EQ(::kill(cli, signal), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(cli, &status, 0), cli);
  // The sandbox goes with its supervisor, long before its 60 s sleep or 120 s limit.
  EXPECT_TRUE(WaitFor([&] { return ProcessesWithEnv(marker_).empty(); }, 5s))
      << ProcessesWithEnv(marker_).size() << " sandbox process(es) outlived the killed CLI";

  // The next engine to open the home ends the rest and records the run.
  const skillrt::testing::CliResult list =
      RunCli(tmp_.path(), home_, {"--skills", tmp_.path().string(), "list"});
  EXPECT_EQ(list.exit_code, 0) << list.out << list.err;
  EXPECT_FALSE(fs::exists(journal.front())) << "the abandoned run is still in flight";
  bool recorded = false;
  for (const std::string& line : Lines(ReadFile(home_ / "audit.log"))) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("run_id", "") == run_id &&
        record.value("status", "") == "abandoned") {
      recorded = true;
    }
  }
  EXPECT_TRUE(recorded) << ReadFile(home_ / "audit.log");
  // And the run's cgroup is gone from every hierarchy.
  std::error_code ec;
  for (const auto& e : fs::recursive_directory_iterator("/sys/fs/cgroup", ec)) {
    if (e.is_directory(ec) && e.path().filename() == run_id) {
      ADD_FAILURE() << "cgroup left behind: " << e.path();
      break;
    }
  }
  const skillrt::testing::CliResult verify = RunCli(tmp_.path(), home_, {"audit", "verify"});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
}

// SIGINT and SIGTERM are not a kill: the CLI cancels its run, which ends cleaned up and
// recorded as cancelled by the CLI itself, and exits 130.
class CancelledRunTest : public AbandonedRunTest {};

TEST_P(CancelledRunTest, SignalledCliCancelsItsRunAndLeavesNothing) {
  const int signal = GetParam();
  const pid_t cli = StartRun();
  ASSERT_GT(cli, 0);
  ASSERT_TRUE(WaitFor([&] { return !ProcessesWithEnv(marker_).empty(); }, 20s))
      << "the sleeper never started";
  ASSERT_EQ(::kill(cli, signal), 0);
  int status = 0;
  ASSERT_EQ(::waitpid(cli, &status, 0), cli);
  ASSERT_TRUE(WIFEXITED(status)) << "the CLI died of the signal instead of cancelling";
  EXPECT_EQ(WEXITSTATUS(status), 130);
  EXPECT_TRUE(ProcessesWithEnv(marker_).empty())
      << "a sandbox process outlived the cancelled run";
  std::error_code ec;
  EXPECT_TRUE(fs::is_empty(home_ / "runs", ec)) << "the run is still journaled as in flight";
  int cancelled = 0;
  std::string run_id;
  for (const std::string& line : Lines(ReadFile(home_ / "audit.log"))) {
    const nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
    if (record.is_object() && record.value("status", "") == "cancelled") {
      ++cancelled;
      run_id = record.value("run_id", "");
      EXPECT_NE(record.value("message", "").find(sigabbrev_np(signal)), std::string::npos)
          << record.dump();
    }
  }
  EXPECT_EQ(cancelled, 1) << ReadFile(home_ / "audit.log");
  for (const auto& e : fs::recursive_directory_iterator("/sys/fs/cgroup", ec)) {
    if (e.is_directory(ec) && e.path().filename() == run_id) {
      ADD_FAILURE() << "cgroup left behind: " << e.path();
      break;
    }
  }
}

std::string SignalName(const ::testing::TestParamInfo<int>& info) {
  return sigabbrev_np(info.param);
}

INSTANTIATE_TEST_SUITE_P(Signals, AbandonedRunTest, ::testing::Values(SIGKILL), SignalName);
INSTANTIATE_TEST_SUITE_P(Signals, CancelledRunTest, ::testing::Values(SIGTERM, SIGINT),
                         SignalName);

}  // namespace
}  // namespace skillrt
