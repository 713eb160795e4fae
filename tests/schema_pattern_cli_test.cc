// Input-schema patterns through the built CLI (SKILLRT_CLI_PATH): a pattern that makes a
// backtracking engine run for hours on a short input is decided at once, and a pattern the
// linear-time engine cannot express is refused when the manifest is validated.
#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::CliResult;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class SchemaPatternCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills.
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
  }

  // A skill whose input is {"s": STRING} with `pattern` (TOML basic-string text) on s; it
  // prints {"ok": true}.
  fs::path WriteSkill(const std::string& name, const std::string& pattern) {
    const fs::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md",
              "---\nname: " + name + "\ndescription: Checks a pattern.\n---\n# Pattern\n");
    WriteFile(dir / "skill.toml",
              "[entry]\nargv = [\"python3\", \"-c\", \"print('{\\\"ok\\\": true}')\"]\n"
              "input_schema = { type = \"object\", properties = { s = { type = \"string\", "
              "pattern = \"" +
                  pattern + "\" } } }\n[capabilities]\ncommands = [\"python3\"]\n");
    return dir;
  }

  CliResult Cli(const std::vector<std::string>& args) {
    std::vector<std::string> all = {"--skills", skills_.string()};
    all.insert(all.end(), args.begin(), args.end());
    return RunCli(tmp_.path(), home_, all);
  }

  TempDir tmp_;
  fs::path home_, skills_;
};

// ^(a|aa)+$ took 89 s on 45 characters with std::regex, before any sandbox or limit applied;
// 60 characters would take hours. A regression fails here by the test's time limit.
TEST_F(SchemaPatternCliTest, CatastrophicPatternIsDecidedAtOnce) {
  WriteSkill("slow", "^(a|aa)+$");
  CliResult refused = Cli({"run", "slow", "--input", "{\"s\": \"" + std::string(60, 'a') + "!\"}"});
  EXPECT_EQ(refused.exit_code, 2) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("input at /s: "), std::string::npos) << refused.err;
  EXPECT_NE(refused.err.find(" does not match the pattern \"^(a|aa)+$\""), std::string::npos)
      << refused.err;
  // Positive control: a string the pattern matches passes the check and the skill runs (or
  // the run stops later, for want of a sandbox, not at the input).
  CliResult passed = Cli({"run", "slow", "--input", "{\"s\": \"" + std::string(60, 'a') + "\"}"});
  EXPECT_EQ(passed.err.find("does not match"), std::string::npos) << passed.err;
  if (passed.exit_code != 70) {
    EXPECT_EQ(passed.exit_code, 0) << passed.err;
    EXPECT_NE(passed.out.find("\"ok\": true"), std::string::npos) << passed.out;
  }
}

TEST_F(SchemaPatternCliTest, BackreferenceIsRefusedWhenTheManifestIsValidated) {
  const fs::path dir = WriteSkill("backref", "^(a)\\\\1$");
  CliResult validate = Cli({"validate", dir.string()});
  EXPECT_EQ(validate.exit_code, 1) << validate.out << validate.err;
  EXPECT_NE(validate.out.find("/properties/s/pattern: a backreference \\1 at character 5 is not "
                              "supported: patterns are matched in linear time (RE2), without "
                              "backreferences or lookaround"),
            std::string::npos)
      << validate.out;
  CliResult run = Cli({"run", "backref", "--input", "{\"s\": \"aa\"}"});
  EXPECT_EQ(run.exit_code, 2) << run.err;
  EXPECT_NE(run.err.find("backreference"), std::string::npos) << run.err;
  // Positive control: the same skill with a pattern RE2 can run validates.
  const fs::path good = WriteSkill("plain", "^(a)a$");
  CliResult ok = Cli({"validate", good.string()});
  EXPECT_EQ(ok.exit_code, 0) << ok.out << ok.err;
}

}  // namespace
}  // namespace skillrt
