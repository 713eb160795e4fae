#include "run_handle.h"

#include <Python.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>

#include "bindings.h"
#include "convert.h"
#include "errors.h"
#include "skillrt/events.h"

namespace skillrt::python {
namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

// How long a wait holds the GIL released before Python may run its signal handlers.
constexpr milliseconds kSignalSlice{100};

}  // namespace

void CheckSameProcess(pid_t owner, const char* what) {
  if (::getpid() == owner) return;
  ThrowError(ErrorCode::kUnsupported,
             std::string(what) + " belongs to process " + std::to_string(owner) +
                 " and cannot be used after os.fork() in the child (its threads did not "
                 "survive the fork): open a new skillrt.Engine in the child");
}

bool PyRunHandle::done() const {
  CheckSameProcess(owner_, "this run");
  return handle_.done();
}

bool PyRunHandle::Cancel(std::string reason) {
  CheckSameProcess(owner_, "this run");
  nb::gil_scoped_release release;
  return handle_.Cancel(std::move(reason));
}

std::optional<Outcome> PyRunHandle::Wait(std::optional<int64_t> timeout_ms) {
  CheckSameProcess(owner_, "this run");
  std::optional<Clock::time_point> deadline;
  if (timeout_ms) deadline = Clock::now() + milliseconds(std::max<int64_t>(*timeout_ms, 0));
  uint64_t seen = 0;
  while (!handle_.done()) {
    milliseconds slice = kSignalSlice;
    if (deadline) {
      auto left = std::chrono::duration_cast<milliseconds>(*deadline - Clock::now());
      if (left <= milliseconds(0)) return std::nullopt;
      slice = std::min(slice, left);
    }
    {
      nb::gil_scoped_release release;
      // Returns as soon as the run emits anything new; the last event is `finished`.
      EventBatch batch = handle_.ReadEvents(seen, 64, slice);
      if (!batch.events.empty()) seen = batch.events.back().seq;
    }
    if (PyErr_CheckSignals() != 0) throw nb::python_error();
  }
  Result<Outcome> result = [&] {
    nb::gil_scoped_release release;
    return handle_.Wait();
  }();
  return Unwrap(std::move(result));
}

std::tuple<nb::list, uint64_t, bool> PyRunHandle::ReadEvents(uint64_t after, size_t max,
                                                             int64_t wait_ms) {
  CheckSameProcess(owner_, "this run");
  EventBatch batch;
  {
    nb::gil_scoped_release release;
    batch = handle_.ReadEvents(after, max, milliseconds(std::max<int64_t>(wait_ms, 0)));
  }
  nb::list events;
  for (const RunEvent& event : batch.events) events.append(ToPython(RunEventToJson(event)));
  return {events, batch.dropped, batch.finished};
}

}  // namespace skillrt::python
