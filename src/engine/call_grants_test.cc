#include "engine/call_grants.h"

#include <sys/stat.h>

#include <gtest/gtest.h>

#include "engine/plan_builder.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::VarTmpDir;
using skillrt::testing::WriteFile;

PathPin Pin(const fs::path& path) { return PathPin{.resolved = path, .directory = true}; }

TEST(CallGrantsTest, StateDirectoryIsNeitherGrantedNorContained) {
  const fs::path state = "/home/u/.skillrt";
  EXPECT_FALSE(CheckStateDirectory(state, Pin("/home/u/.skillrt"), "x"));
  EXPECT_FALSE(CheckStateDirectory(state, Pin("/home/u/.skillrt/envs"), "x"));
  EXPECT_FALSE(CheckStateDirectory(state, Pin("/home/u"), "x"));
  EXPECT_FALSE(CheckStateDirectory(state, Pin("/home"), "x"));
  auto refused = CheckStateDirectory(state, Pin("/home"), "grant write: /home");
  EXPECT_EQ(refused.error().code, ErrorCode::kDenied);
  EXPECT_TRUE(refused.error().message.starts_with("grant write: /home resolves to /home"));
  // By whole components: neighbours are fine.
  EXPECT_TRUE(CheckStateDirectory(state, Pin("/home/u/.skillrt-other"), "x"));
  EXPECT_TRUE(CheckStateDirectory(state, Pin("/home/u/src"), "x"));
  EXPECT_TRUE(CheckStateDirectory({}, Pin("/home"), "x"));
}

class ApplyCallGrantsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    fs::create_directories(home_);
    fs::create_directories(tmp_.path() / "data/sub");
    fs::create_directories(tmp_.path() / "out");
    WriteFile(tmp_.path() / "tool/SKILL.md", "---\nname: tool\ndescription: T.\n---\nT.\n");
    WriteFile(tmp_.path() / "tool/skill.toml",
              "[capabilities]\ncommands = [\"python3\"]\nread = [\"" +
                  (tmp_.path() / "data").string() + "\"]\n");
  }

  VarTmpDir tmp_;
  fs::path home_;
};

TEST_F(ApplyCallGrantsTest, WidensOnlyBeyondTheManifestAndPlansIt) {
  auto skill = LoadSkill(tmp_.path() / "tool");
  ASSERT_TRUE(skill) << skill.error().message;
  Grants call{.commands = {"python3", "sort"},
              .read_paths = {tmp_.path() / "data/sub", tmp_.path() / "out"},
              .write_paths = {tmp_.path() / "out"},
              .limits = {{"wall_time_ms", 90'000}, {"memory_mb", 16}}};
  auto applied = ApplyCallGrants(home_, LockFile{}, call, std::nullopt, *skill);
  ASSERT_TRUE(applied) << applied.error().message;
  // python3 and data/sub the manifest gives already; out is granted once, writable.
  // memory_mb 16 is below the manifest's 256: no widening, and the limit stays.
  EXPECT_EQ(skill->grants.widened, (Grants{.commands = {"sort"},
                                           .write_paths = {tmp_.path() / "out"},
                                           .limits = {{"wall_time_ms", 90'000}}}));
  EXPECT_EQ(skill->manifest.limits.wall_time, std::chrono::milliseconds(90'000));
  EXPECT_EQ(skill->manifest.limits.memory_max_bytes, 256ull << 20);
  EXPECT_EQ(AllowedCommands(skill->manifest), (std::vector<std::string>{"python3", "sort"}));
  const nlohmann::json record = CallGrantsRecord(skill->grants);
  EXPECT_EQ(record["grants"]["widened"]["write"],
            nlohmann::json({(tmp_.path() / "out").string()}));
  EXPECT_FALSE(record.contains("dependencies"));
  EXPECT_EQ(skill->grants.state_dir, fs::canonical(home_));

  auto plan = BuildPlan(*skill, {"sort"}, "", RunOverrides{}, "r1");
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->mounts.size(), 2u);
  EXPECT_EQ(plan->mounts[0].origin, MountOrigin::kManifest);
  EXPECT_EQ(plan->mounts[1].origin, MountOrigin::kGrant);
  EXPECT_TRUE(plan->mounts[1].writable);
  EXPECT_EQ(plan->limits.wall_time, std::chrono::milliseconds(90'000));
  std::vector<std::string> labels;
  for (const PolicyGrant& grant : GrantSubjects(*skill, *plan)) labels.push_back(grant.Label());
  EXPECT_EQ(labels, (std::vector<std::string>{"command sort",
                                              "write " + (tmp_.path() / "out").string(),
                                              "limit wall_time_ms 90000"}));
  const nlohmann::json approval = GrantsForApproval(*skill, *plan);
  EXPECT_EQ(approval["grants"]["commands"], nlohmann::json({"sort"}));
  EXPECT_FALSE(approval.contains("dependencies"));
}

TEST_F(ApplyCallGrantsTest, RefusesBadCallGrantsAndPerCallPackages) {
  auto skill = LoadSkill(tmp_.path() / "tool");
  ASSERT_TRUE(skill);
  auto relative = ApplyCallGrants(home_, LockFile{}, Grants{.read_paths = {"data"}},
                                  std::nullopt, *skill);
  ASSERT_FALSE(relative);
  EXPECT_EQ(relative.error().code, ErrorCode::kInvalidArgument);
  auto python =
      ApplyCallGrants(home_, LockFile{}, Grants{.python = {"six"}}, std::nullopt, *skill);
  ASSERT_FALSE(python);
  EXPECT_EQ(python.error().code, ErrorCode::kInvalidArgument);
  EXPECT_TRUE(CallGrantsRecord(skill->grants).empty());
}

TEST_F(ApplyCallGrantsTest, PlanRefusesAManifestPathContainingTheStateDirectory) {
  WriteFile(tmp_.path() / "tool/skill.toml",
            "[capabilities]\ncommands = [\"python3\"]\nwrite = [\"" + tmp_.path().string() +
                "\"]\n");
  auto skill = LoadSkill(tmp_.path() / "tool");
  ASSERT_TRUE(skill) << skill.error().message;
  ASSERT_TRUE(ApplyCallGrants(home_, LockFile{}, Grants{}, std::nullopt, *skill));
  auto plan = BuildPlan(*skill, {"python3"}, "", RunOverrides{}, "r2");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::kDenied);
  EXPECT_NE(plan.error().message.find("capabilities.write: " + tmp_.path().string()),
            std::string::npos)
      << plan.error().message;
  // Positive control: a plan made outside an engine (no state directory) mounts it.
  skill->grants.state_dir.clear();
  EXPECT_TRUE(BuildPlan(*skill, {"python3"}, "", RunOverrides{}, "r3"));
}

TEST_F(ApplyCallGrantsTest, PlanRefusesASkillDirectoryHoldingTheStateDirectory) {
  const fs::path inner = tmp_.path() / "tool/.state";
  fs::create_directories(inner);
  auto skill = LoadSkill(tmp_.path() / "tool");
  ASSERT_TRUE(skill) << skill.error().message;
  ASSERT_TRUE(ApplyCallGrants(inner, LockFile{}, Grants{}, std::nullopt, *skill));
  auto plan = BuildPlan(*skill, {"python3"}, "", RunOverrides{}, "r4");
  ASSERT_FALSE(plan);
  EXPECT_EQ(plan.error().code, ErrorCode::kDenied);
  EXPECT_NE(plan.error().message.find("contains skillrt's state directory"), std::string::npos)
      << plan.error().message;
  // Positive control: the state directory beside the skill is fine.
  ASSERT_TRUE(ApplyCallGrants(home_, LockFile{}, Grants{}, std::nullopt, *skill));
  EXPECT_TRUE(BuildPlan(*skill, {"python3"}, "", RunOverrides{}, "r5"));
}

}  // namespace
}  // namespace skillrt
