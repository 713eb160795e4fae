// Cancellation in each runtime: the time from CancelToken::Cancel to the runtime returning its
// cancelled outcome (everything stopped and cleaned up), against the baseline of the same
// runtime stopping the same run at its wall-clock limit (from the deadline to the return),
// measured alternately in the same run. Each sample is one fresh run: a sleeping process in
// the native sandbox, a WebAssembly loop and a WebAssembly call waiting in the host, a
// sleeping busybox container.
#include <wasmtime.h>

#include <atomic>
#include <chrono>
#include <fstream>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "engine/plan_builder.h"
#include "skillrt/runtime.h"

namespace skillrt {
namespace {

using bench::ScratchDir;
using Clock = std::chrono::steady_clock;
using namespace std::chrono_literals;

constexpr char kImage[] = "localhost/skillrt-busybox:1";
// How long a run runs before it is cancelled, and the wall-clock limit of a baseline run.
constexpr auto kRunFor = 150ms;

std::atomic<uint64_t> g_runs{0};

std::string NextRunId() {
  return "cancelbench" + std::to_string(::getpid()) + "_" + std::to_string(g_runs++);
}

// Signals once the skill has started (and, for a skill whose runtime reports the start before
// the skill runs, once it has written its first output), so that the cancel lands in a
// running skill.
class StartSignal : public RunObserver {
 public:
  explicit StartSignal(bool wait_for_output) : wait_for_output_(wait_for_output) {}
  void OnStarted(const std::vector<std::string>&) override { started_.store(true); }
  void OnOutput(OutputStream, std::string_view) override { output_.store(true); }
  bool started() const { return started_.load() && (!wait_for_output_ || output_.load()); }

 private:
  const bool wait_for_output_;
  std::atomic<bool> started_{false};
  std::atomic<bool> output_{false};
};

// One cancelled run: started, given kRunFor, cancelled; returns the microseconds from the
// cancel to the return, or nullopt (with the state marked) when the run did not end cancelled.
std::optional<double> CancelOnce(benchmark::State& state, Runtime& runtime, Plan plan,
                                 bool wait_for_output) {
  plan.run_id = NextRunId();
  CancelToken token;
  StartSignal started(wait_for_output);
  std::atomic<int64_t> cancelled_at{0};
  std::thread canceller([&] {
    const auto give_up = Clock::now() + 30s;
    while (!started.started() && Clock::now() < give_up) std::this_thread::sleep_for(1ms);
    std::this_thread::sleep_for(kRunFor);
    cancelled_at.store(Clock::now().time_since_epoch().count());
    token.Cancel("benchmark");
  });
  Result<Outcome> outcome = runtime.Execute(plan, RunContext{.cancel = &token, .observer = &started});
  const auto returned = Clock::now();
  canceller.join();
  if (!outcome || outcome->status != Status::kCancelled) {
    state.SkipWithError(outcome ? ("status " + std::string(StatusName(outcome->status)) + ": " +
                                   outcome->message).c_str()
                                : outcome.error().ToString().c_str());
    return std::nullopt;
  }
  const Clock::time_point at{Clock::duration(cancelled_at.load())};
  return std::chrono::duration<double, std::micro>(returned - at).count();
}

// One run stopped at its wall-clock limit: the microseconds from the deadline to the return.
// The deadline is counted from when the skill started, which the runtime reports.
std::optional<double> TimeoutOnce(benchmark::State& state, Runtime& runtime, Plan plan) {
  plan.run_id = NextRunId();
  plan.limits.wall_time = std::chrono::duration_cast<std::chrono::milliseconds>(kRunFor);
  const auto begin = Clock::now();
  Result<Outcome> outcome = runtime.Run(plan);
  const auto returned = Clock::now();
  if (!outcome || outcome->status != Status::kTimeout) {
    state.SkipWithError(outcome ? ("baseline status " + std::string(StatusName(outcome->status)) +
                                   ": " + outcome->message).c_str()
                                : outcome.error().ToString().c_str());
    return std::nullopt;
  }
  // The runtime's deadline is begin + wall_time at the earliest: this overstates the stop.
  return std::chrono::duration<double, std::micro>(returned - (begin + kRunFor)).count();
}

// Alternates a cancelled run and a timed-out run of `plan`, and reports both: cancel_* and
// timeout_* counters (p50, p99 in microseconds).
void Measure(benchmark::State& state, Runtime& runtime, const Plan& plan,
             bool wait_for_output = false) {
  std::vector<double> cancel, timeout;
  for (auto _ : state) {
    auto c = CancelOnce(state, runtime, plan, wait_for_output);
    if (!c) return;
    auto t = TimeoutOnce(state, runtime, plan);
    if (!t) return;
    cancel.push_back(*c);
    timeout.push_back(*t);
    state.SetIterationTime(*c / 1e6);
  }
  const bench::Summary cs = bench::Summarize(cancel);
  const bench::Summary ts = bench::Summarize(timeout);
  state.counters["cancel_p50_us"] = cs.p50_us;
  state.counters["cancel_p99_us"] = cs.p99_us;
  state.counters["timeout_p50_us"] = ts.p50_us;
  state.counters["timeout_p99_us"] = ts.p99_us;
}

const std::filesystem::path& SkillDir() {
  static ScratchDir dir("skillrt-cancel-bench");
  return dir.path();
}

void BM_CancelNative(benchmark::State& state) {
  static auto runtime = MakeNativeRuntime(NativeRuntimeOptions{.keep_prepared_sandbox = false});
  if (!runtime) {
    state.SkipWithError(runtime.error().ToString().c_str());
    return;
  }
  Plan plan;
  plan.skill_name = "cancel-bench";
  plan.skill_dir = SkillDir();
  plan.argv = {"sleep", "60"};
  plan.commands = {"sleep"};
  plan.env = {"PATH=/usr/bin:/bin"};
  plan.limits.wall_time = 60s;
  Measure(state, **runtime, plan);
}

std::string WatToFile(const std::string& wat, const std::string& name) {
  wasm_byte_vec_t out;
  wasmtime_error_t* error = wasmtime_wat2wasm(wat.data(), wat.size(), &out);
  if (error != nullptr) {
    wasmtime_error_delete(error);
    return "";
  }
  std::ofstream(SkillDir() / name, std::ios::binary).write(out.data, static_cast<long>(out.size));
  wasm_byte_vec_delete(&out);
  return (SkillDir() / name).string();
}

// A WASI command whose _start runs `body`.
std::string Command(const std::string& body) {
  return "(module (import \"wasi_snapshot_preview1\" \"poll_oneoff\" (func $poll_oneoff (param "
         "i32 i32 i32 i32) (result i32))) (import \"wasi_snapshot_preview1\" \"proc_exit\" "
         "(func $proc_exit (param i32))) (memory (export \"memory\") 1) (func (export "
         "\"_start\") " + body + "))";
}

void WasmCase(benchmark::State& state, const std::string& wat, const std::string& name) {
  static auto runtime = MakeWasmRuntime();
  if (!runtime) {
    state.SkipWithError(runtime.error().ToString().c_str());
    return;
  }
  if (WatToFile(wat, name).empty()) {
    state.SkipWithError("wat2wasm failed");
    return;
  }
  Plan plan;
  plan.skill_name = "cancel-bench";
  plan.skill_dir = SkillDir();
  plan.argv = {name};
  plan.limits.wall_time = 60s;
  Measure(state, **runtime, plan);
}

void BM_CancelWasmLoop(benchmark::State& state) {
  WasmCase(state, Command("(loop $l (br $l))"), "loop.wasm");
}

void BM_CancelWasmHostWait(benchmark::State& state) {
  // poll_oneoff on a one-hour relative clock: the guest sleeps in the host (in slices that
  // look at the cancellation).
  WasmCase(state,
           Command("(i64.store (i32.const 64) (i64.const 42)) (i32.store8 (i32.const 72) "
                   "(i32.const 0)) (i32.store (i32.const 80) (i32.const 1)) (i64.store "
                   "(i32.const 88) (i64.const 3600000000000)) (i32.store16 (i32.const 104) "
                   "(i32.const 0)) (call $proc_exit (call $poll_oneoff (i32.const 64) (i32.const "
                   "128) (i32.const 1) (i32.const 160)))"),
           "sleep.wasm");
}

void BM_CancelContainer(benchmark::State& state) {
  static auto runtime = MakeContainerRuntime();
  if (!runtime) {
    state.SkipWithError(runtime.error().ToString().c_str());
    return;
  }
  std::ofstream(SkillDir() / "run.sh") << "echo started; sleep 60\n";
  Plan plan;
  plan.skill_name = "cancel-bench";
  plan.skill_dir = SkillDir();
  plan.argv = {"/bin/sh", "/skill/run.sh"};
  plan.env = BaseEnvironment("cancel-bench");
  plan.limits.wall_time = 60s;
  ContainerSpec spec;
  spec.image = kImage;
  plan.container = spec;
  // The engine reports the start when its CLI starts; the container runs once it prints.
  Measure(state, **runtime, plan, /*wait_for_output=*/true);
}

BENCHMARK(BM_CancelNative)->Iterations(40)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CancelWasmLoop)->Iterations(40)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CancelWasmHostWait)->Iterations(40)->UseManualTime()->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CancelContainer)->Iterations(15)->UseManualTime()->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace skillrt
