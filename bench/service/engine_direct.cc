// The baseline of the service benchmark (bench/service/service_bench.py): the engine called
// directly, in-process, on the same skill and input as the jobs. Prints one JSON object:
// start-to-started latency (Engine::Start until the run's `started` event) p50/p99 over
// sequential runs, and runs per second with `threads` callers at once.
// Usage: engine_direct SKILLS_DIR HOME [RUNS] [THREADS]
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <thread>
#include <vector>

#include "skillrt/engine.h"

namespace {

using Clock = std::chrono::system_clock;

double Percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  return v[std::min(v.size() - 1, static_cast<size_t>(p / 100.0 * static_cast<double>(v.size())))];
}

// Runs number-stats once; the milliseconds from Start to `started`, or a negative number.
double OneRun(skillrt::Engine& engine, int i) {
  const auto t0 = Clock::now();
  auto handle = engine.Start(skillrt::RunRequest{
      .skill = "number-stats", .input = {{"numbers", {i, i + 1}}}});
  if (!handle) return -1;
  double started_ms = -1;
  uint64_t after = 0;
  for (;;) {
    auto batch = handle->ReadEvents(after, 64, std::chrono::seconds(5));
    for (const auto& e : batch.events) {
      after = e.seq;
      if (e.type() == "started") {
        started_ms = std::chrono::duration<double, std::milli>(e.time - t0).count();
      }
    }
    if (batch.finished) break;
  }
  auto outcome = handle->Wait();
  if (!outcome || outcome->status != skillrt::Status::kOk) return -1;
  return started_ms;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3) {
    std::fprintf(stderr, "usage: engine_direct SKILLS_DIR HOME [RUNS] [THREADS]\n");
    return 2;
  }
  const int runs = argc > 3 ? std::atoi(argv[3]) : 200;
  const int threads = argc > 4 ? std::atoi(argv[4]) : 4;
  skillrt::EngineOptions options;
  options.home = argv[2];
  options.skill_roots = {argv[1]};
  auto engine = skillrt::Engine::Open(std::move(options));
  if (!engine) {
    std::fprintf(stderr, "engine_direct: %s\n", engine.error().ToString().c_str());
    return 1;
  }
  for (int i = 0; i < 5; ++i) (void)OneRun(**engine, i);  // Compile cache warm.

  std::vector<double> latencies;
  for (int i = 0; i < runs; ++i) {
    const double ms = OneRun(**engine, i);
    if (ms < 0) {
      std::fprintf(stderr, "engine_direct: run %d failed\n", i);
      return 1;
    }
    latencies.push_back(ms);
  }

  std::atomic<int> next{0}, failed{0};
  const auto t0 = std::chrono::steady_clock::now();
  std::vector<std::thread> pool;
  for (int t = 0; t < threads; ++t) {
    pool.emplace_back([&] {
      for (int i; (i = next.fetch_add(1)) < runs;) {
        if (OneRun(**engine, i) < 0) failed.fetch_add(1);
      }
    });
  }
  for (auto& t : pool) t.join();
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  std::printf("{\"runs\": %d, \"start_p50_ms\": %.3f, \"start_p99_ms\": %.3f, "
              "\"threads\": %d, \"runs_per_s\": %.1f, \"failed\": %d}\n",
              runs, Percentile(latencies, 50), Percentile(latencies, 99), threads,
              runs / seconds, failed.load());
  return failed.load() == 0 ? 0 : 1;
}
