#include <signal.h>

#include <set>
#include <string>

#include <gtest/gtest.h>

#include "engine/run_id.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"

namespace skillrt {
namespace {

TEST(StatusNameTest, NamesEveryStatus) {
  EXPECT_EQ(StatusName(Status::kOk), "ok");
  EXPECT_EQ(StatusName(Status::kError), "error");
  EXPECT_EQ(StatusName(Status::kTimeout), "timeout");
  EXPECT_EQ(StatusName(Status::kKilled), "killed");
  EXPECT_EQ(StatusName(Status::kDenied), "denied");
}

TEST(SandboxLevelNameTest, NamesEveryLevel) {
  EXPECT_EQ(SandboxLevelName(SandboxLevel::kStrict), "strict");
  EXPECT_EQ(SandboxLevelName(SandboxLevel::kBestEffort), "best-effort");
}

TEST(OutcomeToJsonTest, HasEveryDocumentedKey) {
  Outcome outcome;
  outcome.run_id = "r1";
  outcome.skill = "calc";
  outcome.status = Status::kOk;
  outcome.exit_code = 0;
  outcome.output = {{"result", 14}};
  outcome.stdout_stream = {.data = "{\"result\": 14}\n", .truncated = false, .total_bytes = 15};
  outcome.stderr_stream = {.data = "warn\n", .truncated = true, .total_bytes = 99};
  outcome.duration = std::chrono::microseconds(12'345);
  outcome.cpu = std::chrono::microseconds(2'001);
  outcome.max_rss_kb = 4096;
  outcome.limits_hit = {"output"};
  outcome.layers = {"userns", "seccomp"};
  outcome.message = "fine";

  nlohmann::json j = OutcomeToJson(outcome);
  for (const char* key :
       {"run_id", "skill", "status", "exit_code", "signal", "signal_name", "output", "stdout",
        "stderr", "stdout_truncated", "stderr_truncated", "duration_ms", "cpu_ms", "max_rss_kb",
        "limits_hit", "layers", "message", "egress", "limits"}) {
    EXPECT_TRUE(j.contains(key)) << key;
  }
  EXPECT_EQ(j.size(), 19u);
  EXPECT_TRUE(j["limits"].is_null());
  EXPECT_EQ(j["egress"], nlohmann::json::array());
  EXPECT_EQ(j["run_id"], "r1");
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_TRUE(j["signal"].is_null());
  EXPECT_TRUE(j["signal_name"].is_null());
  EXPECT_EQ(j["output"]["result"], 14);
  EXPECT_EQ(j["stdout"], "{\"result\": 14}\n");
  EXPECT_EQ(j["stderr"], "warn\n");
  EXPECT_FALSE(j["stdout_truncated"].get<bool>());
  EXPECT_TRUE(j["stderr_truncated"].get<bool>());
  EXPECT_DOUBLE_EQ(j["duration_ms"].get<double>(), 12.345);
  EXPECT_DOUBLE_EQ(j["cpu_ms"].get<double>(), 2.001);
  EXPECT_EQ(j["max_rss_kb"], 4096);
  EXPECT_EQ(j["limits_hit"], nlohmann::json::array({"output"}));
  EXPECT_EQ(j["layers"], nlohmann::json::array({"userns", "seccomp"}));
  EXPECT_EQ(j["message"], "fine");
}

TEST(OutcomeToJsonTest, SignalHasItsName) {
  Outcome outcome;
  outcome.status = Status::kKilled;
  outcome.signal = SIGKILL;
  nlohmann::json j = OutcomeToJson(outcome);
  EXPECT_TRUE(j["exit_code"].is_null());
  EXPECT_EQ(j["signal"], SIGKILL);
  EXPECT_EQ(j["signal_name"], "SIGKILL");
  EXPECT_EQ(j["status"], "killed");
  outcome.signal = SIGXCPU;
  EXPECT_EQ(OutcomeToJson(outcome)["signal_name"], "SIGXCPU");
}

TEST(OutcomeToJsonTest, NonObjectOutputIsNull) {
  Outcome outcome;
  outcome.output = nlohmann::json::array({1, 2});
  EXPECT_TRUE(OutcomeToJson(outcome)["output"].is_null());
}

TEST(OutcomeToJsonTest, InvalidUtf8IsReplacedSoDumpNeverThrows) {
  Outcome outcome;
  // A lone continuation byte, a truncated 3-byte sequence, an overlong '/', a surrogate, and
  // valid multi-byte text that must survive untouched.
  outcome.stdout_stream.data = std::string("a\x80" "b\xE2\x82" "c\xC0\xAF" "d\xED\xA0\x80" "e");
  outcome.stderr_stream.data = "caf\xC3\xA9 \xF0\x9F\x98\x80";
  nlohmann::json j = OutcomeToJson(outcome);
  std::string dumped;
  ASSERT_NO_THROW(dumped = j.dump());
  std::string out = j["stdout"].get<std::string>();
  EXPECT_EQ(out.front(), 'a');
  EXPECT_EQ(out.back(), 'e');
  EXPECT_NE(out.find("\xEF\xBF\xBD"), std::string::npos);
  EXPECT_EQ(out.find('\x80' + std::string("b")), std::string::npos);
  EXPECT_EQ(j["stderr"], "caf\xC3\xA9 \xF0\x9F\x98\x80");
  // Control characters are escaped: the JSON text stays on one line.
  outcome.stdout_stream.data = "line1\nline2\0x";
  EXPECT_EQ(OutcomeToJson(outcome).dump().find('\n'), std::string::npos);
}

TEST(RunIdTest, IdsAreUniqueAndSafe) {
  std::set<std::string> seen;
  for (int i = 0; i < 1000; ++i) {
    auto id = NewRunId();
    ASSERT_TRUE(id.has_value()) << id.error().ToString();
    EXPECT_TRUE(IsValidRunId(*id)) << *id;
    EXPECT_TRUE(seen.insert(*id).second) << "duplicate " << *id;
  }
  EXPECT_FALSE(IsValidRunId(""));
  EXPECT_FALSE(IsValidRunId("a/b"));
  EXPECT_FALSE(IsValidRunId("../x"));
  EXPECT_FALSE(IsValidRunId(std::string(65, 'a')));
  EXPECT_TRUE(IsValidRunId("20261129T164126-0123456789abcdef"));
}

TEST(OutcomeJsonTest, EgressRecordsAreListed) {
  Outcome outcome;
  outcome.egress.push_back(EgressRecord{.method = "CONNECT",
                                        .host = "api.test",
                                        .port = 443,
                                        .address = "127.0.0.1",
                                        .allowed = true,
                                        .reason = "closed",
                                        .rule = "api.test:443",
                                        .bytes_sent = 10,
                                        .bytes_received = 20,
                                        .duration = std::chrono::microseconds(1500)});
  outcome.egress.push_back(EgressRecord{.method = "GET", .host = "evil.test", .port = 80,
                                        .reason = "host not in the allowlist"});
  nlohmann::json j = OutcomeToJson(outcome);
  ASSERT_EQ(j["egress"].size(), 2u);
  EXPECT_EQ(j["egress"][0]["decision"], "allowed");
  EXPECT_EQ(j["egress"][0]["bytes_sent"], 10);
  EXPECT_EQ(j["egress"][0]["bytes_received"], 20);
  EXPECT_EQ(j["egress"][0]["duration_ms"], 1.5);
  EXPECT_EQ(j["egress"][0]["rule"], "api.test:443");
  EXPECT_EQ(j["egress"][1]["decision"], "refused");
  EXPECT_EQ(j["egress"][1]["reason"], "host not in the allowlist");
  EXPECT_EQ(j["egress"][1]["address"], "");
}

}  // namespace
}  // namespace skillrt
