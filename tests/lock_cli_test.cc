// Install, lock and drift through the built CLI (SKILLRT_CLI_PATH): an edited script or a
// widened manifest stops the skill until `skillrt lock` approves it again.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::CliResult;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

constexpr std::string_view kManifest = R"(
[entry]
argv = ["python3", "scripts/run.py"]

[capabilities]
commands = ["python3"]

[limits]
wall_time_ms = 20000
)";

class LockCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills.
    home_ = tmp_.path() / "home";
    src_ = tmp_.path() / "src/greeter";
    WriteFile(src_ / "SKILL.md", "---\nname: greeter\ndescription: Greets.\n---\n# Greeter\n");
    WriteFile(src_ / "skill.toml", kManifest);
    WriteFile(src_ / "scripts/run.py", "print('{\"greeting\": \"hello\"}')\n");
  }

  CliResult Cli(const std::vector<std::string>& args) { return RunCli(tmp_.path(), home_, args); }

  fs::path Installed() const { return home_ / "skills/greeter"; }

  std::vector<nlohmann::json> Audit() {
    std::vector<nlohmann::json> records;
    std::istringstream lines(ReadFile(home_ / "audit.log"));
    for (std::string line; std::getline(lines, line);) {
      records.push_back(nlohmann::json::parse(line));
    }
    return records;
  }

  TempDir tmp_;
  fs::path home_, src_;
};

TEST_F(LockCliTest, InstallLockDriftAndRelock) {
  CliResult install = Cli({"install", src_.string(), "--json"});
  ASSERT_EQ(install.exit_code, 0) << install.err;
  nlohmann::json installed = nlohmann::json::parse(install.out);
  EXPECT_EQ(installed["name"], "greeter");
  EXPECT_EQ(installed["path"], fs::canonical(Installed()).string());
  CliResult again = Cli({"install", src_.string()});
  EXPECT_EQ(again.exit_code, 2);
  EXPECT_NE(again.err.find("already installed"), std::string::npos) << again.err;

  CliResult lock = Cli({"lock", "greeter"});
  ASSERT_EQ(lock.exit_code, 0) << lock.err;
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "skills.lock").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);

  CliResult run = Cli({"run", "greeter", "--json"});
  if (run.exit_code == 70) GTEST_SKIP() << "no native sandbox here: " << run.err;
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;

  // Drift: a script edited after locking.
  WriteFile(Installed() / "scripts/run.py", "import os\nprint('{\"greeting\": \"pwned\"}')\n");
  CliResult drifted = Cli({"run", "greeter", "--json"});
  EXPECT_EQ(drifted.exit_code, 3) << drifted.out << drifted.err;
  nlohmann::json d = nlohmann::json::parse(drifted.out);
  EXPECT_EQ(d["status"], "denied");
  const std::string message = d["message"];
  EXPECT_NE(message.find("drifted from its lock"), std::string::npos) << message;
  EXPECT_NE(message.find("changed: scripts/run.py"), std::string::npos) << message;
  EXPECT_NE(message.find("skillrt lock greeter"), std::string::npos) << message;
  std::vector<nlohmann::json> records = Audit();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["event"], "refusal");
  EXPECT_EQ(records.back()["status"], "denied");
  CliResult exec = Cli({"exec", "greeter", "--", "python3", "-V"});
  EXPECT_EQ(exec.exit_code, 3) << exec.err;
  CliResult check = Cli({"lock", "--check"});
  EXPECT_EQ(check.exit_code, 1);
  EXPECT_NE(check.out.find("changed: scripts/run.py"), std::string::npos) << check.out;
  CliResult check_json = Cli({"lock", "--check", "--json"});
  EXPECT_EQ(check_json.exit_code, 1);
  nlohmann::json report = nlohmann::json::parse(check_json.out);
  ASSERT_EQ(report.size(), 1u);
  EXPECT_EQ(report[0]["ok"], false);
  EXPECT_EQ(report[0]["drift"]["changed"], nlohmann::json::array({"scripts/run.py"}));

  // Re-locking approves the new tree.
  ASSERT_EQ(Cli({"lock", "greeter"}).exit_code, 0);
  CliResult relocked = Cli({"run", "greeter", "--json"});
  ASSERT_EQ(relocked.exit_code, 0) << relocked.out << relocked.err;
  EXPECT_EQ(nlohmann::json::parse(relocked.out)["output"]["greeting"], "pwned");
  EXPECT_EQ(Cli({"lock", "--check"}).exit_code, 0);
}

TEST_F(LockCliTest, WidenedCapabilityIsRefusedNarrowedIsAllowed) {
  ASSERT_EQ(Cli({"install", src_.string(), "--lock"}).exit_code, 0);
  std::string widened(kManifest);
  widened.replace(widened.find("[\"python3\"]"), 11, "[\"python3\", \"sh\"]");
  WriteFile(Installed() / "skill.toml", widened);
  CliResult wide = Cli({"run", "greeter", "--json"});
  EXPECT_EQ(wide.exit_code, 3) << wide.out << wide.err;
  if (wide.exit_code == 3) {
    const std::string message = nlohmann::json::parse(wide.out)["message"];
    EXPECT_NE(message.find("widened: capabilities.commands: +sh"), std::string::npos) << message;
  }

  std::string narrowed(kManifest);
  narrowed.replace(narrowed.find("20000"), 5, "9000");
  WriteFile(Installed() / "skill.toml", narrowed);
  CliResult narrow = Cli({"run", "greeter", "--json"});
  if (narrow.exit_code == 70) GTEST_SKIP() << "no native sandbox here: " << narrow.err;
  EXPECT_EQ(narrow.exit_code, 0) << narrow.out << narrow.err;
  std::vector<nlohmann::json> records = Audit();
  ASSERT_FALSE(records.empty());
  EXPECT_EQ(records.back()["invocation"]["lock"], "narrowed");
  EXPECT_EQ(records.back()["limits"]["wall_time_ms"], 9000);
}

TEST_F(LockCliTest, RequiredLockRefusesUnlockedSkills) {
  ASSERT_EQ(Cli({"install", src_.string()}).exit_code, 0);
  ASSERT_EQ(Cli({"lock", "--require"}).exit_code, 0);
  CliResult r = Cli({"run", "greeter"});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("is not locked"), std::string::npos) << r.err;
  ASSERT_EQ(Cli({"lock", "greeter"}).exit_code, 0);
  CliResult locked = Cli({"run", "greeter"});
  EXPECT_NE(locked.exit_code, 3) << locked.err;
  ASSERT_EQ(Cli({"lock", "--remove", "greeter"}).exit_code, 0);
  EXPECT_EQ(Cli({"run", "greeter"}).exit_code, 3);
  ASSERT_EQ(Cli({"lock", "--no-require"}).exit_code, 0);
  EXPECT_NE(Cli({"run", "greeter"}).exit_code, 3);
}

TEST_F(LockCliTest, InstallRefusesInvalidAndEscapingSkills) {
  fs::create_symlink("../../../../etc/shadow", src_ / "leak");
  CliResult r = Cli({"install", src_.string()});
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_NE(r.err.find("leaves the skill directory"), std::string::npos) << r.err;
  fs::remove(src_ / "leak");
  WriteFile(src_ / "skill.toml", "[limits]\nbogus = 1\n");
  r = Cli({"install", src_.string()});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("limits.bogus: unknown key"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(Installed()));
}

}  // namespace
}  // namespace skillrt
