#include "sandbox/linux/exec_path.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include "sandbox/linux/mount.h"
#include "test_util.h"

namespace skillrt::exec_path {
namespace {

using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

Plan PlanFor(const std::filesystem::path& dir) {
  Plan plan;
  plan.skill_dir = dir;
  plan.env = {"PATH=/usr/local/bin:/usr/bin:/bin"};
  return plan;
}

TEST(ExecPathTest, MapsSandboxPathsToTheirHostBacking) {
  Plan plan = PlanFor("/srv/skills/demo");
  plan.mounts.push_back({.path = "/data/in"});
  EXPECT_EQ(HostPathOf(plan, "/skill/scripts/run.py"), "/srv/skills/demo/scripts/run.py");
  EXPECT_EQ(HostPathOf(plan, "/skill"), "/srv/skills/demo");
  EXPECT_EQ(HostPathOf(plan, "/usr/bin/python3"), "/usr/bin/python3");
  EXPECT_EQ(HostPathOf(plan, "/data/in/x"), "/data/in/x");
  // Not executable territory, or not visible at all.
  EXPECT_EQ(HostPathOf(plan, "/tmp/x"), std::nullopt);
  EXPECT_EQ(HostPathOf(plan, "/etc/passwd"), std::nullopt);
  EXPECT_EQ(HostPathOf(plan, "/skillet/x"), std::nullopt);
  EXPECT_EQ(HostPathOf(plan, "/data/inner"), std::nullopt);
  EXPECT_EQ(HostPathOf(plan, "relative"), std::nullopt);
}

TEST(ExecPathTest, ResolvesNamesOnThePlanPath) {
  TempDir dir;
  Plan plan = PlanFor(dir.path());
  EXPECT_EQ(Resolve(plan, "sh"), "/usr/bin/sh");
  EXPECT_EQ(Resolve(plan, "no-such-command-anywhere"), std::nullopt);
  plan.env = {"PATH=/nonexistent"};
  EXPECT_EQ(Resolve(plan, "sh"), std::nullopt);
}

// `python` is an alias in /skillrt/bin, backed by the host's python3 (mount.h, AliasTarget).
TEST(ExecPathTest, ThePythonAliasIsBackedByPython3) {
  if (!mount::AliasTarget("python")) GTEST_SKIP() << "no python3 on this host";
  TempDir dir;
  Plan plan = PlanFor(dir.path());
  plan.env = {"PATH=/skillrt/bin:/usr/local/bin:/usr/bin:/bin"};
  EXPECT_EQ(Resolve(plan, "python"), "/skillrt/bin/python");
  EXPECT_EQ(HostPathOf(plan, "/skillrt/bin/python"), mount::AliasTarget("python"));
  EXPECT_EQ(HostPathOf(plan, "/skillrt/bin/sh"), std::nullopt);
  EXPECT_EQ(HostPathOf(plan, "/skillrt/bin"), std::nullopt);
  // Its closure is the program and its loader, as for python3 itself.
  const std::vector<std::string> closure = Closure(plan, "/skillrt/bin/python");
  ASSERT_FALSE(closure.empty());
  EXPECT_EQ(closure.front(), "/skillrt/bin/python");
}

TEST(ExecPathTest, ResolvesRelativePathsAgainstTheSkill) {
  TempDir dir;
  WriteFile(dir.path() / "scripts/run.sh", "#!/bin/sh\necho hi\n");
  WriteFile(dir.path() / "scripts/data.txt", "not executable\n");
  ::chmod((dir.path() / "scripts/run.sh").c_str(), 0755);
  Plan plan = PlanFor(dir.path());
  EXPECT_EQ(Resolve(plan, "scripts/run.sh"), "/skill/scripts/run.sh");
  EXPECT_EQ(Resolve(plan, "./scripts/run.sh"), "/skill/scripts/run.sh");
  EXPECT_EQ(Resolve(plan, "/skill/scripts/run.sh"), "/skill/scripts/run.sh");
  EXPECT_EQ(Resolve(plan, "scripts/data.txt"), std::nullopt);
  // `..` walks the sandbox's tree, not the host's: from /skill it reaches the sandbox's own
  // /usr, and paths that hold nothing executable in the sandbox resolve to nothing.
  EXPECT_EQ(Resolve(plan, "../../../../usr/bin/sh"), "/usr/bin/sh");
  EXPECT_EQ(Resolve(plan, "../etc/shadow"), std::nullopt);
  EXPECT_EQ(Resolve(plan, "../tmp/x"), std::nullopt);
}

TEST(ExecPathTest, ClosureFollowsShebangAndEnvAndElfInterpreter) {
  TempDir dir;
  WriteFile(dir.path() / "a.sh", "#!/bin/sh\n");
  WriteFile(dir.path() / "b.py", "#!/usr/bin/env sh -e\n");
  ::chmod((dir.path() / "a.sh").c_str(), 0755);
  ::chmod((dir.path() / "b.py").c_str(), 0755);
  Plan plan = PlanFor(dir.path());

  std::vector<std::string> a = Closure(plan, "/skill/a.sh");
  ASSERT_GE(a.size(), 2u);
  EXPECT_EQ(a[0], "/skill/a.sh");
  EXPECT_EQ(a[1], "/bin/sh");
  // /bin/sh is a dynamically linked ELF program: its loader must be executable too.
  EXPECT_TRUE(std::any_of(a.begin(), a.end(), [](const std::string& p) {
    return p.find("ld-linux") != std::string::npos;
  }));

  std::vector<std::string> b = Closure(plan, "/skill/b.py");
  EXPECT_NE(std::find(b.begin(), b.end(), "/usr/bin/env"), b.end());
  EXPECT_NE(std::find(b.begin(), b.end(), "/usr/bin/sh"), b.end());
}

TEST(ExecPathTest, ClosureOfAMissingFileIsEmpty) {
  TempDir dir;
  EXPECT_TRUE(Closure(PlanFor(dir.path()), "/skill/missing").empty());
}

}  // namespace
}  // namespace skillrt::exec_path
