#include "skillrt/approval.h"

#include <sys/stat.h>

#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "gate/approval_gate.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

ApprovalRequest Request(const std::string& key_seed) {
  ApprovalRequest r;
  r.skill = "calc";
  r.skill_dir = "/skills/calc";
  r.tree_sha256 = std::string(64, 'a');
  r.invocation = {{"kind", "exec"}, {"argv", {"python3", key_seed}}};
  r.request = {{"capabilities", {{"write", {"/out"}}}}};
  r.key = *ApprovalKey(r.skill, r.tree_sha256, r.invocation, r.request);
  return r;
}

TEST(ApprovalKeyTest, CoversEveryPart) {
  const nlohmann::json invocation = {{"kind", "run"}, {"argv", {"python3", "x.py"}}};
  const nlohmann::json request = {{"limits", {{"wall_time_ms", 1000}}}};
  auto base = ApprovalKey("calc", "t1", invocation, request);
  ASSERT_TRUE(base.has_value());
  EXPECT_EQ(base->size(), 64u);
  EXPECT_EQ(*ApprovalKey("calc", "t1", invocation, request), *base);  // Deterministic.
  EXPECT_NE(*ApprovalKey("calc2", "t1", invocation, request), *base);
  EXPECT_NE(*ApprovalKey("calc", "t2", invocation, request), *base);
  nlohmann::json other = invocation;
  other["argv"][1] = "y.py";
  EXPECT_NE(*ApprovalKey("calc", "t1", other, request), *base);
  nlohmann::json wider = request;
  wider["limits"]["wall_time_ms"] = 2000;
  EXPECT_NE(*ApprovalKey("calc", "t1", invocation, wider), *base);
  // Member order does not matter (canonical JSON).
  nlohmann::json reordered = nlohmann::json::parse(R"({"argv":["python3","x.py"],"kind":"run"})");
  EXPECT_EQ(*ApprovalKey("calc", "t1", reordered, request), *base);
  // A value canonical JSON cannot hold exactly is refused rather than collapsed.
  nlohmann::json bad = invocation;
  bad["argv"][1] = std::string("\xff");
  EXPECT_FALSE(ApprovalKey("calc", "t1", bad, request).has_value());
}

TEST(ApprovalKeyTest, ArgvHashSeparatesArguments) {
  EXPECT_NE(ArgvSha256({"ab", "c"}), ArgvSha256({"a", "bc"}));
  EXPECT_NE(ArgvSha256({"a b"}), ArgvSha256({"a", "b"}));
  EXPECT_NE(ArgvSha256({"\xff"}), ArgvSha256({"\xfe"}));
  EXPECT_EQ(ArgvSha256({"x", "y"}), ArgvSha256({"x", "y"}));
}

TEST(ApprovalPromptTest, ShowsWhatIsAskedAndEscapesControlCharacters) {
  ApprovalRequest r = Request("\x1b[2Jrm");
  r.request["capabilities"]["env_pass"] = {"HOME"};
  r.risk.level = RiskLevel::kHigh;
  r.risk.reasons.push_back(RiskReason{.level = RiskLevel::kHigh,
                                      .rule = "pipe-to-shell",
                                      .reason = "runs downloaded code",
                                      .command = "sh"});
  r.policy.effect = PolicyEffect::kAsk;
  r.policy.rules.push_back(PolicyMatch{.source = "built-in",
                                       .name = "default-write",
                                       .effect = PolicyEffect::kAsk,
                                       .reason = "writes",
                                       .subject = "write /out"});
  std::string text = FormatApprovalPrompt(r);
  EXPECT_EQ(text.find('\x1b'), std::string::npos) << "an escape sequence reached the terminal";
  EXPECT_NE(text.find("\\x1b[2Jrm"), std::string::npos) << text;
  EXPECT_NE(text.find("skill:        calc (/skills/calc)"), std::string::npos) << text;
  EXPECT_NE(text.find("write:      /out"), std::string::npos) << text;
  EXPECT_NE(text.find("host env:   HOME"), std::string::npos) << text;
  EXPECT_NE(text.find("risk:         high"), std::string::npos) << text;
  EXPECT_NE(text.find("pipe-to-shell: runs downloaded code"), std::string::npos) << text;
  EXPECT_NE(text.find("default-write (built-in): write /out: writes"), std::string::npos) << text;
  EXPECT_NE(text.find(r.key), std::string::npos);
}

class ApprovalGateTest : public ::testing::Test {
 protected:
  // An approver answering from `answers` in turn and counting its calls.
  ApprovalCallback Scripted(std::vector<ApprovalDecision> answers) {
    return [this, answers](const ApprovalRequest& r) {
      last_denials_ = r.previous_denials;
      return answers.at(static_cast<size_t>(calls_++) % answers.size());
    };
  }
  TempDir tmp_;
  int calls_ = 0;
  int last_denials_ = -1;
};

TEST_F(ApprovalGateTest, NoApproverDenies) {
  ApprovalGate gate(tmp_.path(), nullptr, "callback");
  auto outcome = gate.Resolve("run", Request("a"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->decision, ApprovalDecision::kDeny);
  EXPECT_EQ(outcome->via, "none");
  // Denials without an approver never add up to an abort.
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(gate.Resolve("run", Request("a")).has_value());
  EXPECT_FALSE(gate.aborted());
}

TEST_F(ApprovalGateTest, OnceAsksEveryTimeSessionOnlyOnce) {
  ApprovalGate gate(tmp_.path(), Scripted({ApprovalDecision::kApproveOnce}), "callback");
  EXPECT_EQ(gate.Resolve("run", Request("a"))->decision, ApprovalDecision::kApproveOnce);
  EXPECT_EQ(gate.Resolve("run", Request("a"))->via, "callback");
  EXPECT_EQ(calls_, 2);

  ApprovalGate session(tmp_.path(), Scripted({ApprovalDecision::kApproveSession}), "callback");
  calls_ = 0;
  EXPECT_EQ(session.Resolve("run", Request("a"))->via, "callback");
  auto again = session.Resolve("run", Request("a"));
  EXPECT_EQ(again->decision, ApprovalDecision::kApproveSession);
  EXPECT_EQ(again->via, "session");
  EXPECT_EQ(calls_, 1);
  // Another key is asked again.
  EXPECT_EQ(session.Resolve("run", Request("b"))->via, "callback");
  EXPECT_EQ(calls_, 2);
  EXPECT_FALSE(std::filesystem::exists(tmp_.path() / "approvals.json"));
}

TEST_F(ApprovalGateTest, RepeatedDenialOfOneKeyAborts) {
  ApprovalGate gate(tmp_.path(), Scripted({ApprovalDecision::kDeny}), "callback");
  for (int i = 1; i < kDenialsBeforeAbort; ++i) {
    auto outcome = gate.Resolve("run", Request("a"));
    EXPECT_EQ(outcome->decision, ApprovalDecision::kDeny) << i;
    EXPECT_EQ(last_denials_, i - 1);
  }
  // A denial of another key is counted apart.
  EXPECT_EQ(gate.Resolve("run", Request("b"))->decision, ApprovalDecision::kDeny);
  EXPECT_FALSE(gate.aborted());
  auto last = gate.Resolve("run", Request("a"));
  EXPECT_EQ(last->decision, ApprovalDecision::kAbort);
  EXPECT_TRUE(gate.aborted());
  const int calls = calls_;
  auto after = gate.Resolve("run", Request("c"));
  EXPECT_EQ(after->decision, ApprovalDecision::kAbort);
  EXPECT_EQ(after->via, "session");
  EXPECT_EQ(calls_, calls) << "an aborted session asked again";
}

TEST_F(ApprovalGateTest, AbortStopsAskingAndAThrowingApproverDenies) {
  ApprovalGate gate(tmp_.path(), Scripted({ApprovalDecision::kAbort}), "callback");
  EXPECT_EQ(gate.Resolve("run", Request("a"))->decision, ApprovalDecision::kAbort);
  EXPECT_EQ(gate.Resolve("run", Request("b"))->decision, ApprovalDecision::kAbort);
  EXPECT_EQ(calls_, 1);

  ApprovalGate thrower(tmp_.path(), [](const ApprovalRequest&) -> ApprovalDecision {
    throw std::runtime_error("approver crashed");
  }, "callback");
  EXPECT_EQ(thrower.Resolve("run", Request("a"))->decision, ApprovalDecision::kDeny);
}

TEST_F(ApprovalGateTest, AlwaysIsStoredPrivatelyAndReusedByTheNextSession) {
  {
    ApprovalGate gate(tmp_.path(), Scripted({ApprovalDecision::kApproveAlways}), "tty");
    EXPECT_EQ(gate.Resolve("run", Request("a"))->decision, ApprovalDecision::kApproveAlways);
  }
  const auto file = tmp_.path() / "approvals.json";
  struct stat st {};
  ASSERT_EQ(::stat(file.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  nlohmann::json doc = nlohmann::json::parse(ReadFile(file));
  ASSERT_EQ(doc["approvals"].size(), 1u);
  EXPECT_EQ(doc["approvals"][0]["key"], Request("a").key);
  EXPECT_EQ(doc["approvals"][0]["via"], "tty");
  EXPECT_EQ(doc["approvals"][0]["skill"], "calc");

  ApprovalGate next(tmp_.path(), nullptr, "callback");  // No approver needed.
  auto outcome = next.Resolve("run", Request("a"));
  EXPECT_EQ(outcome->decision, ApprovalDecision::kApproveAlways);
  EXPECT_EQ(outcome->via, "stored");
  EXPECT_EQ(next.Resolve("run", Request("b"))->decision, ApprovalDecision::kDeny);

  // Adding twice keeps one entry; a store others can write is not trusted.
  ApprovalStore store(tmp_.path());
  ASSERT_TRUE(store.Add(Request("a"), "tty").has_value());
  EXPECT_EQ(nlohmann::json::parse(ReadFile(file))["approvals"].size(), 1u);
  ::chmod(file.c_str(), 0622);
  auto untrusted = next.Resolve("run", Request("a"));
  ASSERT_FALSE(untrusted.has_value());
  EXPECT_NE(untrusted.error().message.find("writable by group or others"), std::string::npos);
}

TEST_F(ApprovalGateTest, BadStoreIsAnErrorAndIsLeftAlone) {
  const auto file = tmp_.path() / "approvals.json";
  WriteFile(file, "{\"version\": 1, \"approvals\": [{\"key\": 7}]}");
  ::chmod(file.c_str(), 0600);
  ApprovalGate gate(tmp_.path(), Scripted({ApprovalDecision::kApproveAlways}), "callback");
  auto outcome = gate.Resolve("run", Request("a"));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_NE(outcome.error().message.find("/approvals/0/key"), std::string::npos)
      << outcome.error().message;
  EXPECT_EQ(ReadFile(file), "{\"version\": 1, \"approvals\": [{\"key\": 7}]}");
}

TEST_F(ApprovalGateTest, ConcurrentAlwaysApprovalsAreAllKept) {
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([this, t] {
      ApprovalStore store(tmp_.path());
      for (int i = 0; i < 5; ++i) {
        ASSERT_TRUE(store.Add(Request(std::to_string(t * 100 + i)), "callback").has_value());
      }
    });
  }
  for (auto& thread : threads) thread.join();
  nlohmann::json doc = nlohmann::json::parse(ReadFile(tmp_.path() / "approvals.json"));
  EXPECT_EQ(doc["approvals"].size(), 20u);
}

}  // namespace
}  // namespace skillrt
