// Runs as handles: events, cancellation, approvals while a run waits, run ids and many runs
// at once (include/skillrt/engine.h, docs/events.md). A fake runtime plays the skill, so these
// run on any host.
#include <sys/stat.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_runtime.h"
#include "run_events_util.h"
#include "skillrt/engine.h"
#include "test_util.h"

namespace skillrt {
namespace {

using namespace std::chrono_literals;
using testing::FakeRuntime;

class EngineRunsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
    WriteSkill("quiet", "");
    WriteSkill("asks", "");
  }

  void WriteSkill(const std::string& name, const std::string& extra_toml) {
    const std::filesystem::path dir = skills_ / name;
    testing::WriteFile(dir / "SKILL.md",
                       "---\nname: " + name + "\ndescription: A test skill.\n---\n# " + name + "\n");
    testing::WriteFile(dir / "skill.toml",
                       "[entry]\nargv = [\"true\"]\n[limits]\nwall_time_ms = 5000\n" + extra_toml);
  }

  // The policy asks about every call of `asks` and allows the rest.
  void AskAbout(const std::string& skill) {
    std::filesystem::create_directories(home_);
    testing::WriteFile(home_ / "policy.toml",
                       "[[rule]]\nname = \"ask-" + skill + "\"\neffect = \"ask\"\nskills = [\"" +
                           skill + "\"]\n");
  }

  std::unique_ptr<Engine> Open(FakeRuntime::Behaviour behaviour,
                               std::chrono::milliseconds approval_timeout = 0ms,
                               uint64_t event_buffer_bytes = 1 << 20) {
    runtime_ = std::make_shared<FakeRuntime>(std::move(behaviour));
    EngineOptions options;
    options.home = home_;
    options.skill_roots = {skills_};
    options.native_runtime = runtime_;
    options.approval_timeout = approval_timeout;
    options.event_buffer_bytes = event_buffer_bytes;
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.has_value()) << engine.error().ToString();
    return engine ? std::move(*engine) : nullptr;
  }

  static RunRequest Request(const std::string& skill, std::string run_id = {}) {
    return RunRequest{.skill = skill, .run_id = std::move(run_id)};
  }

  static std::vector<RunEvent> AllEvents(const RunHandle& handle) {
    return testing::AllEvents(handle);
  }
  static std::optional<RunEvent> WaitFor(const RunHandle& handle, std::string_view type,
                                         std::chrono::milliseconds wait = 5000ms) {
    return testing::WaitForEvent(handle, type, wait);
  }
  static std::vector<std::string> Types(const std::vector<RunEvent>& events) {
    return testing::EventTypes(events);
  }

  std::vector<nlohmann::json> Audit(Engine& engine) {
    auto records = engine.audit().Tail(1000);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    return records ? *records : std::vector<nlohmann::json>{};
  }

  testing::TempDir tmp_;
  std::filesystem::path skills_, home_;
  std::shared_ptr<FakeRuntime> runtime_;
};

TEST_F(EngineRunsTest, OkRunEmitsEventsInOrderWithSequenceAndRunId) {
  auto engine = Open(FakeRuntime::Prints("{\"answer\": 42}\n"));
  auto handle = engine->Start(Request("quiet"));
  ASSERT_TRUE(handle.has_value()) << handle.error().ToString();
  EXPECT_FALSE(handle->run_id().empty());
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk);
  EXPECT_EQ(outcome->output["answer"], 42);
  ASSERT_TRUE(outcome->limits.has_value());
  EXPECT_EQ(outcome->limits->wall_time, 5000ms);

  std::vector<RunEvent> events = AllEvents(*handle);
  EXPECT_EQ(Types(events), (std::vector<std::string>{"accepted", "planned", "decided", "started",
                                                      "output", "finished"}));
  std::string output;
  for (size_t i = 0; i < events.size(); ++i) {
    EXPECT_EQ(events[i].seq, i + 1);
    EXPECT_EQ(events[i].run_id, handle->run_id());
    if (i > 0) {
      EXPECT_GE(events[i].time, events[i - 1].time);
    }
    if (auto* o = std::get_if<OutputEvent>(&events[i].payload)) output += o->data;
  }
  EXPECT_EQ(output, "{\"answer\": 42}\n");
  const auto& planned = std::get<PlannedEvent>(events[1].payload);
  EXPECT_EQ(planned.runtime, "native");
  EXPECT_EQ(planned.limits.wall_time, 5000ms);
  const auto& finished = std::get<FinishedEvent>(events.back().payload);
  ASSERT_TRUE(finished.outcome.has_value());
  EXPECT_EQ(finished.outcome->run_id, handle->run_id());

  nlohmann::json json = RunEventToJson(events.back());
  EXPECT_EQ(json["v"], kRunEventsVersion);
  EXPECT_EQ(json["type"], "finished");
  EXPECT_EQ(json["status"], "ok");
  EXPECT_EQ(json["outcome"]["limits"]["wall_time_ms"], 5000);
  EXPECT_EQ(RunEventToJson(events[0])["seq"], 1);
}

TEST_F(EngineRunsTest, ErrorAndTimeoutRunsFinishWithTheirStatus) {
  auto engine = Open(FakeRuntime::Prints("oops\n", 3));
  auto failed = engine->Start(Request("quiet"));
  ASSERT_TRUE(failed.has_value());
  std::vector<RunEvent> events = AllEvents(*failed);
  ASSERT_FALSE(events.empty());
  EXPECT_EQ(RunEventToJson(events.back())["status"], "error");

  WriteSkill("slow", "");
  testing::WriteFile(skills_ / "slow" / "skill.toml",
                     "[entry]\nargv = [\"true\"]\n[limits]\nwall_time_ms = 50\n");
  auto engine2 = Open(FakeRuntime::Ticks());
  auto timed = engine2->Start(Request("slow"));
  ASSERT_TRUE(timed.has_value());
  auto outcome = timed->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kTimeout);
  EXPECT_EQ(Types(AllEvents(*timed)).back(), "finished");
}

TEST_F(EngineRunsTest, DeniedRunNeverStarts) {
  std::filesystem::create_directories(home_);
  testing::WriteFile(home_ / "policy.toml",
                     "[[rule]]\nname = \"no-quiet\"\neffect = \"deny\"\nskills = [\"quiet\"]\n");
  auto engine = Open(FakeRuntime::Prints("{}"));
  auto handle = engine->Start(Request("quiet"));
  ASSERT_TRUE(handle.has_value());
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kDenied);
  std::vector<RunEvent> events = AllEvents(*handle);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"accepted", "planned", "decided", "finished"}));
  EXPECT_EQ(std::get<DecidedEvent>(events[2].payload).decision.effect, PolicyEffect::kDeny);
  EXPECT_EQ(runtime_->calls(), 0);
}

TEST_F(EngineRunsTest, ApprovalAnsweredWhileTheRunWaits) {
  AskAbout("asks");
  auto engine = Open(FakeRuntime::Prints("{}"), /*approval_timeout=*/10s);
  auto handle = engine->Start(Request("asks"));
  ASSERT_TRUE(handle.has_value());
  auto requested = WaitFor(*handle, "approval_requested");
  ASSERT_TRUE(requested.has_value());
  const auto& asked = std::get<ApprovalRequestedEvent>(requested->payload);
  EXPECT_FALSE(asked.approval_key.empty());
  EXPECT_EQ(asked.timeout, 10s);
  std::vector<PendingApproval> pending = engine->PendingApprovals();
  ASSERT_EQ(pending.size(), 1u);
  EXPECT_EQ(pending[0].run_id, handle->run_id());
  EXPECT_EQ(pending[0].request.key, asked.approval_key);
  EXPECT_FALSE(handle->done());
  EXPECT_EQ(runtime_->calls(), 0);

  auto answered = engine->Approve(handle->run_id(), ApprovalDecision::kApproveOnce, "test:alice");
  ASSERT_TRUE(answered.has_value()) << answered.error().ToString();
  EXPECT_EQ(*answered, 1u);
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kOk);
  std::vector<RunEvent> events = AllEvents(*handle);
  EXPECT_EQ(Types(events), (std::vector<std::string>{"accepted", "planned", "decided",
                                                      "approval_requested", "approval_decided",
                                                      "started", "output", "finished"}));
  for (const RunEvent& event : events) {
    if (auto* decided = std::get_if<ApprovalDecidedEvent>(&event.payload)) {
      EXPECT_EQ(decided->via, "test:alice");
      EXPECT_EQ(decided->decision, ApprovalDecision::kApproveOnce);
    }
  }
  // Nothing is pending any more; the answer is in the audit log.
  EXPECT_TRUE(engine->PendingApprovals().empty());
  EXPECT_FALSE(engine->Approve(handle->run_id(), ApprovalDecision::kApproveOnce, "x").has_value());
  bool audited = false;
  for (const nlohmann::json& record : Audit(*engine)) {
    if (record["event"] == "approval") {
      audited = true;
      EXPECT_EQ(record["via"], "test:alice");
    }
  }
  EXPECT_TRUE(audited);
}

TEST_F(EngineRunsTest, UnansweredApprovalIsDeniedAtItsTimeout) {
  AskAbout("asks");
  auto engine = Open(FakeRuntime::Prints("{}"), /*approval_timeout=*/50ms);
  auto outcome = engine->Run(Request("asks"));
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_NE(outcome->message.find("timeout"), std::string::npos) << outcome->message;
  EXPECT_EQ(runtime_->calls(), 0);
  // Positive control: without waiting at all, nobody is asked ("none").
  auto engine2 = Open(FakeRuntime::Prints("{}"));
  auto denied = engine2->Run(Request("asks"));
  ASSERT_TRUE(denied.has_value());
  EXPECT_NE(denied->message.find("via none"), std::string::npos) << denied->message;
}

TEST_F(EngineRunsTest, CancelDuringTheRunStopsItAndAuditsOnce) {
  auto engine = Open(FakeRuntime::Ticks());
  auto handle = engine->Start(Request("quiet", "cancel-me_1"));
  ASSERT_TRUE(handle.has_value());
  EXPECT_EQ(handle->run_id(), "cancel-me_1");
  ASSERT_TRUE(WaitFor(*handle, "output").has_value());
  EXPECT_TRUE(handle->Cancel("stopped by the test"));
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_EQ(outcome->message, "stopped by the test");
  EXPECT_EQ(Types(AllEvents(*handle)).back(), "finished");
  std::vector<nlohmann::json> records = Audit(*engine);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "cancelled");
  EXPECT_EQ(records[0]["run_id"], "cancel-me_1");
  // After the end, cancelling does nothing.
  EXPECT_FALSE(handle->Cancel("again"));
  EXPECT_EQ(handle->Wait()->status, Status::kCancelled);
  EXPECT_EQ(Audit(*engine).size(), 1u);
}

TEST_F(EngineRunsTest, ARunOnTheCallersThreadIsHandedOutBeforeItStarts) {
  // Run(request, started): the run is the caller's thread's, and its handle reaches another
  // thread, which cancels it, before anything of it is done.
  const FakeRuntime::Behaviour ticks = FakeRuntime::Ticks();
  std::thread::id ran_on;
  auto engine = Open([&](const Plan& plan, const RunContext& context) {
    ran_on = std::this_thread::get_id();
    return ticks(plan, context);
  });
  std::thread::id started_on;
  bool found_when_started = false;
  std::thread canceller;
  auto outcome = engine->Run(Request("quiet", "inline_1"), [&](RunHandle handle) {
    started_on = std::this_thread::get_id();
    found_when_started = engine->FindRun("inline_1").has_value();
    EXPECT_TRUE(handle.ReadEvents(0, 100, 0ms).events.empty());  // Nothing of it done yet.
    canceller = std::thread([handle]() mutable {
      EXPECT_TRUE(WaitFor(handle, "output").has_value());
      handle.Cancel("from another thread");
    });
  });
  canceller.join();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_EQ(outcome->message, "from another thread");
  EXPECT_EQ(started_on, std::this_thread::get_id());
  EXPECT_EQ(ran_on, std::this_thread::get_id());
  EXPECT_TRUE(found_when_started);
  EXPECT_FALSE(engine->FindRun("inline_1").has_value());
  ASSERT_EQ(Audit(*engine).size(), 1u);
  EXPECT_EQ(Audit(*engine)[0]["status"], "cancelled");
  // Exec the same way; an empty callback is allowed.
  auto exec = engine->Exec(ExecRequest{.skill = "quiet", .argv = {"true"}}, nullptr);
  ASSERT_TRUE(exec.has_value()) << exec.error().ToString();
  EXPECT_EQ(ran_on, std::this_thread::get_id());
}

TEST_F(EngineRunsTest, CancelWhileWaitingForApprovalNeverStartsTheSkill) {
  AskAbout("asks");
  auto engine = Open(FakeRuntime::Prints("{}"), /*approval_timeout=*/30s);
  auto handle = engine->Start(Request("asks"));
  ASSERT_TRUE(handle.has_value());
  ASSERT_TRUE(WaitFor(*handle, "approval_requested").has_value());
  const auto before = std::chrono::steady_clock::now();
  handle->Cancel("user gave up");
  auto outcome = handle->Wait();
  EXPECT_LT(std::chrono::steady_clock::now() - before, 5s);
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_NE(outcome->message.find("user gave up"), std::string::npos);
  EXPECT_EQ(runtime_->calls(), 0);
  EXPECT_TRUE(engine->PendingApprovals().empty());
  std::vector<nlohmann::json> records = Audit(*engine);
  ASSERT_EQ(records.size(), 1u);
  EXPECT_EQ(records[0]["status"], "cancelled");
}

TEST_F(EngineRunsTest, CancelAfterTheEndHasNoEffect) {
  auto engine = Open(FakeRuntime::Prints("{}"));
  auto handle = engine->Start(Request("quiet"));
  ASSERT_TRUE(handle.has_value());
  ASSERT_EQ(handle->Wait()->status, Status::kOk);
  EXPECT_FALSE(handle->Cancel());
  EXPECT_EQ(handle->Wait()->status, Status::kOk);
}

TEST_F(EngineRunsTest, CallerChosenRunIdsAreCheckedAndUnique) {
  auto engine = Open(FakeRuntime::Ticks());
  auto bad = engine->Start(Request("quiet", "no spaces/allowed"));
  ASSERT_FALSE(bad.has_value());
  EXPECT_EQ(bad.error().code, ErrorCode::kInvalidArgument);
  auto longer = engine->Start(Request("quiet", std::string(65, 'a')));
  ASSERT_FALSE(longer.has_value());
  auto first = engine->Start(Request("quiet", "same-id"));
  ASSERT_TRUE(first.has_value());
  auto second = engine->Start(Request("quiet", "same-id"));
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kConflict);
  ASSERT_TRUE(engine->FindRun("same-id").has_value());
  first->Cancel();
  ASSERT_TRUE(first->Wait().has_value());
  EXPECT_FALSE(engine->FindRun("same-id").has_value());
}

TEST_F(EngineRunsTest, FiftyRunsWithThreeApprovalsAnsweredOutOfOrder) {
  AskAbout("asks");
  auto engine = Open(FakeRuntime::Prints("{\"ok\": true}\n"), /*approval_timeout=*/30s);
  std::vector<RunHandle> quiet, asking;
  for (int i = 0; i < 47; ++i) {
    auto handle = engine->Start(Request("quiet"));
    ASSERT_TRUE(handle.has_value()) << handle.error().ToString();
    quiet.push_back(*handle);
  }
  for (int i = 0; i < 3; ++i) {
    auto handle = engine->Start(Request("asks", "asking-" + std::to_string(i)));
    ASSERT_TRUE(handle.has_value());
    asking.push_back(*handle);
  }
  // The runs that need no approval finish while three wait.
  for (RunHandle& handle : quiet) {
    auto outcome = handle.Wait();
    ASSERT_TRUE(outcome.has_value());
    EXPECT_EQ(outcome->status, Status::kOk);
  }
  for (int i = 0; i < 500 && engine->PendingApprovals().size() < 3; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(engine->PendingApprovals().size(), 3u);
  for (RunHandle& handle : asking) EXPECT_FALSE(handle.done());
  // Answered 2, 0, 1: each answer releases its own run only.
  ASSERT_TRUE(engine->Approve("asking-2", ApprovalDecision::kDeny, "test").has_value());
  EXPECT_EQ(asking[2].Wait()->status, Status::kDenied);
  EXPECT_FALSE(asking[0].done());
  ASSERT_TRUE(engine->Approve("asking-0", ApprovalDecision::kApproveOnce, "test").has_value());
  EXPECT_EQ(asking[0].Wait()->status, Status::kOk);
  EXPECT_FALSE(asking[1].done());
  ASSERT_TRUE(engine->Approve("asking-1", ApprovalDecision::kApproveOnce, "test").has_value());
  EXPECT_EQ(asking[1].Wait()->status, Status::kOk);
  EXPECT_EQ(runtime_->calls(), 49);
}

TEST_F(EngineRunsTest, SessionApprovalAnswersOtherRunsWaitingWithTheSameKey) {
  AskAbout("asks");
  auto engine = Open(FakeRuntime::Prints("{}"), /*approval_timeout=*/30s);
  auto a = engine->Start(Request("asks"));
  auto b = engine->Start(Request("asks"));
  ASSERT_TRUE(a.has_value() && b.has_value());
  for (int i = 0; i < 500 && engine->PendingApprovals().size() < 2; ++i) {
    std::this_thread::sleep_for(10ms);
  }
  ASSERT_EQ(engine->PendingApprovals().size(), 2u);
  auto answered = engine->Approve(a->run_id(), ApprovalDecision::kApproveSession, "test");
  ASSERT_TRUE(answered.has_value());
  EXPECT_EQ(*answered, 2u);
  EXPECT_EQ(a->Wait()->status, Status::kOk);
  EXPECT_EQ(b->Wait()->status, Status::kOk);
}

TEST_F(EngineRunsTest, AReaderThatNeverReadsDoesNotHoldTheRunUp) {
  const std::string flood(4 << 20, 'x');
  auto engine = Open(FakeRuntime::Prints(flood, 0, 4096), 0ms, /*event_buffer_bytes=*/64 << 10);
  WriteSkill("big", "");
  testing::WriteFile(skills_ / "big" / "skill.toml",
                     "[entry]\nargv = [\"true\"]\noutput = \"text\"\n[limits]\noutput_kb = 8192\n");
  auto handle = engine->Start(Request("big"));
  ASSERT_TRUE(handle.has_value());
  auto outcome = handle->Wait();  // Nobody read an event.
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->stdout_stream.data.size(), flood.size());
  EventBatch batch = handle->ReadEvents(0, 100000);
  EXPECT_GT(batch.dropped, 0u);
  EXPECT_TRUE(batch.finished);
  const auto& finished = std::get<FinishedEvent>(batch.events.back().payload);
  EXPECT_EQ(finished.events_dropped, batch.dropped);
  uint64_t held = 0;
  for (const RunEvent& event : batch.events) {
    if (auto* o = std::get_if<OutputEvent>(&event.payload)) held += o->data.size();
  }
  EXPECT_LE(held, 64u << 10);
  EXPECT_GT(held, 0u);
  // The events that are never dropped are all there.
  EXPECT_EQ(batch.events.front().type(), "accepted");
}

TEST_F(EngineRunsTest, ClosingTheEngineCancelsRunsInFlight) {
  std::optional<RunHandle> handle;
  {
    auto engine = Open(FakeRuntime::Ticks());
    auto started = engine->Start(Request("quiet"));
    ASSERT_TRUE(started.has_value());
    handle = *started;
    ASSERT_TRUE(WaitFor(*handle, "started").has_value());
  }
  ASSERT_TRUE(handle->done());
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_EQ(outcome->message, "engine closing");
}

TEST_F(EngineRunsTest, ExecRunsThroughTheSamePipeline) {
  testing::WriteFile(skills_ / "quiet" / "skill.toml",
                     "[capabilities]\ncommands = [\"echo\"]\n[limits]\nwall_time_ms = 5000\n");
  auto engine = Open(FakeRuntime::Prints("hi\n"));
  auto handle = engine->Start(ExecRequest{.skill = "quiet", .argv = {"echo", "hi"}});
  ASSERT_TRUE(handle.has_value());
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value());
  EXPECT_EQ(outcome->status, Status::kOk);
  std::vector<RunEvent> events = AllEvents(*handle);
  EXPECT_EQ(std::get<AcceptedEvent>(events[0].payload).kind, "exec");
  EXPECT_EQ(runtime_->plans().at(0).argv, (std::vector<std::string>{"echo", "hi"}));
  // A command the skill does not allow is refused before anything starts.
  auto refused = engine->Exec(ExecRequest{.skill = "quiet", .argv = {"rm", "-rf", "x"}});
  ASSERT_TRUE(refused.has_value());
  EXPECT_EQ(refused->status, Status::kDenied);
  EXPECT_EQ(runtime_->calls(), 1);
}

TEST_F(EngineRunsTest, ASkillsOwnShellScriptIsReadAndAssessed) {
  // A skill without skill.toml whose instructions say `bash scripts/x.sh`.
  const std::filesystem::path dir = skills_ / "shelly";
  testing::WriteFile(dir / "SKILL.md",
                     "---\nname: shelly\ndescription: Counts words.\n---\n"
                     "Run `bash scripts/count.sh`.\n");
  testing::WriteFile(dir / "scripts" / "count.sh", "#!/bin/bash\nls | sort | head -3\n");
  testing::WriteFile(dir / "scripts" / "wipe.sh", "#!/bin/bash\nrm -rf / --no-preserve-root\n");
  auto engine = Open(FakeRuntime::Prints("a\nb\n"));
  auto ok = engine->Exec(ExecRequest{.skill = "shelly", .argv = {"bash", "scripts/count.sh"}});
  ASSERT_TRUE(ok.has_value()) << ok.error().ToString();
  EXPECT_EQ(ok->status, Status::kOk) << ok->message;
  auto wipe = engine->Exec(ExecRequest{.skill = "shelly", .argv = {"bash", "scripts/wipe.sh"}});
  ASSERT_TRUE(wipe.has_value());
  EXPECT_EQ(wipe->status, Status::kDenied);
  EXPECT_NE(wipe->message.find("scripts/wipe.sh"), std::string::npos) << wipe->message;
  // A script that is not the skill's own stays unread, and refused.
  auto other = engine->Exec(ExecRequest{.skill = "shelly", .argv = {"bash", "/tmp/x.sh"}});
  ASSERT_TRUE(other.has_value());
  EXPECT_EQ(other->status, Status::kDenied);
  EXPECT_EQ(runtime_->calls(), 1);
}

TEST_F(EngineRunsTest, AWorkspaceHoldingTheStateDirectoryIsRefused) {
  // Outside /tmp, which is reserved and would be refused for that reason alone.
  testing::VarTmpDir root;
  home_ = root.path() / "home";
  std::filesystem::create_directories(home_);
  std::filesystem::create_directories(root.path() / "work");
  testing::WriteFile(home_ / "policy.toml",
                     "[[rule]]\nname = \"work\"\neffect = \"allow\"\nwrite = [\"" +
                         root.path().string() + "/**\", \"" + root.path().string() + "\"]\n");
  auto engine = Open(FakeRuntime::Prints("{}"));
  RunRequest request = Request("quiet");
  request.overrides.workspace = root.path();  // Holds home_.
  auto outcome = engine->Run(request);
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_NE(outcome->message.find("state directory"), std::string::npos) << outcome->message;
  request.overrides.workspace = home_;
  auto inside = engine->Run(request);
  ASSERT_TRUE(inside.has_value());
  EXPECT_EQ(inside->status, Status::kDenied);
  EXPECT_EQ(runtime_->calls(), 0);
  // Positive control: a workspace beside it is fine.
  request.overrides.workspace = root.path() / "work";
  auto fine = engine->Run(request);
  ASSERT_TRUE(fine.has_value()) << fine.error().ToString();
  EXPECT_EQ(fine->status, Status::kOk) << fine->message;
}

}  // namespace
}  // namespace skillrt
