// A started run as the extension module holds it: the engine's RunHandle plus the process
// that started it, with waits that release the GIL and stay interruptible.
#ifndef SKILLRT_PYTHON_RUN_HANDLE_H_
#define SKILLRT_PYTHON_RUN_HANDLE_H_

#include <nanobind/nanobind.h>
#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <tuple>

#include "skillrt/engine.h"
#include "skillrt/outcome.h"

namespace skillrt::python {

namespace nb = nanobind;

/// Copyable; copies refer to the same run. Thread-safe as RunHandle is. Every method
/// refuses (kUnsupported) in a process forked from the one that started the run.
class PyRunHandle {
 public:
  PyRunHandle(RunHandle handle, pid_t owner) : handle_(std::move(handle)), owner_(owner) {}

  const std::string& run_id() const { return handle_.run_id(); }

  /// True once the run's `finished` event is out.
  bool done() const;

  /// RunHandle::Cancel. Never blocks.
  bool Cancel(std::string reason);

  /// Waits for the end of the run, at most `timeout_ms` (None: as long as it takes), with
  /// the GIL released; every 100 ms it takes the GIL to let Python handle signals (a
  /// KeyboardInterrupt ends the wait, not the run). Returns the Outcome, or nullopt when the
  /// time passed first. Errors: the run's own Error (as Engine::Run would), raised.
  std::optional<Outcome> Wait(std::optional<int64_t> timeout_ms);

  /// Events with seq > `after`, at most `max`, waiting up to `wait_ms` for the first (GIL
  /// released): (a list of event dicts as docs/events.md, events dropped before them,
  /// finished).
  std::tuple<nb::list, uint64_t, bool> ReadEvents(uint64_t after, size_t max, int64_t wait_ms);

 private:
  RunHandle handle_;
  pid_t owner_;
};

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_RUN_HANDLE_H_
