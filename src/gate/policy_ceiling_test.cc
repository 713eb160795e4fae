// Limit ceilings: a run asking for more of the machine than the host's ceiling is not least
// privilege; the policy decides each limit above it (include/skillrt/policy.h).
#include <gtest/gtest.h>

#include "skillrt/policy.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

PolicyRequest WithLimits(Limits limits) {
  PolicyRequest request;
  request.skill = "big";
  request.limits = limits;
  return request;
}

TEST(PolicyCeilingTest, LimitsAboveTheCeilingAsk) {
  const Policy none;
  Limits huge;
  huge.memory_max_bytes = 64ull << 30;
  huge.pids_max = 4096;
  huge.wall_time = std::chrono::hours(24);
  huge.output_max_bytes = 1ull << 30;
  const PolicyDecision d = EvaluatePolicy(none, WithLimits(huge));
  EXPECT_EQ(d.effect, PolicyEffect::kAsk) << d.Summary();
  int limits = 0;
  for (const PolicyMatch& m : d.Deciding()) {
    if (m.subject.starts_with("limit ")) ++limits;
  }
  EXPECT_EQ(limits, 4) << d.Summary();
  EXPECT_NE(d.Summary().find("(ceiling "), std::string::npos) << d.Summary();
}

// Positive control: the manifest defaults and limits at a ceiling are least privilege.
TEST(PolicyCeilingTest, LimitsAtOrBelowTheCeilingAreAllowed) {
  const Policy none;
  EXPECT_EQ(EvaluatePolicy(none, WithLimits(Limits{})).effect, PolicyEffect::kAllow);
  EXPECT_EQ(EvaluatePolicy(none, WithLimits(DefaultLimitCeilings())).effect,
            PolicyEffect::kAllow);
}

TEST(PolicyCeilingTest, CeilingsComeFromTheUserPolicyAndProjectsOnlyLowerThem) {
  TempDir home, project;
  WriteFile(home.path() / "policy.toml",
            "version = 1\n[ceilings]\nmemory_mb = 16384\nprocesses = 64\n");
  WriteFile(project.path() / ".skillrt" / "policy.toml",
            "version = 1\n[ceilings]\nmemory_mb = 32768\nprocesses = 32\n");
  auto policy = LoadPolicy(home.path(), PolicyOptions{.workspace = project.path(),
                                                      .project = true});
  ASSERT_TRUE(policy) << policy.error().ToString();
  EXPECT_EQ(policy->ceilings.memory_max_bytes, 16384ull << 20);  // The project cannot raise it.
  EXPECT_EQ(policy->ceilings.pids_max, 32u);                     // But it can lower it.
  Limits eight_gib;
  eight_gib.memory_max_bytes = 8ull << 30;
  eight_gib.pids_max = 16;
  EXPECT_EQ(EvaluatePolicy(*policy, WithLimits(eight_gib)).effect, PolicyEffect::kAllow);
}

TEST(PolicyCeilingTest, BadCeilingsAreClearErrors) {
  for (const char* text : {"version = 1\n[ceilings]\nmemory = 5\n",
                           "version = 1\n[ceilings]\nmemory_mb = -1\n",
                           "version = 1\n[ceilings]\nmemory_mb = \"big\"\n",
                           "version = 1\nceilings = 3\n"}) {
    auto policy = ParsePolicy(text, "/h/policy.toml", PolicyLayer::kUser, PolicyVariables{});
    ASSERT_FALSE(policy) << text;
    EXPECT_EQ(policy.error().code, ErrorCode::kValidation) << policy.error().ToString();
    EXPECT_NE(policy.error().message.find("ceilings"), std::string::npos)
        << policy.error().message;
  }
}

// A call rule that allows the skill allows its limits too; one that denies it denies them.
TEST(PolicyCeilingTest, CallRulesDecideLimits) {
  auto policy = ParsePolicy("version = 1\n[[rule]]\nname = \"trusted\"\nskills = [\"big\"]\n"
                            "effect = \"allow\"\nreason = \"ours\"\n",
                            "/h/policy.toml", PolicyLayer::kUser, PolicyVariables{});
  ASSERT_TRUE(policy) << policy.error().ToString();
  Limits huge;
  huge.memory_max_bytes = 64ull << 30;
  EXPECT_EQ(EvaluatePolicy(*policy, WithLimits(huge)).effect, PolicyEffect::kAllow);
}

}  // namespace
}  // namespace skillrt
