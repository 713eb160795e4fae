// What a WebAssembly call costs, against the same C program in the native sandbox, measured
// in one run (docs/benchmarks.md). The program is the number-stats example
// (examples/skills/number-stats/src/stats.c): built for wasm32-wasi by scripts/build-wasm.sh
// and natively (static) by CMake. Cases, all through Runtime::Run with the same input:
//   BM_WasmCold        a fresh runtime without a disk cache: read, compile, instantiate, call
//   BM_WasmCachedCold  a fresh runtime with the disk cache filled: read, deserialize, call
//   BM_WasmWarm        one runtime, module compiled: a fresh store and instance, the call;
//                      first argument 1: the default (the next call's set-up made ahead of
//                      need after each call, WasmRuntimeOptions::prepared_calls), 0: none;
//                      second: microseconds between calls (untimed; 0: back to back)
//   BM_WasmWarmCalls   the warm case from 1 and 2 threads at once: calls per second
//   BM_WasmComponentWarm  the slugify component (C), warm, on its per-call thread; argument
//                      as for BM_WasmWarm
//   BM_NativeStats     the native sandbox running the static native build
// Creating a runtime (engine, pooling reservation, ticker thread) is not timed: a host makes
// one per process. Latency cases report min/p50/p99/mean/max as counters, in microseconds.
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "runtime/path_pin.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"

namespace skillrt::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

constexpr char kInput[] = R"({"numbers": [2, 4, 4, 4, 5, 5, 7, 9, 11, 13], "percentiles": [50, 90]})";
const fs::path kStatsSkill = fs::path(SKILLRT_SOURCE_DIR) / "examples/skills/number-stats";
constexpr char kStatsWasm[] = "scripts/stats.wasm";

// The skill directory pinned, as the engine's plans have it (without a pin no call is set up
// ahead: every call resolves the path anew).
void Pin(Plan& plan) {
  if (auto pin = PinHostPath(plan.skill_dir)) plan.skill_dir_pin = *pin;
}

Plan WasmPlan() {
  Plan plan;
  plan.run_id = "wasmbench";
  plan.skill_name = "number-stats";
  plan.skill_dir = kStatsSkill;
  plan.argv = {kStatsWasm};
  plan.stdin_data = kInput;
  plan.limits.memory_max_bytes = 64ull << 20;
  Pin(plan);
  return plan;
}

// A directory for the disk cache and the scratch directories, shared by all cases.
const ScratchDir& Work() {
  static ScratchDir dir("skillrt-wasm-bench");
  return dir;
}

WasmRuntimeOptions Options(bool disk_cache, bool prepared = true) {
  WasmRuntimeOptions options;
  options.scratch_root = Work().path();
  if (disk_cache) options.cache_dir = Work().path() / "cache";
  if (!prepared) options.prepared_calls = 0;
  return options;
}

Result<void> CallOk(Runtime& runtime, const Plan& plan) {
  Result<Outcome> outcome = runtime.Run(plan);
  if (!outcome) return std::unexpected(outcome.error());
  if (outcome->status != Status::kOk) {
    return Fail(ErrorCode::kInternal, "status " + std::string(StatusName(outcome->status)) +
                                          ": " + outcome->message + " " +
                                          outcome->stderr_stream.data);
  }
  return {};
}

bool Ready(benchmark::State& state) {
  if (!Work().ok()) {
    state.SkipWithError("cannot create a scratch directory");
    return false;
  }
  if (!fs::exists(kStatsSkill / kStatsWasm)) {
    state.SkipWithError("examples/skills/number-stats/scripts/stats.wasm is not built; run "
                        "scripts/build-wasm.sh");
    return false;
  }
  return true;
}

// Times one Run per iteration, each on a runtime made (untimed) for it alone.
void MeasureFresh(benchmark::State& state, bool disk_cache) {
  if (!Ready(state)) return;
  const Plan plan = WasmPlan();
  if (disk_cache) {
    // Fill the cache once, untimed.
    auto filler = MakeWasmRuntime(Options(true));
    if (!filler || !CallOk(**filler, plan)) {
      state.SkipWithError("cannot fill the disk cache");
      return;
    }
  }
  std::vector<double> samples_us;
  for (auto _ : state) {
    auto runtime = MakeWasmRuntime(Options(disk_cache));
    if (!runtime) {
      state.SkipWithError(runtime.error().ToString().c_str());
      return;
    }
    const auto start = Clock::now();
    Result<void> r = CallOk(**runtime, plan);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
}

void BM_WasmCold(benchmark::State& state) { MeasureFresh(state, false); }
void BM_WasmCachedCold(benchmark::State& state) { MeasureFresh(state, true); }

// Times Run on a runtime that has `plan` compiled, after warm-up calls; with `gap`, sleeps
// that long (untimed) before each call, as a caller between turns rather than in a loop.
void MeasureWarm(benchmark::State& state, Runtime& runtime, const Plan& plan,
                 std::chrono::microseconds gap = std::chrono::microseconds(0)) {
  for (int i = 0; i < 20; ++i) {
    if (auto r = CallOk(runtime, plan); !r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
  }
  std::vector<double> samples_us;
  samples_us.reserve(static_cast<size_t>(state.max_iterations));
  for (auto _ : state) {
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
    const auto start = Clock::now();
    Result<void> r = CallOk(runtime, plan);
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  ReportLatency(state, std::move(samples_us));
}

void BM_WasmWarm(benchmark::State& state) {
  if (!Ready(state)) return;
  auto runtime = MakeWasmRuntime(Options(true, state.range(0) != 0));
  if (!runtime) {
    state.SkipWithError(runtime.error().ToString().c_str());
    return;
  }
  MeasureWarm(state, **runtime, WasmPlan(), std::chrono::microseconds(state.range(1)));
}

// The slugify example, a component of the skillrt world, warm: a fresh store and instance
// per call on a thread of its own (components run on their own thread so that a call waiting
// in the host can be given up at its deadline; docs/wasm.md).
void BM_WasmComponentWarm(benchmark::State& state) {
  const fs::path skill = fs::path(SKILLRT_SOURCE_DIR) / "examples/skills/slugify";
  if (!Work().ok() || !fs::exists(skill / "scripts/slugify.wasm")) {
    state.SkipWithError("examples/skills/slugify/scripts/slugify.wasm is not built");
    return;
  }
  auto runtime = MakeWasmRuntime(Options(true, state.range(0) != 0));
  if (!runtime) {
    state.SkipWithError(runtime.error().ToString().c_str());
    return;
  }
  Plan plan;
  plan.run_id = "wasmbench";
  plan.skill_name = "slugify";
  plan.skill_dir = skill;
  plan.argv = {"scripts/slugify.wasm"};
  plan.stdin_data = R"({"text": "Crème Brûlée: the ÜBER guide"})";
  plan.limits.memory_max_bytes = 64ull << 20;
  Pin(plan);
  MeasureWarm(state, **runtime, plan);
}

// Calls per second with state.threads() callers sharing one runtime.
void BM_WasmWarmCalls(benchmark::State& state) {
  static std::mutex mutex;
  static std::unique_ptr<Runtime> shared;
  if (state.thread_index() == 0) {
    std::lock_guard lock(mutex);
    if (!shared) {
      auto runtime = MakeWasmRuntime(Options(true));
      if (runtime) shared = std::move(*runtime);
    }
  }
  if (!Ready(state)) return;
  const Plan plan = WasmPlan();
  Runtime* runtime = nullptr;
  {
    // Threads start together; wait until the first one has made the runtime.
    while (true) {
      std::lock_guard lock(mutex);
      if (shared) {
        runtime = shared.get();
        break;
      }
    }
  }
  if (auto r = CallOk(*runtime, plan); !r) {
    state.SkipWithError(r.error().ToString().c_str());
    return;
  }
  for (auto _ : state) {
    if (auto r = CallOk(*runtime, plan); !r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_NativeStats(benchmark::State& state) {
  if (!Ready(state)) return;
  // The native build in a skill directory of its own, as the sandbox mounts it at /skill.
  const fs::path dir = Work().path() / "native-stats";
  std::error_code ec;
  fs::create_directories(dir, ec);
  fs::copy_file(SKILLRT_BENCH_STATS_NATIVE, dir / "stats", fs::copy_options::overwrite_existing,
                ec);
  if (!ec) fs::permissions(dir / "stats", fs::perms(0755), ec);
  if (!ec) fs::permissions(dir, fs::perms(0755), ec);
  if (!ec) fs::permissions(Work().path(), fs::perms(0755), ec);
  if (ec) {
    state.SkipWithError(("cannot set up " + dir.string() + ": " + ec.message()).c_str());
    return;
  }
  auto runtime = MakeNativeRuntime();
  if (!runtime) {
    state.SkipWithError(("MakeNativeRuntime: " + runtime.error().ToString()).c_str());
    return;
  }
  Plan plan;
  plan.run_id = "nativestats";
  plan.skill_name = "native-stats";
  plan.skill_dir = dir;
  plan.argv = {"/skill/stats"};
  plan.commands = {"/skill/stats"};
  plan.env = {"PATH=/usr/bin:/bin"};
  plan.stdin_data = kInput;
  plan.limits.memory_max_bytes = 64ull << 20;
  static std::atomic<uint64_t> runs{0};
  // The run id names the run's cgroup: unique per run.
  const std::string prefix = "wasmbench" + std::to_string(::getpid()) + "_";
  struct Numbered : Runtime {
    Runtime& inner;
    Plan* plan;
    std::string prefix;
    Numbered(Runtime& r, Plan* p, std::string pre) : inner(r), plan(p), prefix(std::move(pre)) {}
    std::string_view Name() const override { return inner.Name(); }
    Result<Outcome> Execute(const Plan&, const RunContext& context) override {
      plan->run_id = prefix + std::to_string(runs++);
      return inner.Execute(*plan, context);
    }
  } numbered(**runtime, &plan, prefix);
  MeasureWarm(state, numbered, plan);
}

BENCHMARK(BM_WasmCold)->Iterations(20)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WasmCachedCold)->Iterations(100)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WasmWarm)->Args({0, 0})->Args({1, 0})->Args({0, 2000})->Args({1, 2000})->Iterations(2000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WasmComponentWarm)->Arg(0)->Arg(1)->Iterations(2000)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_WasmWarmCalls)->Threads(1)->Threads(2)->Iterations(2000)->UseRealTime()
    ->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_NativeStats)->Iterations(300)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace skillrt::bench
