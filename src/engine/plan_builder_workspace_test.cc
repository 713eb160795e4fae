// The plan builder's side of workspaces, command aliases and skill scripts.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/plan_builder.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::TempDir;
using skillrt::testing::VarTmpDir;
using skillrt::testing::WriteFile;

Skill MakeSkill(const fs::path& dir) {
  Skill skill;
  skill.dir = dir;
  skill.meta.name = "pdf";
  skill.meta.description = "Fills PDF forms.";
  skill.manifest.capabilities.commands = {"python3"};
  skill.tree_sha256 = std::string(64, '0');
  return skill;
}

RunOverrides InWorkspace(const fs::path& dir) {
  RunOverrides overrides;
  overrides.workspace = dir;
  return overrides;
}

Result<Plan> PlanIn(const Skill& skill, const fs::path& workspace,
                    std::vector<std::string> argv = {"python3", "-c", "1"}) {
  return BuildPlan(skill, std::move(argv), "", InWorkspace(workspace), "run-1");
}

TEST(WorkspacePlanTest, IsAPinnedWritableMountAtItsOwnPath) {
  TempDir skill_dir;
  VarTmpDir workspace;
  auto plan = PlanIn(MakeSkill(skill_dir.path()), workspace.path() / "." / "");
  ASSERT_TRUE(plan) << plan.error().ToString();
  ASSERT_EQ(plan->mounts.size(), 1u);
  const BindMount& mount = plan->mounts[0];
  EXPECT_TRUE(mount.workspace);
  EXPECT_TRUE(mount.writable);
  EXPECT_EQ(mount.path, workspace.path());
  ASSERT_TRUE(mount.pin);
  EXPECT_EQ(mount.pin->resolved, fs::canonical(workspace.path()));
  EXPECT_TRUE(mount.pin->directory);
  EXPECT_EQ(plan->exec_profile, ExecProfile::kSystem);
}

TEST(WorkspacePlanTest, ALinkedWorkspaceIsJudgedByItsTarget) {
  TempDir skill_dir;
  VarTmpDir workspace;
  fs::create_directory(workspace.path() / "real");
  fs::create_directory_symlink(workspace.path() / "real", workspace.path() / "link");
  auto plan = PlanIn(MakeSkill(skill_dir.path()), workspace.path() / "link");
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->mounts[0].path, workspace.path() / "link");
  EXPECT_EQ(plan->mounts[0].pin->resolved, fs::canonical(workspace.path() / "real"));
}

TEST(WorkspacePlanTest, BadWorkspacesAreRefusedByName) {
  VarTmpDir skill_dir;  // Not under /tmp, so that overlapping it is what is refused.
  TempDir in_tmp;
  VarTmpDir workspace;
  WriteFile(workspace.path() / "file", "x");
  const Skill skill = MakeSkill(skill_dir.path());
  struct Case {
    fs::path path;
    ErrorCode code;
    std::string words;
  };
  const std::vector<Case> cases = {
      {"relative/dir", ErrorCode::kInvalidArgument, "is not an absolute path"},
      {workspace.path() / "missing", ErrorCode::kNotFound, "does not exist"},
      {workspace.path() / "file", ErrorCode::kInvalidArgument, "is not a directory"},
      {"/etc", ErrorCode::kDenied, "reserved host path"},
      {skill_dir.path(), ErrorCode::kInvalidArgument, "overlaps the skill's own directory"},
      {in_tmp.path(), ErrorCode::kDenied, "reserved host path"},  // The host's /tmp.
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.path.string());
    auto plan = PlanIn(skill, c.path);
    ASSERT_FALSE(plan);
    EXPECT_EQ(plan.error().code, c.code) << plan.error().ToString();
    EXPECT_NE(plan.error().message.find(c.words), std::string::npos) << plan.error().message;
    EXPECT_NE(plan.error().message.find("workspace"), std::string::npos) << plan.error().message;
  }
  // A skill inside the workspace would be writable through it.
  fs::create_directories(workspace.path() / "skills" / "pdf");
  auto nested = PlanIn(MakeSkill(workspace.path() / "skills" / "pdf"), workspace.path());
  ASSERT_FALSE(nested);
  EXPECT_NE(nested.error().message.find("overlaps"), std::string::npos);
  // Control: a sibling directory of that skill is a workspace.
  fs::create_directories(workspace.path() / "docs");
  EXPECT_TRUE(PlanIn(MakeSkill(workspace.path() / "skills" / "pdf"), workspace.path() / "docs"));
}

TEST(WorkspacePlanTest, OnlyNativeSkillsHaveOne) {
  TempDir skill_dir;
  VarTmpDir workspace;
  Skill skill = MakeSkill(skill_dir.path());
  skill.manifest.runtime = RuntimeKind::kWasm;
  auto plan = PlanIn(skill, workspace.path());
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(plan.error().message.find("native skills only"), std::string::npos);
}

TEST(WorkspacePlanTest, TheSkillsScriptIsFoundWhileDataStaysRelative) {
  TempDir skill_dir;
  VarTmpDir workspace;
  WriteFile(skill_dir.path() / "scripts" / "fill.py", "print(1)\n");
  WriteFile(skill_dir.path() / "shared.py", "print(1)\n");
  WriteFile(workspace.path() / "shared.py", "print(2)\n");
  WriteFile(workspace.path() / "form.pdf", "%PDF");
  const Skill skill = MakeSkill(skill_dir.path());
  struct Case {
    std::vector<std::string> argv;
    std::vector<std::string> want;
  };
  const std::vector<Case> cases = {
      {{"python", "scripts/fill.py", "form.pdf", "out.pdf"},
       {"python", "/skill/scripts/fill.py", "form.pdf", "out.pdf"}},
      {{"python3", "-u", "./scripts/fill.py"}, {"python3", "-u", "/skill/scripts/fill.py"}},
      // Not the skill's: data in the workspace, a file in both (the workspace's wins), a path
      // leaving the skill directory, an absolute path, a later operand.
      {{"python", "form.pdf"}, {"python", "form.pdf"}},
      {{"python", "shared.py"}, {"python", "shared.py"}},
      {{"python", "../x/scripts/fill.py"}, {"python", "../x/scripts/fill.py"}},
      {{"python", "/skill/scripts/fill.py"}, {"python", "/skill/scripts/fill.py"}},
      {{"python", "form.pdf", "scripts/fill.py"}, {"python", "form.pdf", "scripts/fill.py"}},
  };
  for (const Case& c : cases) {
    auto plan = PlanIn(skill, workspace.path(), c.argv);
    ASSERT_TRUE(plan) << plan.error().ToString();
    EXPECT_EQ(plan->argv, c.want) << c.argv[1];
  }
  // Without a workspace the skill directory is the working directory: nothing changes.
  auto plain = BuildPlan(skill, {"python", "scripts/fill.py"}, "", RunOverrides{}, "run-2");
  ASSERT_TRUE(plain);
  EXPECT_EQ(plain->argv, (std::vector<std::string>{"python", "scripts/fill.py"}));
}

TEST(CommandAliasTest, PythonAndPython3AreOneCommand) {
  static_assert(SameCommand("python", "python3") && SameCommand("python3", "python"));
  static_assert(!SameCommand("python", "python2") && !SameCommand("/usr/bin/python", "python3"));
  EXPECT_TRUE(IsCommandAllowed({"python3"}, "python"));
  EXPECT_TRUE(IsCommandAllowed({"python"}, "python3"));
  EXPECT_FALSE(IsCommandAllowed({"python3"}, "/skillrt/bin/python"));
  EXPECT_FALSE(IsCommandAllowed({"python3"}, "./python"));
  EXPECT_FALSE(IsCommandAllowed({"bash"}, "python"));
  TempDir skill_dir;
  ExecRequest request;
  request.skill = "pdf";
  request.argv = {"python", "-V"};
  auto plan = BuildExecPlan(MakeSkill(skill_dir.path()), request, "run-3");
  ASSERT_TRUE(plan) << plan.error().ToString();
  EXPECT_EQ(plan->env.front(), "PATH=/skillrt/bin:/usr/local/bin:/usr/bin:/bin");
}

}  // namespace
}  // namespace skillrt
