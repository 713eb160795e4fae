// End-to-end tests of the policy through the built CLI (SKILLRT_CLI_PATH): `skillrt policy
// check` output and exit codes, the policy files it reads, and refusals of `run`.
#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::CliResult;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class PolicyCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    work_ = tmp_.path() / "work";
    std::filesystem::create_directories(work_);
    WriteSkill("plain", "");
    WriteSkill("asker", "[capabilities.env]\npass = [\"LANGUAGE\"]\n");
  }

  void WriteSkill(const std::string& name, const std::string& extra) {
    std::filesystem::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md", "---\nname: " + name + "\ndescription: A test skill.\n---\n# T\n");
    WriteFile(dir / "skill.toml",
              "runtime = \"native\"\n[entry]\nargv = [\"python3\", \"scripts/main.py\"]\n"
              "[capabilities]\ncommands = [\"python3\"]\n" + extra);
    WriteFile(dir / "scripts" / "main.py", "print('{}')\n");
  }

  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--skills", skills_.string()});
    return RunCli(tmp_.path(), home_, args, "", work_);
  }

  TempDir tmp_;
  std::filesystem::path home_, skills_, work_;
};

TEST_F(PolicyCliTest, ExitCodesFollowTheDecision) {
  CliResult r = Cli({"policy", "check", "plain"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("plain (run): allow\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("  allow  built-in 'default-call': skill plain: "), std::string::npos);
  EXPECT_NE(r.out.find("policy files: none (built-in default only)"), std::string::npos);

  r = Cli({"policy", "check", "asker"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("asker (run): ask\n", 0), 0u) << r.out;
  EXPECT_NE(r.out.find("  ask    built-in 'default-env': env LANGUAGE: passes a host "
                       "environment variable into the sandbox"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("approval key: "), std::string::npos);

  WriteFile(home_ / "policy.toml", "# user policy\n\n[[rule]]\nname = \"no-lang\"\n"
                                   "effect = \"deny\"\nenv = [\"LANG*\"]\n");
  r = Cli({"policy", "check", "asker"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("  deny   " + (home_ / "policy.toml").string() +
                       ":3 rule 1 'no-lang': env LANGUAGE"),
            std::string::npos)
      << r.out;

  // The command guard's refusal is a deny.
  r = Cli({"policy", "check", "plain", "--", "python3 x.py && rm -rf /"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("'command-guard'"), std::string::npos) << r.out;
}

TEST_F(PolicyCliTest, JsonListsEveryRule) {
  CliResult r = Cli({"policy", "check", "plain", "--json", "--", "python3", "-c", "print(1)"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["skill"], "plain");
  EXPECT_EQ(j["kind"], "exec");
  EXPECT_EQ(j["decision"], "allow");
  EXPECT_EQ(j["risk"]["level"], "medium");
  EXPECT_TRUE(j["approval_key"].is_null());
  std::vector<std::string> subjects;
  for (const auto& rule : j["rules"]) subjects.push_back(rule["subject"]);
  EXPECT_EQ(subjects, (std::vector<std::string>{"skill plain", "command python3",
                                                "exec python3 -c print(1)"}));
}

TEST_F(PolicyCliTest, ProjectAndExplicitFiles) {
  // A project file's allow does not count until the user trusts project policies.
  WriteFile(work_ / ".skillrt" / "policy.toml",
            "[[rule]]\nname = \"lang-ok\"\neffect = \"allow\"\nenv = [\"LANGUAGE\"]\n");
  CliResult r = Cli({"policy", "check", "asker", "--json"});
  EXPECT_EQ(r.exit_code, 6) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["policy_files"].size(), 1u);
  bool ignored = false;
  for (const auto& rule : j["rules"]) {
    if (rule["name"] != "lang-ok") continue;
    ignored = rule.value("ignored", "").find("trust_project") != std::string::npos;
  }
  EXPECT_TRUE(ignored) << r.out;

  WriteFile(home_ / "policy.toml", "trust_project = true\n");
  EXPECT_EQ(Cli({"policy", "check", "asker"}).exit_code, 0);

  // --policy FILE replaces the project file.
  const auto file = tmp_.path() / "strict.toml";
  WriteFile(file, "[[rule]]\nname = \"nothing\"\neffect = \"deny\"\nskills = [\"*\"]\n");
  r = Cli({"policy", "check", "plain", "--policy", file.string()});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  EXPECT_NE(r.out.find("'nothing'"), std::string::npos);
  EXPECT_EQ(r.out.find("lang-ok"), std::string::npos);
}

TEST_F(PolicyCliTest, BadPolicyStopsEveryCommandThatRuns) {
  WriteFile(home_ / "policy.toml", "[[rule]]\neffect = \"allow\"\nnetwork = \"yes\"\n");
  const std::string expected =
      "skillrt: " + (home_ / "policy.toml").string() +
      ":3: rule[1].network: expected true, got string\n";
  CliResult r = Cli({"policy", "check", "plain"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, expected);
  r = Cli({"run", "plain"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, expected);
  r = Cli({"policy", "check", "plain", "--policy", (tmp_.path() / "missing.toml").string()});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(PolicyCliTest, RunThatWouldAskIsDeniedWithoutATerminal) {
  CliResult r = Cli({"run", "asker", "--json"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("no approver is available"), std::string::npos);
}

}  // namespace
}  // namespace skillrt
