// Run events through each real runtime (docs/events.md): the order and content of the events
// of an ok, a failing, a timed-out, a cancelled, a denied and an approved run, in the native
// sandbox, under Wasmtime and in a container. src/engine/engine_runs_test.cc covers the same
// with a fake runtime on any host; this proves the runtimes report what the engine relays.
// A runtime that cannot run here (no container engine or image, no WebAssembly probes) skips
// with the reason.
#include <algorithm>
#include <cstdlib>
#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "run_events_util.h"
#include "skillrt/engine.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kImage = "localhost/skillrt-busybox:1";
const fs::path kWasmProbes = SKILLRT_WASM_PROBE_DIR;

// What one scenario's skill does.
enum class Act { kPrint, kFail, kHang };

class RuntimeEventsTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
    fs::create_directories(home_);
    const std::string& runtime = GetParam();
    if (runtime == "wasm" && fs::exists(kWasmProbes / "UNAVAILABLE")) {
      GTEST_SKIP() << "wasm probes not built: " << testing::ReadFile(kWasmProbes / "UNAVAILABLE");
    }
    if (runtime == "container") {
      const std::string check =
          std::string("podman image exists ") + kImage + " >/dev/null 2>&1";
      if (std::system(check.c_str()) != 0) {
        GTEST_SKIP() << "no container engine with " << kImage
                     << " here (scripts/build-container-image.sh)";
      }
    }
    // The policy: `denied` is refused, `asked` needs an approval, the rest is allowed.
    testing::WriteFile(home_ / "policy.toml",
                       "[[rule]]\nname = \"no-denied\"\neffect = \"deny\"\nskills = [\"denied\"]\n"
                       "[[rule]]\nname = \"ask-asked\"\neffect = \"ask\"\nskills = [\"asked\"]\n");
    WriteSkill("ok", Act::kPrint, 20'000);
    WriteSkill("fails", Act::kFail, 20'000);
    WriteSkill("hangs", Act::kHang, 60'000);
    WriteSkill("slow", Act::kHang, 1'500);
    WriteSkill("denied", Act::kPrint, 20'000);
    WriteSkill("asked", Act::kPrint, 20'000);
    EngineOptions options;
    options.home = home_;
    options.skill_roots = {skills_};
    options.approval_timeout = 20s;
    auto engine = Engine::Open(std::move(options));
    ASSERT_TRUE(engine.has_value()) << engine.error().ToString();
    engine_ = std::move(*engine);
  }

  // A skill of this test's runtime that prints "hello" (kPrint), writes "oops" to stderr and
  // exits 3 (kFail), or prints "started" and then never ends by itself (kHang).
  void WriteSkill(const std::string& name, Act act, int wall_time_ms) {
    const fs::path dir = skills_ / name;
    testing::WriteFile(dir / "SKILL.md", "---\nname: " + name +
                                             "\ndescription: A skill for event tests.\n---\n# " +
                                             name + "\n");
    const std::string limits = "[limits]\nwall_time_ms = " + std::to_string(wall_time_ms) + "\n";
    const std::string script = act == Act::kPrint  ? "echo hello\n"
                               : act == Act::kFail ? "echo oops >&2\nexit 3\n"
                                                   : "echo started\nexec sleep 60\n";
    const std::string& runtime = GetParam();
    if (runtime == "native") {
      testing::WriteFile(dir / "run.sh", script);
      testing::WriteFile(dir / "skill.toml",
                         "runtime = \"native\"\n[entry]\nargv = [\"sh\", \"run.sh\"]\n"
                         "output = \"text\"\n[capabilities]\ncommands = [\"sh\", \"sleep\"]\n" +
                             limits);
    } else if (runtime == "container") {
      testing::WriteFile(dir / "run.sh", script);
      testing::WriteFile(dir / "skill.toml",
                         std::string("runtime = \"container\"\n[container]\nimage = \"") + kImage +
                             "\"\ncommand = [\"/bin/sh\", \"/skill/run.sh\"]\n"
                             "user = \"65534:65534\"\n[entry]\noutput = \"text\"\n" + limits);
    } else {
      // spin.wasm: `spin N` prints {"iterations": N}; `spin` loops until stopped. trap.wasm
      // traps (an error).
      const std::string module = act == Act::kFail ? "trap.wasm" : "spin.wasm";
      fs::create_directories(dir / "scripts");
      fs::copy_file(kWasmProbes / module, dir / "scripts" / module,
                    fs::copy_options::overwrite_existing);
      const std::string args = act == Act::kPrint ? ", \"1000\"" : "";
      testing::WriteFile(dir / "skill.toml",
                         "runtime = \"wasm\"\n[entry]\nargv = [\"scripts/" + module + "\"" + args +
                             "]\noutput = \"text\"\n" + limits);
    }
  }

  static std::vector<RunEvent> AllEvents(const RunHandle& handle) {
    return testing::AllEvents(handle);
  }
  static std::vector<std::string> Types(const std::vector<RunEvent>& events) {
    return testing::EventTypes(events);
  }
  static bool WaitFor(const RunHandle& handle, std::string_view type,
                      std::chrono::milliseconds wait = 30s) {
    return testing::WaitForEvent(handle, type, wait).has_value();
  }

  static std::string Output(const std::vector<RunEvent>& events) {
    std::string out;
    for (const RunEvent& event : events) {
      if (auto* o = std::get_if<OutputEvent>(&event.payload)) out += o->data;
    }
    return out;
  }

  // Runs `skill` to the end and checks what every run shares: sequence numbers from 1, the
  // run id on each event, times in order, `finished` last and carrying `status`.
  std::vector<RunEvent> RunAndCheck(const std::string& skill, Status status) {
    auto handle = engine_->Start(RunRequest{.skill = skill});
    EXPECT_TRUE(handle.has_value()) << handle.error().ToString();
    if (!handle) return {};
    auto outcome = handle->Wait();
    EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
    if (outcome) {
      EXPECT_EQ(outcome->status, status) << outcome->message;
    }
    std::vector<RunEvent> events = AllEvents(*handle);
    CheckCommon(events, handle->run_id(), status);
    return events;
  }

  static void CheckCommon(const std::vector<RunEvent>& events, const std::string& run_id,
                          Status status) {
    ASSERT_FALSE(events.empty());
    for (size_t i = 0; i < events.size(); ++i) {
      EXPECT_EQ(events[i].seq, i + 1);
      EXPECT_EQ(events[i].run_id, run_id);
      if (i > 0) {
        EXPECT_GE(events[i].time, events[i - 1].time);
      }
    }
    EXPECT_EQ(RunEventToJson(events.back())["status"], StatusName(status));
  }

  testing::TempDir tmp_;
  fs::path skills_, home_;
  std::unique_ptr<Engine> engine_;
};

TEST_P(RuntimeEventsTest, AnOkRun) {
  std::vector<RunEvent> events = RunAndCheck("ok", Status::kOk);
  EXPECT_EQ(Types(events), (std::vector<std::string>{"accepted", "planned", "decided", "started",
                                                      "output", "finished"}));
  const auto& planned = std::get<PlannedEvent>(events[1].payload);
  EXPECT_EQ(planned.runtime, GetParam());
  EXPECT_EQ(planned.limits.wall_time, 20s);
  for (const RunEvent& event : events) {
    if (auto* started = std::get_if<StartedEvent>(&event.payload)) {
      EXPECT_FALSE(started->layers.empty());
    }
  }
  EXPECT_EQ(Output(events), GetParam() == "wasm" ? "{\"iterations\": 1000}\n" : "hello\n");
}

TEST_P(RuntimeEventsTest, AFailingRun) {
  std::vector<RunEvent> events = RunAndCheck("fails", Status::kError);
  std::vector<std::string> types = Types(events);
  ASSERT_GE(types.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 4),
            (std::vector<std::string>{"accepted", "planned", "decided", "started"}));
  EXPECT_EQ(types.back(), "finished");
  if (GetParam() != "wasm") {
    EXPECT_EQ(Output(events), "oops\n");
  }
}

TEST_P(RuntimeEventsTest, ARunStoppedAtItsWallClockLimit) {
  std::vector<RunEvent> events = RunAndCheck("slow", Status::kTimeout);
  std::vector<std::string> types = Types(events);
  ASSERT_GE(types.size(), 5u);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 4),
            (std::vector<std::string>{"accepted", "planned", "decided", "started"}));
  EXPECT_EQ(types.back(), "finished");
}

TEST_P(RuntimeEventsTest, ACancelledRun) {
  auto handle = engine_->Start(RunRequest{.skill = "hangs"});
  ASSERT_TRUE(handle.has_value()) << handle.error().ToString();
  // The WebAssembly loop prints nothing: its start is the cue. The others print "started".
  ASSERT_TRUE(WaitFor(*handle, GetParam() == "wasm" ? "started" : "output"));
  EXPECT_TRUE(handle->Cancel("the test is done with it"));
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kCancelled);
  EXPECT_NE(outcome->message.find("the test is done with it"), std::string::npos)
      << outcome->message;
  std::vector<RunEvent> events = AllEvents(*handle);
  CheckCommon(events, handle->run_id(), Status::kCancelled);
  std::vector<std::string> types = Types(events);
  EXPECT_EQ(std::vector<std::string>(types.begin(), types.begin() + 4),
            (std::vector<std::string>{"accepted", "planned", "decided", "started"}));
  EXPECT_EQ(types.back(), "finished");
  // A cancel after the end changes nothing.
  EXPECT_FALSE(handle->Cancel("again"));
  EXPECT_EQ(handle->Wait()->status, Status::kCancelled);
}

TEST_P(RuntimeEventsTest, ADeniedRunNeverStarts) {
  std::vector<RunEvent> events = RunAndCheck("denied", Status::kDenied);
  EXPECT_EQ(Types(events),
            (std::vector<std::string>{"accepted", "planned", "decided", "finished"}));
  EXPECT_EQ(std::get<DecidedEvent>(events[2].payload).decision.effect, PolicyEffect::kDeny);
}

TEST_P(RuntimeEventsTest, AnApprovedRunStartsAfterTheAnswer) {
  auto handle = engine_->Start(RunRequest{.skill = "asked"});
  ASSERT_TRUE(handle.has_value()) << handle.error().ToString();
  ASSERT_TRUE(WaitFor(*handle, "approval_requested"));
  EXPECT_FALSE(handle->done());
  auto answered = engine_->Approve(handle->run_id(), ApprovalDecision::kApproveOnce, "test:bob");
  ASSERT_TRUE(answered.has_value()) << answered.error().ToString();
  auto outcome = handle->Wait();
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk) << outcome->message;
  std::vector<RunEvent> events = AllEvents(*handle);
  CheckCommon(events, handle->run_id(), Status::kOk);
  EXPECT_EQ(Types(events), (std::vector<std::string>{"accepted", "planned", "decided",
                                                      "approval_requested", "approval_decided",
                                                      "started", "output", "finished"}));
  for (const RunEvent& event : events) {
    if (auto* decided = std::get_if<ApprovalDecidedEvent>(&event.payload)) {
      EXPECT_EQ(decided->via, "test:bob");
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeEventsTest,
                         ::testing::Values("native", "wasm", "container"),
                         [](const auto& info) { return info.param; });

}  // namespace
}  // namespace skillrt
