// The script rule: an inferred interpreter starts only to run a file of the skill.
#include "gate/script_rule.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

class ScriptRuleTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WriteFile(dir() / "scripts/x.py", "print(1)\n");
    WriteFile(dir() / "scripts/run.sh", "echo\n");
    WriteFile(dir() / "scripts/pkg/__main__.py", "");
    WriteFile(dir() / "tool.js", "");
    fs::create_directories(dir() / "scripts/sub");
    WriteFile(tmp_.path() / "outside.py", "");
    fs::create_symlink(tmp_.path() / "outside.py", dir() / "scripts/link.py");
    fs::create_directory_symlink(dir() / "scripts", dir() / "alias");
  }
  fs::path dir() const { return tmp_.path() / "skill"; }

  // The script rule's verdict on a shell line with python3, python, bash, sh and node
  // inferred; "ok" or the message.
  std::string Check(std::string_view line, std::string_view cwd = kSandboxSkillDir) {
    auto parsed = ParseShell(line);
    if (!parsed) return "unparsable: " + parsed.error().message;
    auto ok = CheckScriptRule(*parsed, {"python3", "python", "bash", "sh", "node"}, dir(), cwd);
    return ok ? "ok" : ok.error().message;
  }
  bool Allowed(std::string_view line) { return Check(line) == "ok"; }

  TempDir tmp_;
};

TEST_F(ScriptRuleTest, SkillFileOfResolvesInsideTheSkillOnly) {
  EXPECT_EQ(SkillFileOf("scripts/x.py", dir(), "/skill").value(), dir() / "scripts/x.py");
  EXPECT_EQ(SkillFileOf("./scripts/../scripts/x.py", dir(), "/skill").value(),
            dir() / "scripts/x.py");
  EXPECT_EQ(SkillFileOf("/skill/scripts/x.py", dir(), "/tmp").value(), dir() / "scripts/x.py");
  EXPECT_EQ(SkillFileOf("$SKILL_DIR/scripts/x.py", dir(), "/tmp").value(),
            dir() / "scripts/x.py");
  EXPECT_EQ(SkillFileOf("${SKILL_DIR}/tool.js", dir(), "/tmp").value(), dir() / "tool.js");
  EXPECT_EQ(SkillFileOf("x.py", dir(), "/skill/scripts").value(), dir() / "scripts/x.py");

  for (std::string_view bad : {"../outside.py", "/skill/../outside.py", "/tmp/x.py", "",
                               "scripts", "scripts/missing.py", "scripts/link.py",
                               "alias/x.py", "/skill", "/skillx/scripts/x.py"}) {
    auto file = SkillFileOf(bad, dir(), "/skill");
    ASSERT_FALSE(file.has_value()) << bad;
    EXPECT_EQ(file.error().code, ErrorCode::kDenied);
  }
  // A relative path from a working directory outside the skill names no file of it.
  EXPECT_FALSE(SkillFileOf("scripts/x.py", dir(), "/tmp").has_value());
  EXPECT_NE(SkillFileOf("scripts/link.py", dir(), "/skill").error().message.find("symbolic link"),
            std::string::npos);
}

TEST_F(ScriptRuleTest, AllowsInterpretersRunningTheSkillsFiles) {
  EXPECT_EQ(Check("python3 scripts/x.py --in a.pdf"), "ok");
  EXPECT_TRUE(Allowed("python scripts/x.py"));
  EXPECT_TRUE(Allowed("python3 -u -B scripts/x.py"));
  EXPECT_TRUE(Allowed("python3 -- scripts/x.py -c x"));
  EXPECT_TRUE(Allowed("python3 /skill/scripts/x.py"));
  EXPECT_TRUE(Allowed("python3 \"$SKILL_DIR/scripts/x.py\""));
  EXPECT_TRUE(Allowed("python3 -m scripts.pkg"));
  EXPECT_TRUE(Allowed("bash scripts/run.sh && sh -e scripts/run.sh"));
  EXPECT_TRUE(Allowed("node tool.js"));
  EXPECT_TRUE(Allowed("python3 scripts/x.py | python3 scripts/x.py"));
  // Any PYTHON* variable is refused, the harmless ones too: the rule is a prefix.
  EXPECT_FALSE(Allowed("PYTHONUNBUFFERED=1 python3 scripts/x.py"));
  // Commands that are not script-only are not this rule's business.
  EXPECT_TRUE(Allowed("jq . x.json"));
  // An absolute path works after a change of directory.
  EXPECT_TRUE(Allowed("cd /tmp && python3 /skill/scripts/x.py"));
}

TEST_F(ScriptRuleTest, RefusesEverythingElse) {
  EXPECT_EQ(Check("python3 -c 'import os'"),
            "'python3 -c import os' is refused: 'python3' is allowed only to run a file of the "
            "skill, and it uses the option '-c', which is not one that only changes how a file "
            "runs");
  for (std::string_view line : {
           "python3",                          // Interactive.
           "python3 -",                        // stdin.
           "python3 /tmp/x.py",                // Not the skill's.
           "python3 ../outside.py",            // Escapes by "..".
           "python3 scripts/link.py",          // Through a symlink.
           "python3 alias/x.py",               // Through a symlinked directory.
           "python3 scripts/missing.py",       // No such file.
           "python3 scripts",                  // A directory.
           "python3 -m json.tool",             // Not a module of the skill.
           "python3 -I -m scripts.pkg",        // -I drops the working directory.
           "python3 -W error scripts/x.py",    // An option outside the table.
           "PYTHONPATH=/tmp python3 scripts/x.py",
           "NODE_OPTIONS=--require=/tmp/x node tool.js",
           "env PYTHONSTARTUP=/tmp/x python3 scripts/x.py",
           "BASH_ENV=/tmp/x bash scripts/run.sh",
           "bash -c 'echo hi'",
           "sh -s < scripts/run.sh",
           "node -e 1",
           "node --require /tmp/x tool.js",
           "find . -name '*.py' -exec python3 {} \\;",
           "cd scripts && python3 x.py",       // Relative after cd.
           "cd /tmp; python3 scripts/x.py",
           "env -C /tmp python3 scripts/x.py",
           "echo $(python3 -c 1)",
       }) {
    std::string verdict = Check(line);
    EXPECT_NE(verdict, "ok") << line;
    EXPECT_EQ(verdict.find("unparsable"), std::string::npos) << line << ": " << verdict;
  }
  EXPECT_NE(Check("cd scripts && python3 x.py").find("name it as /skill/..."), std::string::npos);
}

TEST_F(ScriptRuleTest, RelativePathsFollowTheWorkingDirectory) {
  // From a working directory outside the skill a relative operand is not the skill's file.
  EXPECT_NE(Check("python3 scripts/x.py", "/work"), "ok");
  EXPECT_EQ(Check("python3 /skill/scripts/x.py", "/work"), "ok");
  EXPECT_EQ(Check("python3 x.py", "/skill/scripts"), "ok");
}

TEST(ScriptOnlyCommandsTest, FullGrantsWin) {
  Manifest manifest;
  manifest.script_commands = {InferredCommand{.command = "python3"},
                              InferredCommand{.command = "python"},
                              InferredCommand{.command = "bash"}};
  manifest.capabilities.commands = {"bash", "jq"};
  EXPECT_EQ(ScriptOnlyCommands(manifest), (std::vector<std::string>{"python3", "python"}));
  EXPECT_TRUE(ScriptOnlyCommands(Manifest{}).empty());
}

}  // namespace
}  // namespace skillrt
