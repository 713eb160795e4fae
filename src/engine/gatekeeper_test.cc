// The gate between planning and the runtime: approval keys of planned calls, and the policy
// and approval flows through the Engine with a C++ callback approver.
#include "engine/gatekeeper.h"

#include <sys/stat.h>

#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "engine/plan_builder.h"
#include "skillrt/engine.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::VarTmpDir;
using skillrt::testing::WriteFile;

constexpr char kToml[] =
    "runtime = \"native\"\n"
    "[entry]\n"
    "argv = [\"python3\", \"scripts/main.py\"]\n"
    "[capabilities]\n"
    "commands = [\"python3\"]\n"
    "[capabilities.env]\n"
    "pass = [\"GATE_TEST_VAR\"]\n"
    "[limits]\n"
    "wall_time_ms = 20000\n";

constexpr char kScript[] =
    "import json, os, sys\n"
    "args = json.load(sys.stdin)\n"
    "print(json.dumps({'n': args.get('n'), 'var': os.environ.get('GATE_TEST_VAR')}))\n";

class GatekeeperTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills written here.
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
    WriteSkill("asker", kToml, kScript);
    // The same skill without the host variable: least privilege, allowed by default.
    std::string plain = kToml;
    plain.replace(plain.find("pass = "), std::string("pass = [\"GATE_TEST_VAR\"]").size(),
                  "pass = []");
    WriteSkill("plain", plain, kScript);
    ::setenv("GATE_TEST_VAR", "from-host", 1);
  }
  void TearDown() override { ::unsetenv("GATE_TEST_VAR"); }

  void WriteSkill(const std::string& name, const std::string& toml, const std::string& script) {
    std::filesystem::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md",
              "---\nname: " + name + "\ndescription: A test skill.\n---\n# " + name + "\n");
    WriteFile(dir / "skill.toml", toml);
    WriteFile(dir / "scripts" / "main.py", script);
  }

  // Opens an engine whose approver answers from `answers` in turn (none: no approver).
  std::unique_ptr<Engine> Open(std::vector<ApprovalDecision> answers,
                               bool repeated_denial_aborts = true) {
    EngineOptions options;
    options.repeated_denial_aborts = repeated_denial_aborts;
    options.home = home_;
    options.skill_roots = {skills_};
    options.native.keep_prepared_sandbox = false;
    if (!answers.empty()) {
      options.approver = [this, answers](const ApprovalRequest& request) {
        asked_.push_back(request);
        return answers.at((asked_.size() - 1) % answers.size());
      };
    }
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.has_value()) << engine.error().ToString();
    return engine ? std::move(*engine) : nullptr;
  }

  static RunRequest Request(const std::string& skill, int n = 1) {
    RunRequest request;
    request.skill = skill;
    request.input = {{"n", n}};
    return request;
  }

  // Runs; marks the test to be skipped when the native sandbox is unavailable (the gate has
  // decided by then, so its records are still checked by callers that do not need the run).
  Outcome RunOrSkip(Engine& engine, const RunRequest& request) {
    auto outcome = engine.Run(request);
    if (!outcome && outcome.error().code == ErrorCode::kUnsupported) {
      no_sandbox_ = true;
      return {};
    }
    EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
  }

  std::vector<nlohmann::json> Records(Engine& engine, const std::string& event) {
    std::vector<nlohmann::json> out;
    auto records = engine.audit().Tail(1000);
    EXPECT_TRUE(records.has_value());
    for (const auto& r : records.value_or(std::vector<nlohmann::json>{})) {
      if (r.value("event", "") == event) out.push_back(r);
    }
    return out;
  }

  Result<ApprovalRequest> KeyedRequest(const std::filesystem::path& dir,
                                       const std::vector<std::string>& argv,
                                       const std::string& input) {
    auto skill = LoadSkill(dir);
    EXPECT_TRUE(skill.has_value()) << skill.error().ToString();
    ExecRequest exec;
    exec.skill = dir.string();
    exec.argv = argv;
    auto plan = BuildExecPlan(*skill, exec, "run-1");
    EXPECT_TRUE(plan.has_value()) << plan.error().ToString();
    const nlohmann::json invocation = {{"kind", "exec"}, {"input_sha256", input}};
    return MakeApprovalRequest(*skill, *plan, invocation, argv, {}, {});
  }

  TempDir tmp_;
  std::filesystem::path skills_;
  std::filesystem::path home_;
  std::vector<ApprovalRequest> asked_;
  bool no_sandbox_ = false;
};

TEST_F(GatekeeperTest, ApprovalKeyChangesWithTheSkillAndTheCall) {
  const auto dir = skills_ / "asker";
  const std::vector<std::string> argv = {"python3", "scripts/main.py"};
  auto base = KeyedRequest(dir, argv, "in-1");
  ASSERT_TRUE(base.has_value()) << base.error().ToString();
  EXPECT_EQ(KeyedRequest(dir, argv, "in-1")->key, base->key);
  EXPECT_EQ(base->request["capabilities"]["env_pass"], nlohmann::json({"GATE_TEST_VAR"}));
  EXPECT_EQ(base->invocation["argv_sha256"], ArgvSha256(argv));

  EXPECT_NE(KeyedRequest(dir, argv, "in-2")->key, base->key) << "input";
  EXPECT_NE(KeyedRequest(dir, {"python3", "scripts/main.py", "-v"}, "in-1")->key, base->key)
      << "argv";
  WriteFile(dir / "scripts" / "main.py", std::string(kScript) + "# edited\n");
  auto edited = KeyedRequest(dir, argv, "in-1");
  EXPECT_NE(edited->tree_sha256, base->tree_sha256);
  EXPECT_NE(edited->key, base->key) << "tree hash";
  const std::string after_edit = edited->key;
  std::string wider = kToml;
  // Any existing directory outside the reserved ones (not the checkout: it may live in /tmp).
  wider.insert(wider.find("[capabilities.env]"), "read = [\"/var/cache\"]\n");
  WriteFile(dir / "skill.toml", wider);
  EXPECT_NE(KeyedRequest(dir, argv, "in-1")->key, after_edit) << "capabilities";
}

TEST_F(GatekeeperTest, LeastPrivilegeRunsWithoutAsking) {
  auto engine = Open({ApprovalDecision::kDeny});
  ASSERT_NE(engine, nullptr);
  Outcome outcome = RunOrSkip(*engine, Request("plain"));
  EXPECT_TRUE(asked_.empty());
  if (no_sandbox_) GTEST_SKIP() << "the native sandbox is not available on this host";
  EXPECT_EQ(outcome.status, Status::kOk) << outcome.message;
  std::vector<nlohmann::json> runs = Records(*engine, "run");
  ASSERT_EQ(runs.size(), 1u);
  EXPECT_EQ(runs[0]["decision"]["policy"], "allow");
  EXPECT_EQ(runs[0]["decision"]["result"], "allow");
  EXPECT_FALSE(runs[0]["decision"].contains("approval"));
  EXPECT_TRUE(Records(*engine, "approval").empty());
}

TEST_F(GatekeeperTest, NoApproverDenies) {
  auto engine = Open({});
  ASSERT_NE(engine, nullptr);
  auto outcome = engine->Run(Request("asker"));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_NE(outcome->message.find("approval denied (via none)"), std::string::npos)
      << outcome->message;
  EXPECT_NE(outcome->message.find("default-env"), std::string::npos) << outcome->message;
  std::vector<nlohmann::json> refusals = Records(*engine, "refusal");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["status"], "denied");
  EXPECT_EQ(refusals[0]["decision"]["policy"], "ask");
  EXPECT_EQ(refusals[0]["decision"]["result"], "denied");
  EXPECT_EQ(refusals[0]["decision"]["approval"]["via"], "none");
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), 1u);
  EXPECT_EQ(approvals[0]["run_id"], outcome->run_id);
  EXPECT_EQ(approvals[0]["answer"], "denied");
  EXPECT_EQ(approvals[0]["asked_by"][0]["name"], "default-env");
}

TEST_F(GatekeeperTest, ApprovedOnceRunsInTheSameSandboxAndIsAudited) {
  auto engine = Open({ApprovalDecision::kApproveOnce});
  ASSERT_NE(engine, nullptr);
  Outcome approved = RunOrSkip(*engine, Request("asker"));
  ASSERT_EQ(asked_.size(), 1u);
  const ApprovalRequest asked = asked_[0];
  EXPECT_EQ(asked.skill, "asker");
  EXPECT_EQ(asked.policy.effect, PolicyEffect::kAsk);
  EXPECT_EQ(asked.request["capabilities"]["env_pass"], nlohmann::json({"GATE_TEST_VAR"}));
  EXPECT_EQ(ReadFile(home_ / "audit.log").find("from-host"), std::string::npos);
  if (no_sandbox_) GTEST_SKIP() << "the native sandbox is not available on this host";
  EXPECT_EQ(approved.status, Status::kOk) << approved.message;
  EXPECT_EQ(approved.output["var"], "from-host");
  // Once means once: the same call asks again.
  RunOrSkip(*engine, Request("asker"));
  EXPECT_EQ(asked_.size(), 2u);

  std::vector<nlohmann::json> runs = Records(*engine, "run");
  ASSERT_EQ(runs.size(), 2u);
  EXPECT_EQ(runs[0]["decision"]["result"], "approved");
  EXPECT_EQ(runs[0]["decision"]["approval"]["via"], "callback");
  EXPECT_EQ(runs[0]["decision"]["approval"]["key"], asked.key);
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[0]["approval_key"], asked.key);
  EXPECT_EQ(approvals[0]["via"], "callback");
  EXPECT_EQ(approvals[0]["answer"], "approved");

  // Approval never lowers isolation: the approved run had every layer an allowed one has.
  Outcome allowed = RunOrSkip(*engine, Request("plain"));
  EXPECT_EQ(allowed.status, Status::kOk);
  EXPECT_EQ(approved.layers, allowed.layers);
  EXPECT_EQ(runs[0]["sandbox_level"], "strict");
}

TEST_F(GatekeeperTest, SessionApprovalIsReusedForTheSameKeyOnly) {
  auto engine = Open({ApprovalDecision::kApproveSession});
  ASSERT_NE(engine, nullptr);
  RunOrSkip(*engine, Request("asker", 1));
  RunOrSkip(*engine, Request("asker", 1));
  EXPECT_EQ(asked_.size(), 1u);
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[0]["via"], "callback");
  EXPECT_EQ(approvals[1]["via"], "session");
  EXPECT_EQ(approvals[1]["answer"], "approved_session");
  // A different input is a different call: asked again.
  RunOrSkip(*engine, Request("asker", 2));
  EXPECT_EQ(asked_.size(), 2u);
  EXPECT_FALSE(std::filesystem::exists(home_ / "approvals.json"));
}

TEST_F(GatekeeperTest, InAServerRepeatedDenialRefusesThatCallOnly) {
  auto engine = Open({ApprovalDecision::kDeny}, /*repeated_denial_aborts=*/false);
  ASSERT_NE(engine, nullptr);
  for (int i = 0; i < kDenialsBeforeAbort; ++i) {
    auto outcome = engine->Run(Request("asker"));
    ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
    EXPECT_EQ(outcome->status, Status::kDenied);
  }
  EXPECT_FALSE(engine->approvals_aborted());
  EXPECT_EQ(asked_.size(), static_cast<size_t>(kDenialsBeforeAbort));
  // The same call again: refused without asking, and the message says why.
  auto again = engine->Run(Request("asker"));
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->status, Status::kDenied);
  EXPECT_NE(again->message.find("not asked about again"), std::string::npos) << again->message;
  EXPECT_EQ(asked_.size(), static_cast<size_t>(kDenialsBeforeAbort));
  // Another call (another key) is still asked.
  auto other = engine->Run(Request("asker", 7));
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(asked_.size(), static_cast<size_t>(kDenialsBeforeAbort) + 1);
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), static_cast<size_t>(kDenialsBeforeAbort) + 2);
  EXPECT_EQ(approvals[kDenialsBeforeAbort]["via"], "session");
  EXPECT_EQ(approvals[kDenialsBeforeAbort]["answer"], "denied");
}

TEST_F(GatekeeperTest, RepeatedDenialAbortsTheSession) {
  auto engine = Open({ApprovalDecision::kDeny});
  ASSERT_NE(engine, nullptr);
  std::vector<Outcome> outcomes;
  for (int i = 0; i < kDenialsBeforeAbort; ++i) {
    auto outcome = engine->Run(Request("asker"));
    ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
    EXPECT_EQ(outcome->status, Status::kDenied);
    outcomes.push_back(*outcome);
  }
  EXPECT_NE(outcomes[0].message.find("approval denied (via callback)"), std::string::npos)
      << outcomes[0].message;
  EXPECT_NE(outcomes.back().message.find("approval aborted"), std::string::npos)
      << outcomes.back().message;
  EXPECT_TRUE(engine->approvals_aborted());
  EXPECT_EQ(asked_.size(), static_cast<size_t>(kDenialsBeforeAbort));
  EXPECT_EQ(asked_.back().previous_denials, kDenialsBeforeAbort - 1);
  // After the abort nothing is asked; least-privilege calls still run.
  auto later = engine->Run(Request("asker", 7));
  ASSERT_TRUE(later.has_value());
  EXPECT_EQ(later->status, Status::kDenied);
  EXPECT_EQ(asked_.size(), static_cast<size_t>(kDenialsBeforeAbort));
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), 4u);
  EXPECT_EQ(approvals[2]["answer"], "aborted");
  EXPECT_EQ(approvals[3]["answer"], "aborted");
  EXPECT_EQ(approvals[3]["via"], "session");
  Outcome plain = RunOrSkip(*engine, Request("plain"));
  if (!no_sandbox_) {
    EXPECT_EQ(plain.status, Status::kOk) << plain.message;
  }
}

TEST_F(GatekeeperTest, PolicyDenyIsNamedAndNeverAsked) {
  WriteFile(home_ / "policy.toml",
            "[[rule]]\nname = \"no-host-env\"\neffect = \"deny\"\nenv = [\"GATE_*\"]\n"
            "reason = \"host variables stay on the host\"\n");
  auto engine = Open({ApprovalDecision::kApproveAlways});
  ASSERT_NE(engine, nullptr);
  auto outcome = engine->Run(Request("asker"));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_EQ(outcome->message,
            "policy: deny: rule 'no-host-env' (" + (home_ / "policy.toml").string() +
                " rule 1): env GATE_TEST_VAR: host variables stay on the host");
  EXPECT_TRUE(asked_.empty());
  std::vector<nlohmann::json> refusals = Records(*engine, "refusal");
  ASSERT_EQ(refusals.size(), 1u);
  EXPECT_EQ(refusals[0]["decision"]["policy"], "deny");
  EXPECT_EQ(refusals[0]["decision"]["result"], "deny");
  bool named = false;
  for (const auto& rule : refusals[0]["decision"]["rules"]) {
    named = named || (rule["name"] == "no-host-env" && rule["effect"] == "deny" &&
                      rule["line"] == 1 && rule["index"] == 1);
  }
  EXPECT_TRUE(named) << refusals[0].dump();
}

TEST_F(GatekeeperTest, AlwaysIsStoredAndUsedByTheNextEngine) {
  {
    auto engine = Open({ApprovalDecision::kApproveAlways});
    ASSERT_NE(engine, nullptr);
    RunOrSkip(*engine, Request("asker"));
    EXPECT_EQ(asked_.size(), 1u);
  }
  auto engine = Open({});
  ASSERT_NE(engine, nullptr);
  Outcome outcome = RunOrSkip(*engine, Request("asker"));
  std::vector<nlohmann::json> approvals = Records(*engine, "approval");
  ASSERT_EQ(approvals.size(), 2u);
  EXPECT_EQ(approvals[1]["via"], "stored");
  EXPECT_EQ(approvals[1]["answer"], "approved_always");
  if (!no_sandbox_) {
    EXPECT_EQ(outcome.status, Status::kOk) << outcome.message;
  }
  // A changed skill is a different key: the stored approval does not cover it.
  WriteFile(skills_ / "asker" / "scripts" / "main.py", std::string(kScript) + "# v2\n");
  auto changed = engine->Run(Request("asker"));
  ASSERT_TRUE(changed.has_value());
  EXPECT_EQ(changed->status, Status::kDenied);
}

TEST_F(GatekeeperTest, CheckPolicyReportsWithoutRunning) {
  auto engine = Open({ApprovalDecision::kApproveOnce});
  ASSERT_NE(engine, nullptr);
  auto check = engine->CheckPolicy("asker", {});
  ASSERT_TRUE(check.has_value()) << check.error().ToString();
  EXPECT_EQ(check->kind, "run");
  EXPECT_EQ(check->decision.effect, PolicyEffect::kAsk);
  EXPECT_EQ(check->approval_key.size(), 64u);
  EXPECT_FALSE(check->stored_approval);
  auto exec = engine->CheckPolicy("plain", {"python3", "-c", "print(1)"});
  ASSERT_TRUE(exec.has_value());
  EXPECT_EQ(exec->decision.effect, PolicyEffect::kAllow);
  EXPECT_EQ(exec->risk.level, RiskLevel::kMedium);  // inline-code
  auto guarded = engine->CheckPolicy("plain", {"python3 x.py && rm -rf /"});
  ASSERT_TRUE(guarded.has_value());
  EXPECT_EQ(guarded->decision.effect, PolicyEffect::kDeny);
  EXPECT_EQ(guarded->decision.rules.at(0).name, "command-guard");
  EXPECT_TRUE(asked_.empty());
  auto records = engine->audit().Tail(10);
  EXPECT_TRUE(records->empty());
}

// The command guard on the exec path, end to end: command lines that read at worst as the
// removal of a system directory (here /srv/x, as a declared path would be) or as a shell
// running unseen commands are refused before the policy or any approver is consulted, even
// with every command declared and an approver that would say yes; each refusal is audited.
TEST_F(GatekeeperTest, ExecOfACriticalReadingIsRefusedBeforeAnyApproval) {
  WriteSkill("remover",
             "runtime = \"native\"\n"
             "[capabilities]\n"
             "commands = [\"rm\", \"sh\", \"find\", \"env\"]\n"
             "[limits]\n"
             "wall_time_ms = 20000\n",
             kScript);
  auto engine = Open({ApprovalDecision::kApproveAlways});
  ASSERT_NE(engine, nullptr);
  struct Attempt {
    std::vector<std::string> argv;
    std::string stdin_data;
  };
  const std::vector<Attempt> attempts = {
      {{"rm", "--recur", "-f", "/srv/x"}, ""},
      {{"rm", "-rf", "/s?v/x"}, ""},
      {{"env", "-i", "rm", "-rf", "/srv/x/*"}, ""},
      {{"find", "-P", "/srv/x", "-delete"}, ""},
      {{"find", "/srv/x", "-maxdepth", "0", "-exec", "rm", "-rf", "{}", "+"}, ""},
      {{"sh", "-c", "rm -rf \"$0\"", "/srv/x"}, ""},
      {{"sh", "scripts/main.py"}, ""},
      {{"sh"}, "rm -rf /srv/x\n"},  // The commands would come from the caller's stdin.
  };
  for (const Attempt& attempt : attempts) {
    ExecRequest request;
    request.skill = "remover";
    request.argv = attempt.argv;
    request.stdin_data = attempt.stdin_data;
    auto outcome = engine->Exec(request);
    ASSERT_TRUE(outcome.has_value()) << attempt.argv[0] << ": " << outcome.error().ToString();
    EXPECT_EQ(outcome->status, Status::kDenied) << attempt.argv.back();
    EXPECT_NE(outcome->message.find("critical risk"), std::string::npos) << outcome->message;
  }
  EXPECT_TRUE(asked_.empty()) << "the approver must not be asked";
  EXPECT_EQ(Records(*engine, "refusal").size(), attempts.size());
  EXPECT_TRUE(Records(*engine, "approval").empty());

  auto check = engine->CheckPolicy("remover", {"rm", "--recur", "-f", "/srv/x"});
  ASSERT_TRUE(check.has_value()) << check.error().ToString();
  EXPECT_EQ(check->decision.effect, PolicyEffect::kDeny);
  EXPECT_EQ(check->decision.rules.at(0).name, "command-guard");

  // Positive control: an ordinary recursive removal in the working directory is medium risk,
  // which the built-in policy allows for a declared command without asking.
  ExecRequest ordinary;
  ordinary.skill = "remover";
  ordinary.argv = {"rm", "-rf", "build"};
  auto control = engine->Exec(ordinary);
  if (!control && control.error().code == ErrorCode::kUnsupported) {
    GTEST_SKIP() << "the native sandbox is not available on this host";
  }
  ASSERT_TRUE(control.has_value()) << control.error().ToString();
  EXPECT_NE(control->status, Status::kDenied) << control->message;
  EXPECT_TRUE(asked_.empty());
}

// The guard's context is the plan's mounts, as declared and as pinned: a skill that declares
// a symbolic link is judged against the link and the directory it resolves to.
TEST_F(GatekeeperTest, PlanRiskContextHoldsDeclaredAndResolvedPaths) {
  VarTmpDir data;  // Not under the host's /tmp, which is reserved and cannot be granted.
  std::filesystem::create_directory(data.path() / "real");
  std::filesystem::create_directory_symlink(data.path() / "real", data.path() / "link");
  const std::string link = (data.path() / "link").string();
  const std::string real = (data.path() / "real").string();
  WriteSkill("linked",
             "runtime = \"native\"\n[capabilities]\ncommands = [\"rm\"]\n"
             "read = [\"" + data.path().string() + "\"]\nwrite = [\"" + link + "\"]\n",
             kScript);
  auto skill = LoadSkill(skills_ / "linked");
  ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
  ExecRequest exec;
  exec.argv = {"rm", "-rf", real};
  auto plan = BuildExecPlan(*skill, exec, "run-1");
  ASSERT_TRUE(plan.has_value()) << plan.error().ToString();
  const RiskContext context = PlanRiskContext(*plan);
  EXPECT_EQ(context.declared_paths,
            (std::vector<std::string>{data.path().string(), link, real}));

  auto parsed = ParseArgv({"rm", "-rf", real});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(AssessRisk(*parsed, context).level, RiskLevel::kCritical);
  EXPECT_EQ(AssessRisk(*parsed).level, RiskLevel::kMedium);
  parsed = ParseArgv({"rm", "-rf", real + "/build"});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(AssessRisk(*parsed, context).level, RiskLevel::kMedium);
}

// The declared-path rule end to end: a skill that declares a writable directory (under
// /var/tmp, a path the guard does not count as a system path) is refused, before any
// approver is asked, every command line that removes that directory or all of its contents,
// even with every command declared; `policy check` says the same. Positive control: removing
// a directory inside it is not refused by the guard, is asked about as the write it is, and
// runs.
TEST_F(GatekeeperTest, ExecRemovingADeclaredDirectoryIsRefusedAsCritical) {
  VarTmpDir data;
  const std::string dir = data.path().string();
  std::filesystem::create_directories(data.path() / "sub" / "deeper");
  WriteFile(data.path() / "keep.txt", "kept\n");
  ASSERT_EQ(::chmod(dir.c_str(), 0777), 0);  // The sandbox's user removes `sub` from it.
  ASSERT_EQ(::chmod((data.path() / "sub").c_str(), 0777), 0);
  ASSERT_EQ(::chmod((data.path() / "sub" / "deeper").c_str(), 0777), 0);
  WriteSkill("worker",
             "runtime = \"native\"\n"
             "[capabilities]\n"
             "commands = [\"rm\", \"sh\", \"find\", \"env\", \"cd\"]\n"
             "write = [\"" + dir + "\"]\n"
             "[limits]\n"
             "wall_time_ms = 20000\n",
             kScript);
  auto engine = Open({ApprovalDecision::kApproveOnce});
  ASSERT_NE(engine, nullptr);
  const std::string parent = data.path().parent_path().string();
  const std::string name = data.path().filename().string();
  const std::vector<std::vector<std::string>> attempts = {
      {"rm", "-rf", dir},
      {"rm", "-r", dir + "/"},
      {"env", "-i", "rm", "--recur", "-f", dir},
      {"sh", "-c", "rm -rf " + dir + "/*"},
      {"find", dir, "-delete"},
      {"find", "-P", dir, "-mindepth", "1", "-delete"},
      {"find", dir, "-exec", "rm", "-rf", "{}", "+"},
      {"sh", "-c", "cd " + parent + " && rm -rf " + name},
  };
  for (const std::vector<std::string>& argv : attempts) {
    ExecRequest request;
    request.skill = "worker";
    request.argv = argv;
    auto outcome = engine->Exec(request);
    ASSERT_TRUE(outcome.has_value()) << argv.back() << ": " << outcome.error().ToString();
    EXPECT_EQ(outcome->status, Status::kDenied) << argv.back();
    EXPECT_NE(outcome->message.find("critical risk"), std::string::npos) << outcome->message;
    EXPECT_NE(outcome->message.find("declared"), std::string::npos) << outcome->message;
  }
  EXPECT_TRUE(asked_.empty()) << "the approver must not be asked";
  EXPECT_EQ(Records(*engine, "refusal").size(), attempts.size());
  EXPECT_TRUE(std::filesystem::exists(data.path() / "keep.txt"));

  auto check = engine->CheckPolicy("worker", {"rm", "-rf", dir});
  ASSERT_TRUE(check.has_value()) << check.error().ToString();
  EXPECT_EQ(check->decision.effect, PolicyEffect::kDeny);
  EXPECT_EQ(check->decision.rules.at(0).name, "command-guard");
  EXPECT_NE(check->decision.rules.at(0).reason.find("rm-recursive-declared"), std::string::npos)
      << check->decision.rules.at(0).reason;

  // Positive control: inside the declared directory.
  const std::vector<std::string> inside = {"rm", "-rf", dir + "/sub"};
  auto inside_check = engine->CheckPolicy("worker", inside);
  ASSERT_TRUE(inside_check.has_value()) << inside_check.error().ToString();
  EXPECT_EQ(inside_check->risk.level, RiskLevel::kMedium);
  EXPECT_EQ(inside_check->decision.effect, PolicyEffect::kAsk);  // default-write.
  ExecRequest request;
  request.skill = "worker";
  request.argv = inside;
  auto control = engine->Exec(request);
  if (!control && control.error().code == ErrorCode::kUnsupported) {
    GTEST_SKIP() << "the native sandbox is not available on this host";
  }
  ASSERT_TRUE(control.has_value()) << control.error().ToString();
  EXPECT_EQ(asked_.size(), 1u) << "asked about the write, as any write is";
  EXPECT_EQ(control->status, Status::kOk) << control->message << control->stderr_stream.data;
  EXPECT_FALSE(std::filesystem::exists(data.path() / "sub"));
  EXPECT_TRUE(std::filesystem::exists(data.path() / "keep.txt"));
}

}  // namespace
}  // namespace skillrt
