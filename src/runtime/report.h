// Reporting what a run does as it happens: the bridge from the runtimes' parts (the egress
// proxy, the guest HTTP client) to the run's RunObserver.
#ifndef SKILLRT_RUNTIME_REPORT_H_
#define SKILLRT_RUNTIME_REPORT_H_

#include <functional>

#include "skillrt/outcome.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// A callback that passes each egress record to `context.observer`'s OnEgress, for
/// EgressProxyOptions::on_record; empty when the run has no observer. The observer is
/// borrowed: the callback must not outlive the Execute call that `context` belongs to (the
/// proxy is stopped before Execute returns).
inline std::function<void(const EgressRecord&)> EgressReporter(const RunContext& context) {
  RunObserver* observer = context.observer;
  if (observer == nullptr) return {};
  return [observer](const EgressRecord& record) { observer->OnEgress(record); };
}

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_REPORT_H_
