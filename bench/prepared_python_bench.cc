// A warm Python call in the native sandbox from a long-lived runtime, with and without prepared
// interpreters (docs/sandbox.md, "Prepared sandboxes"):
//
//   PreparedPython/Interleaved  one runtime with NativeRuntimeOptions::prepared_sandboxes
//             at 0 (the baseline: each call spawns its sandbox and python3 starts in it) and
//             one with the default (a call of a plan run before is released into an
//             interpreter initialised ahead of need), their calls alternating, which one goes
//             first alternating each round, with a pause between rounds (an agent's calls are
//             not back to back; the background thread prepares the next interpreter then).
//
// The skill is examples/skills/calculator (python3 scripts/calc.py reading an expression as
// JSON on stdin), with its manifest's limits. Timed: Runtime::Run, from the plan to the
// outcome (the engine's duration_ms without planning and audit). Counters: base_p50_us,
// base_p99_us, prepared_p50_us, prepared_p99_us; base_to_start_p50_us and
// prepared_to_start_p50_us, the part of each before the skill's code was released (the
// observer's OnStarted); and load1 (the load average when the case ended).
#include <stdlib.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <benchmark/benchmark.h>

#include "bench_util.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"

namespace skillrt::bench {
namespace {

using Clock = std::chrono::steady_clock;

constexpr int kRounds = 60;
constexpr auto kPause = std::chrono::milliseconds(300);

Plan CalculatorPlan(int serial) {
  Plan plan;
  plan.run_id = "ppbench" + std::to_string(::getpid()) + "_" + std::to_string(serial);
  plan.skill_name = "calculator";
  plan.skill_dir = std::string(SKILLRT_SOURCE_DIR) + "/examples/skills/calculator";
  plan.commands = {"python3"};
  plan.argv = {"python3", "scripts/calc.py"};
  plan.env = {"PATH=/usr/local/bin:/usr/bin:/bin", "HOME=/tmp", "TMPDIR=/tmp", "LANG=C.UTF-8",
              "SKILL_DIR=/skill", "SKILLRT_RUN_ID=" + plan.run_id};
  plan.stdin_data = R"J({"expression": "2*(3+4) + sqrt(16)"})J";
  plan.limits.wall_time = std::chrono::milliseconds(10'000);
  plan.limits.cpu_time = std::chrono::milliseconds(5'000);
  plan.limits.memory_max_bytes = 128ull << 20;
  plan.limits.pids_max = 8;
  plan.limits.output_max_bytes = 64 << 10;
  plan.tree_sha256 = std::string(64, 'c');
  return plan;
}

// Notes when the skill's code was released (Runtime's OnStarted): what comes before is the
// supervisor's work and the release, what comes after is the script, its exit and the reaping.
class StartClock : public RunObserver {
 public:
  void OnStarted(const std::vector<std::string>&) override { started = Clock::now(); }
  Clock::time_point started;
};

void BM_PreparedPythonInterleaved(benchmark::State& state) {
  NativeRuntimeOptions off;
  off.prepared_sandboxes = 0;
  auto base = MakeNativeRuntime(off);
  auto prepared = MakeNativeRuntime();
  if (!base || !prepared) {
    state.SkipWithError("native runtime unavailable");
    return;
  }
  int serial = 0;
  std::vector<double> base_us, prepared_us, base_start_us, prepared_start_us;
  for (auto _ : state) {
    for (int round = 0; round < kRounds + 3; ++round) {
      for (int turn = 0; turn < 2; ++turn) {
        const bool candidate = (round % 2 == 0) == (turn == 0);
        Runtime& rt = candidate ? **prepared : **base;
        Plan plan = CalculatorPlan(serial++);
        StartClock clock;
        const auto start = Clock::now();
        auto outcome = rt.Execute(plan, RunContext{.observer = &clock});
        const double us =
            std::chrono::duration<double, std::micro>(Clock::now() - start).count();
        const double start_us =
            std::chrono::duration<double, std::micro>(clock.started - start).count();
        if (!outcome || outcome->status != Status::kOk) {
          state.SkipWithError(outcome ? outcome->stderr_stream.data.c_str()
                                      : outcome.error().message.c_str());
          return;
        }
        if (round < 3) continue;  // The first calls: page cache, the first interpreter.
        (candidate ? prepared_us : base_us).push_back(us);
        (candidate ? prepared_start_us : base_start_us).push_back(start_us);
      }
      std::this_thread::sleep_for(kPause);
    }
    state.SetIterationTime(1e-6 * (Summarize(prepared_us).mean_us));
  }
  const Summary b = Summarize(base_us), p = Summarize(prepared_us);
  state.counters["base_p50_us"] = b.p50_us;
  state.counters["base_p99_us"] = b.p99_us;
  state.counters["prepared_p50_us"] = p.p50_us;
  state.counters["prepared_p99_us"] = p.p99_us;
  state.counters["base_to_start_p50_us"] = Summarize(base_start_us).p50_us;
  state.counters["prepared_to_start_p50_us"] = Summarize(prepared_start_us).p50_us;
  double load[1] = {0};
  if (::getloadavg(load, 1) == 1) state.counters["load1"] = load[0];
}
BENCHMARK(BM_PreparedPythonInterleaved)->Name("PreparedPython/Interleaved")->Iterations(1)
    ->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace skillrt::bench
