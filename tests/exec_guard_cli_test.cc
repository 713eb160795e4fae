// Acceptance tests of the command guard through the built CLI (SKILLRT_CLI_PATH): a skill
// that allowlists only `pytest` cannot smuggle other commands into `skillrt exec`, and every
// refusal is in the audit log.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::CliResult;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class ExecGuardCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills.
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    WriteSkill("pytest-only", "[\"pytest\"]");
  }

  // A skill with no entry point whose only capability is the given commands.
  void WriteSkill(const std::string& name, const std::string& commands) {
    std::filesystem::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md",
              "---\nname: " + name + "\ndescription: Runs allowlisted commands.\n---\n# T\n");
    WriteFile(dir / "skill.toml", "runtime = \"native\"\n\n[capabilities]\ncommands = " +
                                      commands + "\n\n[limits]\nwall_time_ms = 10000\n");
  }

  // Runs the CLI with `args` over this test's skills (tests/cli_runner.h).
  CliResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--skills", skills_.string()};
    all.insert(all.end(), args.begin(), args.end());
    return RunCli(tmp_.path(), home_, all);
  }

  // The audit records with this run id, read from the log file itself.
  std::vector<nlohmann::json> AuditRecords(const std::string& run_id) {
    std::vector<nlohmann::json> records;
    std::istringstream lines(ReadFile(home_ / "audit.log"));
    for (std::string line; std::getline(lines, line);) {
      nlohmann::json record = nlohmann::json::parse(line, nullptr, false);
      if (record.is_object() && record.value("run_id", "") == run_id) records.push_back(record);
    }
    return records;
  }

  TempDir tmp_;
  std::filesystem::path home_;
  std::filesystem::path skills_;
};

TEST_F(ExecGuardCliTest, SmuggledCommandsAreRefusedAndAudited) {
  const std::vector<std::vector<std::string>> attempts = {
      {"pytest && rm -rf /"},
      {"pytest;rm -rf /"},
      {"pytest $(rm -rf /)"},
      {"bash", "-c", "pytest && rm -rf /"},
      {"pytest `rm -rf /`"},
      {"pytest | sh"},
      {"pytest | rm -rf /"},
      {"env", "rm", "-rf", "/"},
      {"env rm -rf /"},
      {"find . -exec rm -rf / \\;"},
      {"find", ".", "-exec", "rm", "-rf", "/", ";"},
      {"pytest", "&&", "rm"},  // Literal argv: pytest runs with those arguments.
  };
  for (const std::vector<std::string>& argv : attempts) {
    std::vector<std::string> args = {"exec", "pytest-only", "--json", "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    CliResult r = Cli(args);
    std::string shown = argv[0] + (argv.size() > 1 ? " ..." : "");
    if (argv == std::vector<std::string>{"pytest", "&&", "rm"}) {
      // Positive control of the literal form: allowed by the guard; pytest itself is not
      // installed in the sandbox, so the run fails rather than being denied.
      ASSERT_FALSE(r.out.empty()) << r.err;
      EXPECT_NE(nlohmann::json::parse(r.out)["status"], "denied") << r.out;
      continue;
    }
    EXPECT_EQ(r.exit_code, 3) << shown << "\n" << r.out << r.err;
    ASSERT_FALSE(r.out.empty()) << shown << ": " << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out;
    EXPECT_EQ(j["status"], "denied") << shown;
    const std::string message = j["message"];
    EXPECT_FALSE(message.empty());
    std::vector<nlohmann::json> records = AuditRecords(j["run_id"]);
    ASSERT_EQ(records.size(), 1u) << shown;
    EXPECT_EQ(records[0]["event"], "refusal") << records[0].dump();
    EXPECT_EQ(records[0]["status"], "denied");
    EXPECT_EQ(records[0]["invocation"]["argv"], nlohmann::json(argv));
  }
}

TEST_F(ExecGuardCliTest, RefusalNamesTheCommandAndTheReason) {
  CliResult r = Cli({"exec", "pytest-only", "--json", "--", "pytest && rm -rf /"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  std::string message = nlohmann::json::parse(r.out)["message"];
  EXPECT_NE(message.find("command 'rm' is not allowed"), std::string::npos) << message;
  EXPECT_NE(message.find("allows: pytest"), std::string::npos) << message;

  r = Cli({"exec", "pytest-only", "--json", "--", "pytest 'unterminated"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  message = nlohmann::json::parse(r.out)["message"];
  EXPECT_NE(message.find("unparsable"), std::string::npos) << message;

  // Allowed commands, but no declared shell to run the command line with.
  r = Cli({"exec", "pytest-only", "--json", "--", "pytest -x && pytest"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  message = nlohmann::json::parse(r.out)["message"];
  EXPECT_NE(message.find("needs 'sh'"), std::string::npos) << message;
}

TEST_F(ExecGuardCliTest, CriticalRiskIsRefusedEvenForAnAllowedCommand) {
  WriteSkill("remover", "[\"rm\"]");
  CliResult r = Cli({"exec", "remover", "--json", "--", "rm", "-rf", "/"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("rm-recursive-root"), std::string::npos)
      << j["message"];
}

// The risk guard's worst readings through the CLI: removals of a system directory spelled
// with an abbreviated option, a pattern, a wrapper or find, and a shell whose commands would
// come from skillrt's own stdin, are refused with every command declared.
TEST_F(ExecGuardCliTest, WorstReadingsAreRefusedForDeclaredCommands) {
  WriteSkill("cleaner", "[\"rm\", \"sh\", \"find\", \"env\", \"echo\"]");
  struct Attempt {
    std::vector<std::string> argv;
    std::string rule;
    std::string stdin_data;
  };
  const std::vector<Attempt> attempts = {
      {{"rm", "--recur", "-f", "/srv/x"}, "rm-recursive-system", ""},
      {{"rm -rf /sr[v]/x"}, "rm-recursive-system", ""},
      {{"env", "-i", "rm", "-rf", "/srv/x"}, "rm-recursive-system", ""},
      {{"find", "-P", "/srv/x", "-delete"}, "find-delete-system", ""},
      {{"sh", "-c", "rm -rf \"$0\"", "/srv/x"}, "rm-recursive-root", ""},
      {{"sh"}, "shell-script-unseen", "rm -rf /srv/x\n"},
  };
  for (const Attempt& attempt : attempts) {
    std::vector<std::string> args = {"--skills", skills_.string(), "exec", "cleaner", "--json",
                                     "--"};
    args.insert(args.end(), attempt.argv.begin(), attempt.argv.end());
    CliResult r = RunCli(tmp_.path(), home_, args, attempt.stdin_data);
    EXPECT_EQ(r.exit_code, 3) << attempt.argv[0] << "\n" << r.out << r.err;
    nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
    ASSERT_TRUE(j.is_object()) << r.out << r.err;
    EXPECT_EQ(j["status"], "denied");
    EXPECT_NE(j["message"].get<std::string>().find(attempt.rule), std::string::npos)
        << j["message"];
  }
  // Positive control: the same skill may echo through a shell whose script the guard reads.
  CliResult r = Cli({"exec", "cleaner", "--json", "--", "sh", "-c", "echo kept"});
  ASSERT_FALSE(r.out.empty()) << r.err;
  EXPECT_NE(nlohmann::json::parse(r.out)["status"], "denied") << r.out;
}

// Through the CLI: a skill that declares a writable directory is refused `exec rm -rf DIR`
// (and `policy check` names the rule), while removing inside it is not refused by the guard.
TEST_F(ExecGuardCliTest, RemovingADeclaredDirectoryIsRefused) {
  skillrt::testing::VarTmpDir data;  // The host's /tmp is reserved: it cannot be declared.
  const std::string dir = data.path().string();
  std::filesystem::create_directory(data.path() / "sub");
  WriteFile(skills_ / "worker" / "SKILL.md",
            "---\nname: worker\ndescription: Works in a declared directory.\n---\n# T\n");
  WriteFile(skills_ / "worker" / "skill.toml",
            "runtime = \"native\"\n\n[capabilities]\ncommands = [\"rm\"]\nwrite = [\"" + dir +
                "\"]\n\n[limits]\nwall_time_ms = 10000\n");
  CliResult r = Cli({"exec", "worker", "--json", "--", "rm", "-rf", dir});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out, nullptr, false);
  ASSERT_TRUE(j.is_object()) << r.out << r.err;
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("rm-recursive-declared"), std::string::npos)
      << j["message"];
  EXPECT_TRUE(std::filesystem::exists(data.path() / "sub"));

  r = Cli({"policy", "check", "worker", "--json", "--", "rm", "-rf", dir});
  EXPECT_NE(r.out.find("rm-recursive-declared"), std::string::npos) << r.out << r.err;
  // Positive control: inside the declared directory the guard refuses nothing and rates
  // nothing critical.
  r = Cli({"policy", "check", "worker", "--json", "--", "rm", "-rf", dir + "/sub"});
  EXPECT_EQ(r.out.find("command-guard"), std::string::npos) << r.out << r.err;
  EXPECT_EQ(r.out.find("critical"), std::string::npos) << r.out << r.err;
}

TEST_F(ExecGuardCliTest, AnAllowedShellCommandLineRuns) {
  WriteSkill("echoer", "[\"sh\", \"echo\"]");
  CliResult r = Cli({"exec", "echoer", "--json", "--", "echo a && echo b"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok") << r.out;
  EXPECT_EQ(j["stdout"], "a\nb\n");
  std::vector<nlohmann::json> records = AuditRecords(j["run_id"]);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["event"], "run");

  // The same skill may not reach beyond its list through the shell.
  r = Cli({"exec", "echoer", "--json", "--", "echo a && id"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(nlohmann::json::parse(r.out)["message"].get<std::string>().find("'id'"),
            std::string::npos);
}

}  // namespace
}  // namespace skillrt
