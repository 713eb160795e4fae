// The service's metrics in the Prometheus text exposition format, version 0.0.4
// (prometheus.io/docs/instrumenting/exposition_formats): counters of runs by status and
// runtime, histograms of run duration and of a job's wait from enqueue to start, and gauges
// filled when the page is rendered (queue depth, connections). Thread-safe.
#ifndef SKILLRT_SERVICE_METRICS_H_
#define SKILLRT_SERVICE_METRICS_H_

#include <array>
#include <chrono>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <utility>

namespace skillrt::service {

/// A histogram with fixed bucket bounds in seconds.
class Histogram {
 public:
  /// Bounds from 1 ms to 60 s, roughly doubling.
  static constexpr std::array<double, 16> kBounds = {0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                                     0.1,   0.25,   0.5,   1,    2.5,   5,
                                                     10,    20,     30,    60};
  void Observe(std::chrono::microseconds value);
  /// Appends `name`'s _bucket, _sum and _count lines with `labels` ("" or `a="b",`).
  void Render(std::string& out, const std::string& name, const std::string& labels) const;

 private:
  std::array<uint64_t, kBounds.size()> buckets_{};
  uint64_t count_ = 0;
  double sum_seconds_ = 0;
};

/// Everything /v1/metrics shows that the service counts itself.
class Metrics {
 public:
  /// A run ended with `status` (StatusName, or "error" for a skillrt failure) in `runtime`
  /// ("native", "wasm", "container", or "unknown" when it was refused before planning).
  void RunEnded(const std::string& runtime, const std::string& status,
                std::chrono::microseconds duration);
  /// A job's attempt started `wait` after the job became ready (enqueue or retry).
  void JobStarted(std::chrono::microseconds wait);
  /// An HTTP request was answered with `status`.
  void Request(int status);

  /// The counters and histograms, then `extra` (gauges rendered by the caller).
  std::string Render(const std::string& extra) const;

 private:
  mutable std::mutex mu_;
  std::map<std::pair<std::string, std::string>, uint64_t> runs_;  // (runtime, status) -> n.
  std::map<std::string, Histogram> run_seconds_;                  // By runtime.
  Histogram job_wait_;
  std::map<int, uint64_t> requests_;  // By HTTP status.
};

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_METRICS_H_
