// The runs a service started, by run id, so that their events and outcomes can be read after
// the request that started them (and after the run) ended. Finished runs are kept up to a
// bound, oldest dropped first. Thread-safe.
#ifndef SKILLRT_SERVICE_RUN_TABLE_H_
#define SKILLRT_SERVICE_RUN_TABLE_H_

#include <deque>
#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/engine.h"

namespace skillrt::service {

class RunTable {
 public:
  /// Keeps at most `keep` runs; past it the oldest finished run is forgotten.
  explicit RunTable(size_t keep = 1024) : keep_(keep) {}

  /// Remembers `handle` under its run id (replacing an older run of the same id).
  void Add(const RunHandle& handle) {
    std::lock_guard lock(mu_);
    if (runs_.insert_or_assign(handle.run_id(), handle).second) order_.push_back(handle.run_id());
    unfinished_.push_back(handle);
    while (runs_.size() > keep_ && !order_.empty()) {
      auto it = runs_.find(order_.front());
      if (it != runs_.end() && !it->second.done()) break;  // Never forget a run in flight.
      if (it != runs_.end()) runs_.erase(it);
      order_.pop_front();
    }
  }

  /// The runs that finished since the last call, each returned once (for metrics).
  std::vector<RunHandle> TakeFinished() {
    std::lock_guard lock(mu_);
    std::vector<RunHandle> finished;
    for (auto it = unfinished_.begin(); it != unfinished_.end();) {
      if (it->done()) {
        finished.push_back(*it);
        it = unfinished_.erase(it);
      } else {
        ++it;
      }
    }
    return finished;
  }

  /// Every run remembered, oldest first.
  std::vector<RunHandle> List() const {
    std::lock_guard lock(mu_);
    std::vector<RunHandle> all;
    for (const std::string& id : order_) {
      if (auto it = runs_.find(id); it != runs_.end()) all.push_back(it->second);
    }
    return all;
  }

  /// The run, if it is remembered.
  std::optional<RunHandle> Find(std::string_view run_id) const {
    std::lock_guard lock(mu_);
    auto it = runs_.find(run_id);
    if (it == runs_.end()) return std::nullopt;
    return it->second;
  }

 private:
  const size_t keep_;
  mutable std::mutex mu_;
  std::map<std::string, RunHandle, std::less<>> runs_;
  std::deque<std::string> order_;
  std::vector<RunHandle> unfinished_;  // Added and not yet returned by TakeFinished.
};

}  // namespace skillrt::service

#endif  // SKILLRT_SERVICE_RUN_TABLE_H_
