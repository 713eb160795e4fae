// Helpers for the benchmarks: latency summaries, a scratch directory and spawning a program.
#ifndef SKILLRT_BENCH_BENCH_UTIL_H_
#define SKILLRT_BENCH_BENCH_UTIL_H_

#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <filesystem>
#include <numeric>
#include <string>
#include <system_error>
#include <vector>

#include <benchmark/benchmark.h>

#include "skillrt/error.h"

namespace skillrt::bench {

/// Order statistics of one set of latency samples, in microseconds.
struct Summary {
  double min_us = 0;
  double p50_us = 0;
  double p99_us = 0;
  double mean_us = 0;
  double max_us = 0;
};

/// Returns the `pct`-th percentile (0 < pct <= 100) of sorted `samples` by the nearest-rank
/// method: the smallest sample with at least pct% of the samples at or below it.
/// REQUIRES: `sorted` is non-empty and ascending.
inline double Percentile(const std::vector<double>& sorted, double pct) {
  const double rank = std::ceil(pct / 100.0 * static_cast<double>(sorted.size()));
  const size_t index = rank < 1 ? 0 : static_cast<size_t>(rank) - 1;
  return sorted[std::min(index, sorted.size() - 1)];
}

/// Summarises `samples_us` (taken by value: it is sorted). All zero when it is empty.
inline Summary Summarize(std::vector<double> samples_us) {
  Summary s;
  if (samples_us.empty()) return s;
  std::sort(samples_us.begin(), samples_us.end());
  s.min_us = samples_us.front();
  s.max_us = samples_us.back();
  s.p50_us = Percentile(samples_us, 50);
  s.p99_us = Percentile(samples_us, 99);
  s.mean_us = std::accumulate(samples_us.begin(), samples_us.end(), 0.0) /
              static_cast<double>(samples_us.size());
  return s;
}

/// Summarises `samples_us` and reports the summary as `state`'s counters min_us, p50_us,
/// p99_us, mean_us and max_us (what scripts/bench.sh reads); returns it.
inline Summary ReportLatency(benchmark::State& state, std::vector<double> samples_us) {
  const Summary s = Summarize(std::move(samples_us));
  state.counters["min_us"] = s.min_us;
  state.counters["p50_us"] = s.p50_us;
  state.counters["p99_us"] = s.p99_us;
  state.counters["mean_us"] = s.mean_us;
  state.counters["max_us"] = s.max_us;
  return s;
}

/// A fresh directory under $TMPDIR (or /tmp) with mode 0755, so that a sandbox user that does
/// not own it can still enter it; removed with its contents on destruction. Not thread-safe.
class ScratchDir {
 public:
  /// Creates the directory; `ok()` is false (and `path()` empty) if that failed.
  explicit ScratchDir(const char* prefix) {
    const char* base = ::getenv("TMPDIR");
    std::string tmpl = std::string(base && *base ? base : "/tmp") + "/" + prefix + "-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr && ::chmod(tmpl.c_str(), 0755) == 0) path_ = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    if (!path_.empty()) std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  bool ok() const { return !path_.empty(); }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

/// Starts `argv` (argv[0] an absolute path, no PATH search) with exactly the environment `env`
/// and stdin, stdout and stderr on /dev/null, and waits for it (posix_spawn(3), waitpid(2)).
/// Returns the wait status; kIo if the program could not be started or waited for.
/// Thread-safe.
inline Result<int> SpawnAndWait(const std::vector<std::string>& argv,
                                const std::vector<std::string>& env) {
  std::vector<char*> args, envp;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  for (const std::string& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);

  posix_spawn_file_actions_t actions;
  ::posix_spawn_file_actions_init(&actions);
  for (int fd : {0, 1, 2}) {
    ::posix_spawn_file_actions_addopen(&actions, fd, "/dev/null", fd == 0 ? O_RDONLY : O_WRONLY,
                                       0);
  }
  pid_t pid = -1;
  const int rc = ::posix_spawn(&pid, args[0], &actions, nullptr, args.data(), envp.data());
  ::posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) return FailErrno(ErrorCode::kIo, "posix_spawn(" + argv[0] + ")", rc);
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0) {
    if (errno != EINTR) return FailErrno(ErrorCode::kIo, "waitpid(" + argv[0] + ")", errno);
  }
  return status;
}

}  // namespace skillrt::bench

#endif  // SKILLRT_BENCH_BENCH_UTIL_H_
