// The policy's view of user grants (docs/policy.md, "Grants"): each widening is a subject
// that asks by default, that call rules do not decide, and that only a rule with the
// `grants` selector allows.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "skillrt/policy.h"

namespace skillrt {
namespace {

Policy Parse(const std::string& text) {
  auto policy = ParsePolicy(text, "/h/policy.toml", PolicyLayer::kUser,
                            PolicyVariables{.workspace = "/work/proj", .home = "/home/u"});
  EXPECT_TRUE(policy.has_value()) << policy.error().ToString();
  return policy ? *policy : Policy{};
}

// A call of `calc` that a grant widened with git and a writable repository.
PolicyRequest Granted() {
  return PolicyRequest{.skill = "calc",
                       .kind = "exec",
                       .write = {"/home/u/repo"},
                       .commands = {"python3", "git"},
                       .grants = {{.kind = PolicyGrant::Kind::kCommand, .value = "git"},
                                  {.kind = PolicyGrant::Kind::kWrite, .value = "/home/u/repo"}}};
}

const PolicyMatch* Find(const PolicyDecision& d, std::string_view subject) {
  for (const PolicyMatch& m : d.rules) {
    if (m.subject == subject) return &m;
  }
  return nullptr;
}

TEST(PolicyGrantsTest, EachGrantAsksByDefault) {
  const PolicyDecision d = EvaluatePolicy(Policy{}, Granted());
  EXPECT_EQ(d.effect, PolicyEffect::kAsk);
  const PolicyMatch* git = Find(d, "grant command git");
  ASSERT_NE(git, nullptr);
  EXPECT_EQ(git->name, "default-grant");
  EXPECT_EQ(git->effect, PolicyEffect::kAsk);
  ASSERT_NE(Find(d, "grant write /home/u/repo"), nullptr);
  // Positive control: the same call without the grants is allowed but for the write path.
  PolicyRequest plain = Granted();
  plain.grants.clear();
  plain.write.clear();
  EXPECT_EQ(EvaluatePolicy(Policy{}, plain).effect, PolicyEffect::kAllow);
}

TEST(PolicyGrantsTest, CallRulesDoNotDecideGrants) {
  Policy p = Parse(R"(
[[rule]]
name = "trust-calc"
effect = "allow"
skills = ["calc"]
)");
  const PolicyDecision d = EvaluatePolicy(p, Granted());
  EXPECT_EQ(d.effect, PolicyEffect::kAsk);
  EXPECT_EQ(Find(d, "grant command git")->name, "default-grant");
  // The declared write is the call rule's to allow.
  EXPECT_EQ(Find(d, "write /home/u/repo")->name, "trust-calc");
}

TEST(PolicyGrantsTest, AGrantsRuleAllowsWhatItNames) {
  Policy p = Parse(R"(
[[rule]]
name = "repo-grants"
effect = "allow"
grants = true
commands = ["git"]
write = ["{home}/repo/**"]
)");
  EXPECT_EQ(EvaluatePolicy(p, Granted()).effect, PolicyEffect::kAllow);

  // A grant of another kind or path is not matched by it.
  PolicyRequest other = Granted();
  other.grants.push_back({.kind = PolicyGrant::Kind::kRead, .value = "/srv/data"});
  other.read.push_back("/srv/data");
  const PolicyDecision d = EvaluatePolicy(p, other);
  EXPECT_EQ(d.effect, PolicyEffect::kAsk);
  EXPECT_EQ(Find(d, "grant read /srv/data")->name, "default-grant");

  // `grants = true` alone matches every grant.
  Policy all = Parse("[[rule]]\nname = \"all\"\neffect = \"allow\"\ngrants = true\n");
  const PolicyDecision all_d = EvaluatePolicy(all, Granted());
  EXPECT_EQ(Find(all_d, "grant command git")->name, "all");
  // ...but not the write itself, which default-write still asks about.
  EXPECT_EQ(all_d.effect, PolicyEffect::kAsk);
  EXPECT_EQ(Find(all_d, "write /home/u/repo")->name, "default-write");
}

TEST(PolicyGrantsTest, DenyRulesReachGrants) {
  Policy p = Parse(R"(
[[rule]]
name = "grants-ok"
effect = "allow"
grants = true

[[rule]]
name = "no-git-grants"
effect = "deny"
grants = true
commands = ["git"]
)");
  const PolicyDecision d = EvaluatePolicy(p, Granted());
  EXPECT_EQ(d.effect, PolicyEffect::kDeny);
  EXPECT_NE(d.Summary().find("no-git-grants"), std::string::npos) << d.Summary();
}

TEST(PolicyGrantsTest, RaisedLimitsOnlyByARuleWithoutLists) {
  PolicyRequest r = Granted();
  r.grants = {{.kind = PolicyGrant::Kind::kLimit, .value = "wall_time_ms 600000"}};
  Policy named = Parse("[[rule]]\nname = \"git\"\neffect = \"allow\"\ngrants = true\n"
                       "commands = [\"git\"]\n");
  const PolicyDecision d = EvaluatePolicy(named, r);
  EXPECT_EQ(Find(d, "grant limit wall_time_ms 600000")->name, "default-grant");
  Policy all = Parse("[[rule]]\nname = \"all\"\neffect = \"allow\"\ngrants = true\n");
  EXPECT_EQ(Find(EvaluatePolicy(all, r), "grant limit wall_time_ms 600000")->name, "all");
}

TEST(PolicyGrantsTest, GrantsSelectorIsStrict) {
  for (const char* text : {"[[rule]]\neffect = \"allow\"\ngrants = false\n",
                           "[[rule]]\neffect = \"allow\"\ngrants = \"yes\"\n"}) {
    auto policy = ParsePolicy(text, "/h/policy.toml", PolicyLayer::kUser, PolicyVariables{});
    ASSERT_FALSE(policy) << text;
    EXPECT_NE(policy.error().message.find("rule[1].grants"), std::string::npos)
        << policy.error().message;
  }
}

}  // namespace
}  // namespace skillrt
