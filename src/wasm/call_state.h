// The state of one WebAssembly call that host code running inside it reads and writes: the
// epoch callback, the output files and the bounded poll_oneoff. It is the store's data
// (wasmtime_store_new), so host functions shared by every call find their own call's state.
// Used only on the thread running the call.
#ifndef SKILLRT_WASM_CALL_STATE_H_
#define SKILLRT_WASM_CALL_STATE_H_

#include <atomic>
#include <chrono>
#include <cstdint>

namespace skillrt::wasm {

class GuestHttp;
class ScratchSpace;

/// Limits of one call and which of them ended it.
struct CallState {
  std::chrono::steady_clock::time_point deadline;  ///< Wall-clock limit of the call.
  int64_t cpu_limit_ns = 0;  ///< CPU time limit of the calling thread during the call.
  int64_t cpu_start_ns = 0;  ///< The thread's CPU clock when the guest started.
  uint64_t ticks = 0;        ///< Epoch ticks seen.
  uint64_t next_scratch_check = 0;  ///< The tick at which the scratch is checked next.
  const ScratchSpace* scratch = nullptr;  ///< The guest's /tmp (scratch.h).
  GuestHttp* http = nullptr;              ///< The call's outgoing HTTP state (http_imports.h).
  /// Set by the run's CancelToken (through a callback, so that a call given up and still
  /// running never reads a token that is gone); read at each epoch tick.
  const std::atomic<bool>* cancel_requested = nullptr;
  bool cancelled = false;  ///< The call ended because it was cancelled.
  bool timed_out = false;
  bool cpu_exceeded = false;
  bool output_exceeded = false;
  bool scratch_exceeded = false;  ///< A scratch directory went past its limit: the call ended.
  bool scratch_full = false;      ///< A scratch tmpfs was seen at its limit (writes get ENOSPC).
  /// Moves what the guest has written to its stdout and stderr since the last time into the
  /// call's captured streams and to whoever watches the run (and sets `output_exceeded` when
  /// a stream passes its cap). Set by the runtime; null when the call captures nothing.
  void (*drain_output)(void* context) = nullptr;
  void* drain_context = nullptr;  ///< What `drain_output` is called with.

  /// Calls `drain_output`: at each epoch tick, while the guest waits in skillrt's own host
  /// functions, and once the guest has ended.
  void DrainOutput() const {
    if (drain_output != nullptr) drain_output(drain_context);
  }
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_CALL_STATE_H_
