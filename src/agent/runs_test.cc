// Reading agent runs back: ids that can name no path, the summary's counts, and the follower
// that reads a log while a writer appends to it (a line written in two pieces, a torn line).
#include <gtest/gtest.h>

#include <fstream>

#include "skillrt/agent.h"
#include "test_util.h"

namespace skillrt {
namespace {

using nlohmann::json;

TEST(AgentRunsTest, RunIdsNameNoPath) {
  EXPECT_TRUE(IsValidAgentRunId("agent-20261206T221514-8285e78061a1"));
  EXPECT_TRUE(IsValidAgentRunId("agent-a_b-C"));
  for (const char* bad : {"agent-", "agent-..", "agent-a/b", "agent-a.b", "../agent-a", "run-1",
                          "agent-a\n", "agent-a%2f"}) {
    EXPECT_FALSE(IsValidAgentRunId(bad)) << bad;
  }
  EXPECT_TRUE(IsValidAgentRunId("agent-" + std::string(58, 'a')));
  EXPECT_FALSE(IsValidAgentRunId("agent-" + std::string(59, 'a')));
}

TEST(AgentRunsTest, SummaryCountsTurnsCallsAndTokens) {
  const std::vector<json> events = {
      {{"type", "started"}, {"time", "T0"}, {"model", "m"}, {"task", "first line\nsecond"}},
      {{"type", "model_request"}},
      {{"type", "model_response"}, {"usage", {{"input_tokens", 50}, {"output_tokens", 20}}}},
      {{"type", "tool_call"}},
      {{"type", "tool_call"}},
      {{"type", "model_request"}},
      // A log edited by hand: a count that is not one is read as 0, not thrown on.
      {{"type", "model_response"}, {"usage", {{"input_tokens", "ten"}, {"output_tokens", 5}}}},
      {{"type", "failed"}, {"reason", "the turn limit of 2 was reached"}}};
  const AgentRunSummary run = SummarizeAgentRun("agent-x", events);
  EXPECT_EQ(run.task, "first line");
  EXPECT_EQ(run.status, "failed");
  EXPECT_EQ(run.reason, "the turn limit of 2 was reached");
  EXPECT_EQ(run.turns, 2u);
  EXPECT_EQ(run.tool_calls, 2u);
  EXPECT_EQ(run.usage.input_tokens, 50u);
  EXPECT_EQ(run.usage.output_tokens, 25u);
  EXPECT_EQ(run.events, events.size());
  EXPECT_EQ(SummarizeAgentRun("agent-y", {}).status, "unfinished");
}

TEST(AgentRunsTest, FollowerReadsCompleteLinesAsTheyAreAppended) {
  testing::TempDir home;
  const std::string id = "agent-20261206T000000-000000000001";
  std::filesystem::create_directories(home.path() / "runs" / id);
  std::ofstream log(AgentEventsPath(home.path(), id), std::ios::binary);
  log << R"({"seq":1,"type":"started"})" << "\n" << R"({"seq":2,"ty)" << std::flush;

  auto follower = AgentEventFollower::Open(home.path(), id);
  ASSERT_TRUE(follower) << follower.error().message;
  EXPECT_EQ(follower->run_id(), id);
  auto first = follower->ReadNew();
  ASSERT_TRUE(first);
  ASSERT_EQ(first->size(), 1u);  // The second line is not complete yet.
  EXPECT_EQ((*first)[0]["type"], "started");
  EXPECT_FALSE(follower->ended());

  log << R"(pe":"model_request"})" << "\n" << "{torn\n" << R"({"seq":3,"type":"finished"})"
      << "\n" << std::flush;
  auto rest = follower->ReadNew();
  ASSERT_TRUE(rest);
  ASSERT_EQ(rest->size(), 2u);  // The torn line is skipped, as ReadAgentEvents does.
  EXPECT_EQ((*rest)[0]["type"], "model_request");
  EXPECT_EQ((*rest)[1]["seq"], 3);
  EXPECT_TRUE(follower->ended());
  EXPECT_TRUE(follower->ReadNew()->empty());

  // Only ids that exist under <home>/runs are opened.
  EXPECT_EQ(AgentEventFollower::Open(home.path(), "agent-none").error().code,
            ErrorCode::kNotFound);
}

}  // namespace
}  // namespace skillrt
