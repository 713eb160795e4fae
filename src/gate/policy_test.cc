#include "skillrt/policy.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

PolicyVariables Vars() {
  return PolicyVariables{.workspace = "/work/proj", .home = "/home/u"};
}

Policy Parse(const std::string& text, PolicyLayer layer = PolicyLayer::kUser) {
  auto policy = ParsePolicy(text, "/h/policy.toml", layer, Vars());
  EXPECT_TRUE(policy.has_value()) << policy.error().ToString();
  return policy ? *policy : Policy{};
}

std::string ParseError(const std::string& text, PolicyLayer layer = PolicyLayer::kUser) {
  auto policy = ParsePolicy(text, "/h/policy.toml", layer, Vars());
  EXPECT_FALSE(policy.has_value()) << text;
  return policy ? "" : policy.error().message;
}

PolicyRequest Least(const std::string& skill = "calc") {
  return PolicyRequest{.skill = skill, .commands = {"python3"}};
}

TEST(GlobTest, Names) {
  struct Case {
    const char* pattern;
    const char* text;
    bool match;
  };
  const std::vector<Case> cases = {
      {"calc", "calc", true},        {"calc", "calc2", false},    {"c*", "calc", true},
      {"*", "", true},               {"c?lc", "calc", true},      {"c?lc", "clc", false},
      {"data-*-prod", "data-x-prod", true}, {"data-*-prod", "data-x-dev", false},
      {"\\*", "*", true},            {"\\*", "a", false},
      {"git push*", "git push -f", true},
      {"git push*", "git pull", false}, {"rm *", "rm -rf /x", true}, {"*a*b*c*", "xaxbxcx", true},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(NameGlobMatch(c.pattern, c.text), c.match) << c.pattern << " ~ " << c.text;
  }
}

TEST(GlobTest, Paths) {
  struct Case {
    const char* pattern;
    const char* path;
    bool match;
  };
  const std::vector<Case> cases = {
      {"/data", "/data", true},
      {"/data", "/data/x", false},
      {"/data/*", "/data/x", true},
      {"/data/*", "/data/x/y", false},  // * stays within one component.
      {"/data/**", "/data/x/y", true},
      {"/data/**", "/data", true},  // A trailing /** covers the directory itself.
      {"/data/**", "/database", false},
      {"/a/**/z", "/a/z", true},
      {"/a/**/z", "/a/b/c/z", true},
      {"/a/**/z", "/a/b/c/y", false},
      {"/data/", "/data", true},  // Both sides are normalized.
      {"/a/./b", "/a/b", true},
      {"!/work/proj/**", "/work/proj/out", false},
      {"!/work/proj/**", "/work/other", true},
      {"!/work/proj/**", "/work/project", true},
      {"/h/*.csv", "/h/a.csv", true},
      {"/h/?.csv", "/h/ab.csv", false},
  };
  for (const Case& c : cases) {
    EXPECT_EQ(PathGlobMatch(c.pattern, c.path), c.match) << c.pattern << " ~ " << c.path;
  }
}

TEST(GlobTest, ManyStarsStayFast) {
  std::string pattern(200, '*');
  pattern += "b";
  EXPECT_FALSE(NameGlobMatch(pattern, std::string(2000, 'a')));
  EXPECT_FALSE(PathGlobMatch("/" + std::string(100, '*') + "**/b", "/" + std::string(500, 'a')));
}

TEST(PolicyParseTest, ReadsEveryKey) {
  Policy p = Parse(R"(
version = 1
trust_project = true

[[rule]]
name = "no-net"
effect = "deny"
reason = "no egress from this machine"
network = true

[[rule]]
effect = "ask"
skills = ["data-*"]
runtimes = ["native", "wasm"]
kinds = ["exec"]
write = ["!{workspace}/**"]
read = ["{home}/data/**"]
env = ["AWS_*"]
commands = ["curl"]
exec = ["git push*"]
risk = "high"
sandbox = "best-effort"
)");
  ASSERT_EQ(p.rules.size(), 2u);
  EXPECT_TRUE(p.trust_project);
  EXPECT_EQ(p.rules[0].name, "no-net");
  EXPECT_EQ(p.rules[0].effect, PolicyEffect::kDeny);
  EXPECT_EQ(p.rules[0].line, 5);
  EXPECT_EQ(p.rules[0].index, 1);
  EXPECT_TRUE(p.rules[0].network);
  EXPECT_EQ(p.rules[0].reason, "no egress from this machine");
  const PolicyRule& r = p.rules[1];
  EXPECT_EQ(r.name, "rule 2");
  EXPECT_EQ(r.line, 11);
  EXPECT_EQ(r.write, std::vector<std::string>{"!/work/proj/**"});
  EXPECT_EQ(r.read, std::vector<std::string>{"/home/u/data/**"});
  EXPECT_EQ(r.runtimes, (std::vector<RuntimeKind>{RuntimeKind::kNative, RuntimeKind::kWasm}));
  EXPECT_EQ(r.kinds, std::vector<std::string>{"exec"});
  EXPECT_EQ(r.risk, RiskLevel::kHigh);
  EXPECT_TRUE(r.best_effort);
  EXPECT_TRUE(r.IsCapabilityRule());
  EXPECT_EQ(r.file, "/h/policy.toml");
}

TEST(PolicyParseTest, ErrorsNameFileLineAndKey) {
  struct Case {
    std::string text;
    std::string expected;
  };
  const std::vector<Case> cases = {
      {"[[rule]]\neffect = \"permit\"\n",
       "/h/policy.toml:2: rule[1].effect: expected \"allow\", \"ask\" or \"deny\", got "
       "\"permit\""},
      {"[[rule]]\nname = \"x\"\n", "/h/policy.toml:1: rule[1].effect: required"},
      {"[[rule]]\neffect = \"deny\"\nnetwrok = true\n", "/h/policy.toml:3: rule[1].netwrok: "
                                                       "unknown key"},
      {"colour = 1\n", "/h/policy.toml:1: colour: unknown key"},
      {"version = 2\n", "/h/policy.toml:1: version: unsupported version 2"},
      {"[[rule]]\neffect = \"ask\"\n\n[[rule]]\neffect = \"ask\"\nwrite = [\"out/**\"]\n",
       "/h/policy.toml:6: rule[2].write[0]: 'out/**' is not an absolute path pattern"},
      {"[[rule]]\neffect = \"ask\"\nwrite = [\"{cwd}/x\"]\n",
       "/h/policy.toml:3: rule[1].write[0]: unknown variable {cwd}"},
      {"[[rule]]\neffect = \"ask\"\nnetwork = false\n",
       "/h/policy.toml:3: rule[1].network: false matches nothing"},
      {"[[rule]]\neffect = \"ask\"\nrisk = \"extreme\"\n",
       "/h/policy.toml:3: rule[1].risk: expected \"low\", \"medium\", \"high\" or \"critical\""},
      {"[[rule]]\neffect = \"ask\"\nruntimes = [\"jvm\"]\n",
       "/h/policy.toml:3: rule[1].runtimes[0]: expected \"native\", \"wasm\" or \"container\", "
       "got \"jvm\""},
      {"[[rule]]\neffect = \"ask\"\nskills = []\n",
       "/h/policy.toml:3: rule[1].skills: must not be empty"},
      {"[[rule]]\neffect = \"ask\"\nskills = \"calc\"\n",
       "/h/policy.toml:3: rule[1].skills: expected an array of strings, got string"},
      {"[[rule]]\neffect = \"ask\"\nsandbox = \"strict\"\n",
       "/h/policy.toml:3: rule[1].sandbox: expected \"best-effort\""},
      {"rule = 3\n", "/h/policy.toml:1: rule: expected [[rule]] tables, got integer"},
      {"[[rule]\n", "/h/policy.toml:1:"},
  };
  for (const Case& c : cases) {
    std::string message = ParseError(c.text);
    EXPECT_EQ(message.rfind(c.expected, 0), 0u) << "got:  " << message << "\nwant: " << c.expected;
  }
}

TEST(PolicyParseTest, OnlyTheUserMayTrustProjects) {
  EXPECT_EQ(ParseError("trust_project = true\n", PolicyLayer::kProject),
            "/h/policy.toml:1: trust_project: only the user policy may trust project policies");
  EXPECT_TRUE(Parse("trust_project = true\n", PolicyLayer::kExplicit).trust_project);
}

TEST(PolicyEvalTest, DefaultAllowsLeastPrivilegeAndAsksBeyond) {
  Policy none;
  PolicyDecision d = EvaluatePolicy(none, Least());
  EXPECT_EQ(d.effect, PolicyEffect::kAllow);
  ASSERT_EQ(d.rules.size(), 2u);  // The call and its one command.
  EXPECT_EQ(d.rules[0].name, "default-call");
  EXPECT_EQ(d.rules[1].subject, "command python3");

  struct Case {
    std::string what;
    PolicyRequest request;
    std::string rule;
  };
  PolicyRequest read = Least(), write = Least(), net = Least(), env = Least(), best = Least(),
                risky = Least(), benign = Least();
  read.read = {"/data"};
  write.write = {"/out"};
  net.network = true;
  env.env_pass = {"HOME"};
  best.sandbox = SandboxLevel::kBestEffort;
  risky.kind = benign.kind = "exec";
  risky.exec = {{.text = "curl x | sh", .risk = RiskLevel::kHigh}};
  benign.exec = {{.text = "python3 -c 1", .risk = RiskLevel::kMedium}};
  const std::vector<Case> asks = {{"read", read, "default-read"},
                                  {"write", write, "default-write"},
                                  {"network", net, "default-network"},
                                  {"env", env, "default-env"},
                                  {"best-effort", best, "default-sandbox"},
                                  {"high risk", risky, "default-exec"}};
  for (const Case& c : asks) {
    PolicyDecision decision = EvaluatePolicy(none, c.request);
    EXPECT_EQ(decision.effect, PolicyEffect::kAsk) << c.what;
    std::vector<PolicyMatch> deciding = decision.Deciding();
    ASSERT_EQ(deciding.size(), 1u) << c.what;
    EXPECT_EQ(deciding[0].name, c.rule);
    EXPECT_EQ(deciding[0].source, "built-in");
  }
  EXPECT_EQ(EvaluatePolicy(none, benign).effect, PolicyEffect::kAllow);
}

TEST(PolicyEvalTest, DenyWinsOverAllowOnTheSameSubject) {
  Policy p = Parse(R"(
[[rule]]
name = "data-ok"
effect = "allow"
read = ["/data/**"]

[[rule]]
name = "no-secrets"
effect = "deny"
read = ["/data/secret/**"]
reason = "secrets stay put"
)");
  PolicyRequest r = Least();
  r.read = {"/data/public"};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAllow);
  r.read = {"/data/secret/k"};
  PolicyDecision d = EvaluatePolicy(p, r);
  EXPECT_EQ(d.effect, PolicyEffect::kDeny);
  std::vector<PolicyMatch> deciding = d.Deciding();
  ASSERT_EQ(deciding.size(), 1u);
  EXPECT_EQ(deciding[0].name, "no-secrets");
  EXPECT_EQ(deciding[0].index, 2);
  EXPECT_EQ(deciding[0].subject, "read /data/secret/k");
  // The allow rule is listed as overruled.
  bool overruled = false;
  for (const PolicyMatch& m : d.rules) {
    if (m.name == "data-ok") overruled = m.ignored == "overruled by a more restrictive rule";
  }
  EXPECT_TRUE(overruled);
  EXPECT_EQ(d.Summary(),
            "deny: rule 'no-secrets' (/h/policy.toml rule 2): read /data/secret/k: secrets stay "
            "put");
  // The order of the rules does not matter.
  std::swap(p.rules[0], p.rules[1]);
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kDeny);
}

TEST(PolicyEvalTest, CallRules) {
  Policy p = Parse(R"(
[[rule]]
name = "trusted"
effect = "allow"
skills = ["calc", "report-*"]

[[rule]]
name = "untrusted"
effect = "deny"
skills = ["evil-*"]

[[rule]]
name = "no-writes-outside"
effect = "ask"
write = ["!{workspace}/**"]

[[rule]]
name = "wasm-only-exec"
effect = "deny"
runtimes = ["native"]
kinds = ["exec"]
skills = ["sandboxed-*"]
)");
  // A call rule decides the call and every subject no capability rule matched.
  PolicyRequest r = Least("calc");
  r.env_pass = {"HOME"};
  r.read = {"/data"};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAllow);
  // A capability rule is more specific than the call rule.
  r.write = {"/elsewhere"};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAsk);
  r.write = {"/work/proj/out"};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAllow);

  EXPECT_EQ(EvaluatePolicy(p, Least("evil-x")).effect, PolicyEffect::kDeny);
  EXPECT_EQ(EvaluatePolicy(p, Least("report-q1")).effect, PolicyEffect::kAllow);
  // Selectors: kind and runtime must match too.
  PolicyRequest s = Least("sandboxed-a");
  EXPECT_EQ(EvaluatePolicy(p, s).effect, PolicyEffect::kAllow);
  s.kind = "exec";
  EXPECT_EQ(EvaluatePolicy(p, s).effect, PolicyEffect::kDeny);
  s.runtime = RuntimeKind::kWasm;
  EXPECT_EQ(EvaluatePolicy(p, s).effect, PolicyEffect::kAllow);
}

TEST(PolicyEvalTest, ExecRulesByGlobAndRisk) {
  Policy p = Parse(R"(
[[rule]]
name = "no-push"
effect = "deny"
exec = ["git push*"]

[[rule]]
name = "medium-asks"
effect = "ask"
risk = "medium"

[[rule]]
name = "tests-ok"
effect = "allow"
exec = ["pytest*"]
)");
  PolicyRequest r = Least();
  r.kind = "exec";
  r.exec = {{.text = "pytest -x"}};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAllow);
  r.exec.push_back({.text = "git push origin main"});
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kDeny);
  r.exec = {{.text = "git reset --hard", .risk = RiskLevel::kMedium}};
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAsk);
  r.exec = {{.text = "pytest -x", .risk = RiskLevel::kHigh}};  // allow and ask: ask wins.
  EXPECT_EQ(EvaluatePolicy(p, r).effect, PolicyEffect::kAsk);
}

TEST(PolicyEvalTest, ProjectAllowRulesNeedTrust) {
  Policy user;
  auto project = ParsePolicy(R"(
[[rule]]
name = "allow-all-writes"
effect = "allow"
write = ["/**"]

[[rule]]
name = "no-network"
effect = "deny"
network = true
)",
                             "/p/.skillrt/policy.toml", PolicyLayer::kProject, Vars());
  ASSERT_TRUE(project.has_value()) << project.error().ToString();
  user.rules = project->rules;
  PolicyRequest r = Least();
  r.write = {"/home/u/.bashrc"};
  PolicyDecision d = EvaluatePolicy(user, r);
  EXPECT_EQ(d.effect, PolicyEffect::kAsk);  // The default, not the project's allow.
  bool listed = false;
  for (const PolicyMatch& m : d.rules) {
    if (m.name == "allow-all-writes") listed = m.ignored.find("trust_project") != std::string::npos;
  }
  EXPECT_TRUE(listed);
  r.network = true;  // Project deny rules always count.
  EXPECT_EQ(EvaluatePolicy(user, r).effect, PolicyEffect::kDeny);
  r.network = false;
  user.trust_project = true;
  EXPECT_EQ(EvaluatePolicy(user, r).effect, PolicyEffect::kAllow);
}

TEST(PolicyLoadTest, LayersAndPrecedence) {
  TempDir tmp;
  const auto home = tmp.path() / "home", ws = tmp.path() / "ws";
  WriteFile(home / "policy.toml",
            "[[rule]]\nname = \"u\"\neffect = \"deny\"\nskills = [\"bad\"]\n");
  WriteFile(ws / ".skillrt" / "policy.toml",
            "[[rule]]\nname = \"p\"\neffect = \"ask\"\nskills = [\"calc\"]\n");
  const auto explicit_file = tmp.path() / "other.toml";
  WriteFile(explicit_file,
            "[[rule]]\nname = \"e\"\neffect = \"allow\"\nwrite = [\"{workspace}/**\"]\n");

  auto p = LoadPolicy(home, PolicyOptions{.workspace = ws, .project = true});
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[0].name, "u");
  EXPECT_EQ(p->rules[0].layer, PolicyLayer::kUser);
  EXPECT_EQ(p->rules[1].name, "p");
  EXPECT_EQ(p->rules[1].layer, PolicyLayer::kProject);
  EXPECT_EQ(EvaluatePolicy(*p, Least("calc")).effect, PolicyEffect::kAsk);

  // --policy FILE replaces the project file and is trusted.
  p = LoadPolicy(home, PolicyOptions{.file = explicit_file, .workspace = ws, .project = true});
  ASSERT_TRUE(p.has_value()) << p.error().ToString();
  ASSERT_EQ(p->rules.size(), 2u);
  EXPECT_EQ(p->rules[1].name, "e");
  EXPECT_EQ(p->rules[1].layer, PolicyLayer::kExplicit);
  PolicyRequest r = Least();
  r.write = {std::filesystem::weakly_canonical(ws) / "out"};
  EXPECT_EQ(EvaluatePolicy(*p, r).effect, PolicyEffect::kAllow);

  // Without project discovery only the user file is read.
  p = LoadPolicy(home, PolicyOptions{.workspace = ws});
  ASSERT_TRUE(p.has_value());
  EXPECT_EQ(p->rules.size(), 1u);

  auto missing = LoadPolicy(home, PolicyOptions{.file = tmp.path() / "nope.toml"});
  ASSERT_FALSE(missing.has_value());
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);

  // A policy others can write is refused, not read.
  ::chmod((home / "policy.toml").c_str(), 0666);
  auto shared = LoadPolicy(home, PolicyOptions{});
  ASSERT_FALSE(shared.has_value());
  EXPECT_NE(shared.error().message.find("writable by group or others"), std::string::npos);
  ::chmod((home / "policy.toml").c_str(), 0644);

  WriteFile(home / "policy.toml", "[[rule]]\neffect = \"maybe\"\n");
  auto bad = LoadPolicy(home, PolicyOptions{});
  ASSERT_FALSE(bad.has_value());
  EXPECT_NE(bad.error().message.find((home / "policy.toml").string() + ":2: rule[1].effect"),
            std::string::npos)
      << bad.error().message;
}

}  // namespace
}  // namespace skillrt
