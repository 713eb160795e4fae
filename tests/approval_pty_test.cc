// Approvals through the CLI's terminal prompt: the built CLI (SKILLRT_CLI_PATH) runs on a
// pseudo-terminal that is its controlling terminal, with stdin and stdout redirected to files,
// and the test answers the prompt through the terminal. Without a terminal, piped input cannot
// approve anything.
#include <fcntl.h>
#include <poll.h>
#include <pty.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

extern char** environ;

namespace skillrt {
namespace {

using skillrt::testing::CliResult;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

struct PtyResult {
  int exit_code = -1;
  std::string out;  // stdout (a file)
  std::string tty;  // Everything written to the terminal.
};

class ApprovalPtyTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    const std::filesystem::path dir = skills_ / "asker";
    WriteFile(dir / "SKILL.md", "---\nname: asker\ndescription: Reads one host variable.\n---\n");
    WriteFile(dir / "skill.toml",
              "runtime = \"native\"\n[entry]\nargv = [\"python3\", \"scripts/main.py\"]\n"
              "[capabilities]\ncommands = [\"python3\"]\n"
              "[capabilities.env]\npass = [\"PTY_TEST_VAR\"]\n");
    WriteFile(dir / "scripts" / "main.py",
              "import json, os\nprint(json.dumps({'var': os.environ.get('PTY_TEST_VAR')}))\n");
  }

  // Runs the CLI with `args` on a new pseudo-terminal (its controlling terminal); stdin is a
  // file holding `stdin_data`, stdout a file. Each time the terminal shows `script[i].first`
  // (after the previous match), `script[i].second` is typed.
  PtyResult RunOnPty(std::vector<std::string> args,
                     const std::vector<std::pair<std::string, std::string>>& script,
                     const std::string& stdin_data = "y\ny\ny\n") {
    const auto in = tmp_.path() / "pty-stdin", out = tmp_.path() / "pty-stdout";
    WriteFile(in, stdin_data);
    std::vector<std::string> env;
    for (char** e = environ; *e != nullptr; ++e) {
      if (std::strncmp(*e, "SKILLRT_", 8) != 0) env.emplace_back(*e);
    }
    env.push_back("SKILLRT_HOME=" + home_.string());
    env.push_back("PTY_TEST_VAR=from-host");
    args.insert(args.begin(), {SKILLRT_CLI_PATH, "--skills", skills_.string()});
    std::vector<char*> argv_ptrs, env_ptrs;
    for (auto& a : args) argv_ptrs.push_back(a.data());
    argv_ptrs.push_back(nullptr);
    for (auto& e : env) env_ptrs.push_back(e.data());
    env_ptrs.push_back(nullptr);

    int master = -1;
    const pid_t pid = ::forkpty(&master, nullptr, nullptr, nullptr);
    if (pid == 0) {
      // forkpty made a new session with the terminal as its controlling terminal and as fds
      // 0-2; stdin and stdout move to files, stderr stays on the terminal.
      const int fd_in = ::open(in.c_str(), O_RDONLY);
      const int fd_out = ::open(out.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
      if (fd_in < 0 || fd_out < 0) ::_exit(126);
      ::dup2(fd_in, 0);
      ::dup2(fd_out, 1);
      ::execve(argv_ptrs[0], argv_ptrs.data(), env_ptrs.data());
      ::_exit(127);
    }
    PtyResult result;
    EXPECT_GT(pid, 0);
    if (pid <= 0) return result;
    size_t step = 0, searched = 0;
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
    while (std::chrono::steady_clock::now() < deadline) {
      pollfd pfd{.fd = master, .events = POLLIN, .revents = 0};
      if (::poll(&pfd, 1, 100) <= 0) continue;
      char buf[4096];
      ssize_t n = ::read(master, buf, sizeof buf);
      if (n <= 0) break;  // EIO: the child closed the terminal.
      result.tty.append(buf, static_cast<size_t>(n));
      if (step < script.size()) {
        size_t at = result.tty.find(script[step].first, searched);
        if (at != std::string::npos) {
          searched = at + script[step].first.size();
          const std::string& keys = script[step].second;
          EXPECT_EQ(::write(master, keys.data(), keys.size()), static_cast<ssize_t>(keys.size()));
          ++step;
        }
      }
    }
    int status = 0;
    if (::waitpid(pid, &status, 0) == pid && WIFEXITED(status)) {
      result.exit_code = WEXITSTATUS(status);
    }
    ::close(master);
    EXPECT_EQ(step, script.size()) << "the prompt did not appear:\n" << result.tty;
    result.out = ReadFile(out);
    return result;
  }

  std::vector<nlohmann::json> Approvals() {
    std::vector<nlohmann::json> out;
    std::istringstream lines(ReadFile(home_ / "audit.log"));
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json r = nlohmann::json::parse(line, nullptr, false);
      if (r.is_object() && r.value("event", "") == "approval") out.push_back(r);
    }
    return out;
  }

  static bool NoSandbox(int exit_code) { return exit_code == 70; }

  TempDir tmp_;
  std::filesystem::path home_, skills_;
};

constexpr char kQuestion[] = "Approve? [y] once";

TEST_F(ApprovalPtyTest, ApprovedOnTheTerminal) {
  // An unknown answer is asked again; "y" approves this call once.
  PtyResult r = RunOnPty({"run", "asker", "--json"}, {{kQuestion, "maybe\n"}, {kQuestion, "y\n"}});
  EXPECT_NE(r.tty.find("skill:        asker"), std::string::npos) << r.tty;
  EXPECT_NE(r.tty.find("host env:   PTY_TEST_VAR"), std::string::npos) << r.tty;
  EXPECT_NE(r.tty.find("default-env (built-in): env PTY_TEST_VAR"), std::string::npos) << r.tty;
  EXPECT_NE(r.tty.find("risk:         low"), std::string::npos) << r.tty;
  std::vector<nlohmann::json> approvals = Approvals();
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0]["via"], "tty");
  EXPECT_EQ(approvals[0]["answer"], "approved");
  if (NoSandbox(r.exit_code)) GTEST_SKIP() << "the native sandbox is not available";
  ASSERT_EQ(r.exit_code, 0) << r.out << r.tty;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["output"]["var"], "from-host");
  EXPECT_FALSE(std::filesystem::exists(home_ / "approvals.json"));
}

TEST_F(ApprovalPtyTest, DeniedOnTheTerminal) {
  PtyResult r = RunOnPty({"run", "asker", "--json"}, {{kQuestion, "n\n"}});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.tty;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("approval denied (via tty)"), std::string::npos);
  std::vector<nlohmann::json> approvals = Approvals();
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0]["answer"], "denied");
  EXPECT_EQ(approvals[0]["via"], "tty");
}

TEST_F(ApprovalPtyTest, AlwaysIsStoredAndNeedsNoTerminalAfterwards) {
  PtyResult r = RunOnPty({"run", "asker", "--json"}, {{kQuestion, "always\n"}});
  if (NoSandbox(r.exit_code)) GTEST_SKIP() << "the native sandbox is not available";
  ASSERT_EQ(r.exit_code, 0) << r.out << r.tty;
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "approvals.json").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  CliResult again = RunCli(tmp_.path(), home_, {"--skills", skills_.string(), "run", "asker"});
  EXPECT_EQ(again.exit_code, 0) << again.out << again.err;
  std::vector<nlohmann::json> approvals = Approvals();
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[0]["via"], "tty");
  EXPECT_EQ(approvals[0]["answer"], "approved_always");
  EXPECT_EQ(approvals[1]["via"], "stored");
}

TEST_F(ApprovalPtyTest, PipedInputWithoutATerminalCannotApprove) {
  // stdin says yes, but the CLI has no controlling terminal (tests/cli_runner.h): no approver.
  CliResult r = RunCli(tmp_.path(), home_,
                       {"--skills", skills_.string(), "exec", "asker", "--json", "--", "python3",
                        "scripts/main.py"},
                       "y\nyes\nalways\n");
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("no approver is available"), std::string::npos)
      << j["message"];
  std::vector<nlohmann::json> approvals = Approvals();
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0]["via"], "none");
  EXPECT_EQ(approvals[0]["answer"], "denied");
  EXPECT_FALSE(std::filesystem::exists(home_ / "approvals.json"));
}

TEST_F(ApprovalPtyTest, EndOfInputOnTheTerminalDenies) {
  // Ctrl-D at the question: no answer, denied.
  PtyResult r = RunOnPty({"run", "asker", "--json"}, {{kQuestion, "\x04"}});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.tty;
  EXPECT_EQ(Approvals().at(0)["answer"], "denied");
}

}  // namespace
}  // namespace skillrt
