// A poll_oneoff for WASI preview 1 that honours the call's wall-clock limit.
//
// Epoch interruption stops WebAssembly code, not host code: a guest that sleeps through
// WASI's poll_oneoff (sleep(3), nanosleep, Go's time.Sleep) would hold its thread for as long
// as it asked, past any deadline. This replacement sleeps in the host in bounded slices and
// ends the call with a trap once the call's deadline passes (CallState::timed_out).
#ifndef SKILLRT_WASM_WASI_POLL_H_
#define SKILLRT_WASM_WASI_POLL_H_

#include <wasmtime.h>

#include "skillrt/error.h"

namespace skillrt::wasm {

/// Defines `wasi_snapshot_preview1.poll_oneoff` in `linker`, replacing WASI's (the linker
/// must allow shadowing, and WASI must already be defined). Stores that run under it must
/// have a CallState as their data. Semantics (WASI preview 1, witx `poll_oneoff`):
/// subscriptions to fd_read / fd_write are reported ready at once (every descriptor a
/// skillrt guest holds is stdin bytes, a captured sink or a regular file, which never
/// block); clock subscriptions (relative or absolute, realtime or monotonic) sleep until the
/// earliest one expires and report it. Errors: kInternal if the definition fails.
Result<void> DefineBoundedPollOneoff(wasmtime_linker_t* linker);

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_WASI_POLL_H_
