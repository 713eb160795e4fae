// How long it takes to run a program that does nothing, from the call to its reaping:
//
//   ForkExec  posix_spawn + waitpid, no isolation: the floor;
//   Library   skillrt::Runtime::Run with every layer of the native sandbox (docs/sandbox.md);
//             second argument 1: with sandboxes prepared for the plan (the default of a
//             long-lived engine: the next run's sandbox is made, every layer applied, after
//             each run, and held before execve), 0: without (only a spare sandbox spawned
//             ahead, set up when the run comes); each reports cpu_per_run_us, the CPU time of
//             the whole process and its children per run (the preparation included);
//   LibrarySpaced  the same with the runs 50 ms apart instead of back to back;
//   Cli       `skillrt exec <skill dir> -- /skill/trivial` as a subprocess: the library plus
//             the CLI's start-up, skill loading, plan building and audit record;
//   Bwrap     bubblewrap with a comparable set of namespaces and mounts;
//   Interleaved  Library and Bwrap alternating in one loop, each run after untimed work of
//             another process (what a busy host sees); second argument as for Library.
//
// Each case runs a fixed number of iterations, timed one by one (manual time), and reports
// the latency distribution as counters: min_us, p50_us, p99_us, mean_us, max_us. The Bwrap
// case also reports bwrap_over_library_p50, when the Library case ran before it.
// scripts/bench.sh builds this, runs it and prints the table; docs/benchmarks.md has results.
#include <benchmark/benchmark.h>
#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "bench_util.h"
#include "skillrt/plan.h"
#include "skillrt/runtime.h"

namespace skillrt::bench {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// Untimed runs before each case: page cache, lazily built kernel state, first-run allocations.
constexpr int kWarmupRuns = 5;
// The skill directory's name; also the skill's name in its SKILL.md.
constexpr char kSkillName[] = "spawnbench";
// The programs every case can start, by benchmark argument: 0 is a static C program that
// returns 0 (glibc start-up included); 1 is the same without any C library (bench/bare.c),
// which leaves only what the spawning mechanism costs.
constexpr const char* kPrograms[] = {"/skill/trivial", "/skill/bare"};
constexpr const char* kProgramSources[] = {SKILLRT_BENCH_TRIVIAL,
#ifdef SKILLRT_BENCH_BARE
                                           SKILLRT_BENCH_BARE
#else
                                           ""
#endif
};
const char* Program(const benchmark::State& state) { return kPrograms[state.range(0)]; }
constexpr char kPathValue[] = "/usr/local/bin:/usr/bin:/bin";
constexpr char kPath[] = "PATH=/usr/local/bin:/usr/bin:/bin";
constexpr char kBwrap[] = "/usr/bin/bwrap";

// Everything the cases share, made once: a skill directory holding the trivial program with a
// SKILL.md and skill.toml (so the CLI accepts it), and a state directory for the CLI.
struct Fixture {
  ScratchDir root{"skillrt-bench"};
  fs::path skill_dir;
  fs::path home;
  std::string error;  // Non-empty if the fixture could not be made.
};

const Fixture& GetFixture() {
  static const std::unique_ptr<Fixture> fixture = [] {
    auto f = std::make_unique<Fixture>();
    if (!f->root.ok()) {
      f->error = "cannot create a scratch directory under $TMPDIR or /tmp";
      return f;
    }
    f->skill_dir = f->root.path() / kSkillName;
    f->home = f->root.path() / "home";
    std::error_code ec;
    fs::create_directories(f->skill_dir, ec);
    if (!ec) fs::create_directories(f->home, ec);
    for (int i = 0; i < 2 && !ec; ++i) {
      if (*kProgramSources[i] == '\0') continue;
      const fs::path target = f->skill_dir / fs::path(kPrograms[i]).filename();
      fs::copy_file(kProgramSources[i], target, fs::copy_options::overwrite_existing, ec);
      if (!ec) fs::permissions(target, fs::perms(0755), ec);
    }
    if (ec) {
      f->error = "cannot set up " + f->skill_dir.string() + ": " + ec.message();
      return f;
    }
    fs::permissions(f->skill_dir, fs::perms(0755), ec);
    std::ofstream(f->skill_dir / "SKILL.md")
        << "---\nname: " << kSkillName
        << "\ndescription: Exits at once; used to measure the cost of a sandboxed spawn.\n---\n"
           "Runs `/skill/trivial`, which does nothing.\n";
    std::ofstream(f->skill_dir / "skill.toml")
        << "[capabilities]\ncommands = [\"" << kPrograms[0] << "\", \"" << kPrograms[1] << "\"]\n";
    return f;
  }();
  return *fixture;
}

// The Library case's p50 per program, kept for the Bwrap case's ratio; 0 until it ran.
double g_library_p50_us[2] = {0, 0};
// Runs started through the library so far in this process; numbers the run ids.
uint64_t g_runs = 0;

// Runs `spawn_once` kWarmupRuns times untimed, then once per benchmark iteration (after an
// untimed sleep of `gap`), timing each call; sets the latency counters and returns the summary.
// Stops the case at the first error.
Summary Measure(benchmark::State& state, const std::function<Result<void>()>& spawn_once,
                std::chrono::milliseconds gap = std::chrono::milliseconds(0)) {
  const Fixture& fixture = GetFixture();
  if (!fixture.error.empty()) {
    state.SkipWithError(fixture.error.c_str());
    return {};
  }
  for (int i = 0; i < kWarmupRuns; ++i) {
    if (auto r = spawn_once(); !r) {
      state.SkipWithError(r.error().ToString().c_str());
      return {};
    }
  }
  std::vector<double> samples_us;
  samples_us.reserve(static_cast<size_t>(state.max_iterations));
  for (auto _ : state) {
    if (gap.count() > 0) std::this_thread::sleep_for(gap);
    const auto start = Clock::now();
    Result<void> r = spawn_once();
    const std::chrono::duration<double> elapsed = Clock::now() - start;
    if (!r) {
      state.SkipWithError(r.error().ToString().c_str());
      return {};
    }
    state.SetIterationTime(elapsed.count());
    samples_us.push_back(elapsed.count() * 1e6);
  }
  return ReportLatency(state, std::move(samples_us));
}

// Turns a wait status into an error unless the program exited 0.
Result<void> ExitedZero(const std::string& what, Result<int> status) {
  if (!status) return std::unexpected(status.error());
  if (WIFEXITED(*status) && WEXITSTATUS(*status) == 0) return {};
  return Fail(ErrorCode::kInternal,
              what + ": " +
                  (WIFEXITED(*status) ? "exited " + std::to_string(WEXITSTATUS(*status))
                                      : "killed by signal " + std::to_string(WTERMSIG(*status))));
}

void BM_ForkExec(benchmark::State& state) {
  const std::vector<std::string> argv = {
      (GetFixture().skill_dir / fs::path(Program(state)).filename()).string()};
  Measure(state, [&] { return ExitedZero(argv[0], SpawnAndWait(argv, {kPath})); });
}

// Whether the case keeps sandboxes prepared for its plan: the state's second argument.
bool Prepared(const benchmark::State& state) { return state.range(1) != 0; }

// CPU time (user + system) of this process and its reaped children so far, in microseconds.
double CpuUs() {
  double us = 0;
  for (int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage ru = {};
    ::getrusage(who, &ru);
    us += 1e6 * static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
          static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec);
  }
  return us;
}

// A function that runs the state's program once through a native runtime of its own (kept
// alive by the function), or the error that kept the runtime from being made. With
// `prepared`, the runtime keeps sandboxes prepared for the plan, which carries a tree hash
// as the engine's plans do.
Result<std::function<Result<void>()>> LibraryRun(const benchmark::State& state, bool prepared) {
  NativeRuntimeOptions options;
  options.prepared_sandboxes = prepared ? 4 : 0;
  Result<std::unique_ptr<Runtime>> made = MakeNativeRuntime(options);
  if (!made) return std::unexpected(made.error());
  std::shared_ptr<Runtime> runtime = std::move(*made);
  auto plan = std::make_shared<Plan>();
  plan->skill_name = kSkillName;
  plan->skill_dir = GetFixture().skill_dir;
  plan->argv = {Program(state)};
  plan->commands = {Program(state)};
  plan->env = {kPath};
  plan->tree_sha256 = std::string(64, '0');  // The bench's skill never changes.
  const std::string run_prefix = "bench" + std::to_string(::getpid()) + "_";
  return [runtime, plan, run_prefix]() -> Result<void> {
    // The run id names the run's cgroup, so it is unique across cases too.
    plan->run_id = run_prefix + std::to_string(g_runs++);
    Result<Outcome> outcome = runtime->Run(*plan);
    if (!outcome) return std::unexpected(outcome.error());
    if (outcome->status != Status::kOk) {
      return Fail(ErrorCode::kInternal, "Runtime::Run: status " +
                                            std::string(StatusName(outcome->status)) + ": " +
                                            outcome->message);
    }
    return {};
  };
}

// Runs the trivial program through the native runtime; with `gap`, sleeps that long (untimed)
// before each run, as a caller that starts a skill now and then rather than in a tight loop.
// Returns the summary, all zero if the case failed; sets cpu_per_run_us.
Summary MeasureLibrary(benchmark::State& state, std::chrono::milliseconds gap) {
  auto run_once = LibraryRun(state, Prepared(state));
  if (!run_once) {
    state.SkipWithError(("MakeNativeRuntime: " + run_once.error().ToString()).c_str());
    return {};
  }
  const double cpu_before = CpuUs();
  const Summary s = Measure(state, *run_once, gap);
  state.counters["cpu_per_run_us"] =
      (CpuUs() - cpu_before) / static_cast<double>(state.max_iterations + kWarmupRuns);
  return s;
}

void BM_Library(benchmark::State& state) {
  const double p50 = MeasureLibrary(state, std::chrono::milliseconds(0)).p50_us;
  if (!Prepared(state)) g_library_p50_us[state.range(0)] = p50;
}

// The kernel makes the first write to a cgroup.procs file after an idle spell wait for an RCU
// grace period (the cgroup threadgroup lock's fast path has to be switched off); runs in a
// tight loop mostly find it already off. This case shows what an occasional caller sees.
void BM_LibrarySpaced(benchmark::State& state) {
  MeasureLibrary(state, std::chrono::milliseconds(50));
}

void BM_Cli(benchmark::State& state) {
  const Fixture& fixture = GetFixture();
  if (::access(SKILLRT_CLI_PATH, X_OK) != 0) {
    state.SkipWithError("skillrt CLI not built at " SKILLRT_CLI_PATH "; row skipped");
    return;
  }
  const std::vector<std::string> argv = {SKILLRT_CLI_PATH, "--home", fixture.home.string(),
                                         "--quiet",        "exec",   fixture.skill_dir.string(),
                                         "--",             Program(state)};
  const std::vector<std::string> env = {kPath, "SKILLRT_HOME=" + fixture.home.string(),
                                        "HOME=" + fixture.home.string()};
  Measure(state, [&] { return ExitedZero("skillrt exec", SpawnAndWait(argv, env)); });
}

// bubblewrap's command line for `program`.
std::vector<std::string> BwrapArgv(const char* program) {
  // As close to the native sandbox's setup as bubblewrap's options allow: a namespace of every
  // kind, a new session, no capabilities, dying with its parent; a tmpfs root holding /usr (and
  // the merged-/usr links), the program's directory read-only at /skill as the working
  // directory, a new /proc, a minimal /dev and a private /tmp. No Landlock, seccomp or cgroup.
  return {kBwrap,
          "--unshare-all",
          "--die-with-parent",
          "--new-session",
          "--cap-drop",
          "ALL",
          "--clearenv",
          "--setenv",
          "PATH",
          kPathValue,
          "--ro-bind",
          "/usr",
          "/usr",
          "--symlink",
          "usr/bin",
          "/bin",
          "--symlink",
          "usr/sbin",
          "/sbin",
          "--symlink",
          "usr/lib",
          "/lib",
          "--symlink",
          "usr/lib64",
          "/lib64",
          "--ro-bind",
          GetFixture().skill_dir.string(),
          "/skill",
          "--proc",
          "/proc",
          "--dev",
          "/dev",
          "--tmpfs",
          "/tmp",
          "--chdir",
          "/skill",
          program};
}

void BM_Bwrap(benchmark::State& state) {
  if (::access(kBwrap, X_OK) != 0) {
    state.SkipWithError("bubblewrap not installed at /usr/bin/bwrap; row skipped");
    return;
  }
  const std::vector<std::string> argv = BwrapArgv(Program(state));
  const Summary s =
      Measure(state, [&] { return ExitedZero("bwrap", SpawnAndWait(argv, {kPath})); });
  if (s.p50_us > 0 && g_library_p50_us[state.range(0)] > 0) {
    state.counters["bwrap_over_library_p50"] = s.p50_us / g_library_p50_us[state.range(0)];
  }
}

// The library run as a host with more memory sees it: the process first touches
// state.range(1) MiB of its own heap (a long-lived engine with a search model and caches
// holds hundreds), then runs the trivial program in a tight loop. The sandbox's child is
// cloned as a copy of the calling process until it executes the program, so the kernel copies
// the page tables of everything the host has mapped, and the host's next write to each page
// faults once: spawn time that grows with the host, not with the skill.
void BM_LibraryLargeHost(benchmark::State& state) {
  std::vector<char> heap(static_cast<size_t>(state.range(1)) << 20);
  auto write_heap = [&] {
    for (size_t i = 0; i < heap.size(); i += 4096) ++heap[i];
    benchmark::DoNotOptimize(heap.data());
  };
  write_heap();
  auto run_once = LibraryRun(state, state.range(2) != 0);
  if (!run_once) {
    state.SkipWithError(("MakeNativeRuntime: " + run_once.error().ToString()).c_str());
    return;
  }
  // bubblewrap started from the same host, alternating with the library's runs: posix_spawn
  // (CLONE_VM | CLONE_VFORK in glibc) copies no page tables.
  const std::vector<std::string> bwrap_argv = BwrapArgv(Program(state));
  const bool with_bwrap = ::access(kBwrap, X_OK) == 0;
  std::vector<double> samples_us, bwrap_us;
  const size_t runs = static_cast<size_t>(state.max_iterations);
  for (int i = -kWarmupRuns; i < 0 || samples_us.size() < runs; ++i) {
    for (int which = 0; which < (with_bwrap ? 2 : 1); ++which) {
      // Between runs the host writes its memory again, as a working host does (untimed).
      write_heap();
      const auto start = Clock::now();
      Result<void> r = which == 0 ? (*run_once)()
                                  : ExitedZero("bwrap", SpawnAndWait(bwrap_argv, {kPath}));
      const std::chrono::duration<double, std::micro> us = Clock::now() - start;
      if (!r) {
        state.SkipWithError(r.error().ToString().c_str());
        return;
      }
      if (i >= 0) (which == 0 ? samples_us : bwrap_us).push_back(us.count());
    }
  }
  size_t next = 0;
  for (auto _ : state) state.SetIterationTime(samples_us[next++] / 1e6);
  const Summary lib = ReportLatency(state, std::move(samples_us));
  if (with_bwrap) {
    const Summary bw = Summarize(std::move(bwrap_us));
    state.counters["bwrap_p50_us"] = bw.p50_us;
    state.counters["bwrap_p99_us"] = bw.p99_us;
    if (lib.p50_us > 0) state.counters["bwrap_over_library_p50"] = bw.p50_us / lib.p50_us;
  }
}

// Other work on the host between two timed runs, untimed: a shell that counts to 2,000 (a
// few milliseconds of another process's CPU time, its own address space, page tables and
// exit) and a pass over 16 MiB of memory, which evicts the caches the previous run warmed.
Result<void> OtherWork() {
  static std::vector<char> buffer(16 << 20);
  for (size_t i = 0; i < buffer.size(); i += 64) buffer[i] = static_cast<char>(buffer[i] + 1);
  return ExitedZero("sh", SpawnAndWait({"/bin/sh", "-c",
                                        "i=0; while [ $i -lt 2000 ]; do i=$((i+1)); done"},
                                       {kPath}));
}

// The library and bubblewrap as a busy host sees them: one loop that alternates other work,
// a library run, other work, a bubblewrap run. The manual time and the latency counters are
// the library's; bwrap_p50_us, bwrap_p99_us and bwrap_over_library_p50 are bubblewrap's runs
// of the same loop.
void BM_Interleaved(benchmark::State& state) {
  if (::access(kBwrap, X_OK) != 0) {
    state.SkipWithError("bubblewrap not installed at /usr/bin/bwrap; row skipped");
    return;
  }
  auto library = LibraryRun(state, Prepared(state));
  if (!library) {
    state.SkipWithError(("MakeNativeRuntime: " + library.error().ToString()).c_str());
    return;
  }
  const std::vector<std::string> bwrap_argv = BwrapArgv(Program(state));
  const std::function<Result<void>()> bwrap = [&] {
    return ExitedZero("bwrap", SpawnAndWait(bwrap_argv, {kPath}));
  };
  auto timed = [](const std::function<Result<void>()>& run, double* us) -> Result<void> {
    if (auto r = OtherWork(); !r) return r;
    const auto start = Clock::now();
    Result<void> r = run();
    *us = std::chrono::duration<double, std::micro>(Clock::now() - start).count();
    return r;
  };
  double us = 0;
  for (int i = 0; i < kWarmupRuns; ++i) {
    Result<void> r = timed(*library, &us);
    if (r) r = timed(bwrap, &us);
    if (!r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
  }
  std::vector<double> library_us, bwrap_us;
  for (auto _ : state) {
    Result<void> r = timed(*library, &us);
    if (r) {
      state.SetIterationTime(us / 1e6);
      library_us.push_back(us);
      r = timed(bwrap, &us);
    }
    if (!r) {
      state.SkipWithError(r.error().ToString().c_str());
      return;
    }
    bwrap_us.push_back(us);
  }
  const Summary lib = ReportLatency(state, std::move(library_us));
  const Summary bw = Summarize(std::move(bwrap_us));
  state.counters["bwrap_p50_us"] = bw.p50_us;
  state.counters["bwrap_p99_us"] = bw.p99_us;
  if (lib.p50_us > 0) state.counters["bwrap_over_library_p50"] = bw.p50_us / lib.p50_us;
}

// Registration order is run order: Library before Bwrap, for the ratio. Iteration counts keep
// the whole run under two minutes on a loaded two-core machine.
// Argument: which program (0 trivial with glibc, 1 bare); for the library's cases a second,
// whether sandboxes are prepared for the plan (LargeHost: the third; its second is the host's
// heap in MiB). Library before Bwrap for the ratio. Iteration counts keep the whole run near
// two minutes on a two-core machine.
#ifdef SKILLRT_BENCH_BARE
#define SKILLRT_BENCH_PROGRAMS ->Arg(0)->Arg(1)
#define SKILLRT_BENCH_LIBRARY ->Args({0, 0})->Args({0, 1})->Args({1, 0})->Args({1, 1})
#else
#define SKILLRT_BENCH_PROGRAMS ->Arg(0)
#define SKILLRT_BENCH_LIBRARY ->Args({0, 0})->Args({0, 1})
#endif
BENCHMARK(BM_ForkExec) SKILLRT_BENCH_PROGRAMS->Iterations(300)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Library) SKILLRT_BENCH_LIBRARY->Iterations(300)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibraryLargeHost)->Args({0, 0, 0})->Args({0, 256, 0})->Args({0, 0, 1})->Args({0, 256, 1})->Iterations(200)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_LibrarySpaced)->Args({0, 0})->Args({0, 1})->Iterations(60)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Cli)->Arg(0)->Iterations(150)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Bwrap) SKILLRT_BENCH_PROGRAMS->Iterations(300)->UseManualTime()->Unit(benchmark::kMicrosecond);
BENCHMARK(BM_Interleaved) SKILLRT_BENCH_LIBRARY->Iterations(150)->UseManualTime()->Unit(benchmark::kMicrosecond);

}  // namespace
}  // namespace skillrt::bench

BENCHMARK_MAIN();
