// Prometheus text rendering (metrics.h).
#include "service/metrics.h"

#include <cstdio>

namespace skillrt::service {

void Histogram::Observe(std::chrono::microseconds value) {
  const double seconds = static_cast<double>(value.count()) / 1e6;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) ++buckets_[i];
  }
  ++count_;
  sum_seconds_ += seconds;
}

void Histogram::Render(std::string& out, const std::string& name,
                       const std::string& labels) const {
  char bound[32];
  for (size_t i = 0; i < kBounds.size(); ++i) {
    std::snprintf(bound, sizeof(bound), "%g", kBounds[i]);
    out += name + "_bucket{" + labels + "le=\"" + bound + "\"} " + std::to_string(buckets_[i]) + "\n";
  }
  out += name + "_bucket{" + labels + "le=\"+Inf\"} " + std::to_string(count_) + "\n";
  const std::string bare = labels.empty() ? "" : "{" + labels.substr(0, labels.size() - 1) + "}";
  char sum[40];
  std::snprintf(sum, sizeof(sum), "%.6f", sum_seconds_);
  out += name + "_sum" + bare + " " + sum + "\n" + name + "_count" + bare + " " +
         std::to_string(count_) + "\n";
}

void Metrics::RunEnded(const std::string& runtime, const std::string& status,
                       std::chrono::microseconds duration) {
  std::lock_guard lock(mu_);
  ++runs_[{runtime, status}];
  run_seconds_[runtime].Observe(duration);
}

void Metrics::JobStarted(std::chrono::microseconds wait) {
  std::lock_guard lock(mu_);
  job_wait_.Observe(wait);
}

void Metrics::Request(int status) {
  std::lock_guard lock(mu_);
  ++requests_[status];
}

std::string Metrics::Render(const std::string& extra) const {
  std::lock_guard lock(mu_);
  std::string out;
  out += "# HELP skillrt_runs_total Runs ended, by runtime and status.\n";
  out += "# TYPE skillrt_runs_total counter\n";
  for (const auto& [key, n] : runs_) {
    out += "skillrt_runs_total{runtime=\"" + key.first + "\",status=\"" + key.second + "\"} " +
           std::to_string(n) + "\n";
  }
  out += "# HELP skillrt_run_duration_seconds Wall time of runs, by runtime.\n";
  out += "# TYPE skillrt_run_duration_seconds histogram\n";
  for (const auto& [runtime, h] : run_seconds_) {
    h.Render(out, "skillrt_run_duration_seconds", "runtime=\"" + runtime + "\",");
  }
  out += "# HELP skillrt_job_wait_seconds Time from a job being ready to its attempt starting.\n";
  out += "# TYPE skillrt_job_wait_seconds histogram\n";
  job_wait_.Render(out, "skillrt_job_wait_seconds", "");
  out += "# HELP skillrt_http_requests_total HTTP requests answered, by status code.\n";
  out += "# TYPE skillrt_http_requests_total counter\n";
  for (const auto& [status, n] : requests_) {
    out += "skillrt_http_requests_total{code=\"" + std::to_string(status) + "\"} " +
           std::to_string(n) + "\n";
  }
  out += extra;
  return out;
}

}  // namespace skillrt::service
