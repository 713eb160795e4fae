// Wasmtime's shared library loaded when it is first needed, not when the process starts.
//
// libwasmtime.so is large: the dynamic loader maps it and applies 26,000 relative relocations
// to it (0.7 MiB of relocated read-only data, each page copied on write), about 1-2.5 ms and
// 1.25 MiB of every process that links it, though only WebAssembly skills call it. Where the
// build has the shared library on x86-64, no binary links it: each of its exported functions
// is a trampoline that loads it at the first call (util/lazy_library.h). Elsewhere (a static
// libwasmtime.a, another architecture) the library is linked as usual and LoadWasmtime only
// says so.
#ifndef SKILLRT_WASM_WASMTIME_LAZY_H_
#define SKILLRT_WASM_WASMTIME_LAZY_H_

#include <string>

#include "skillrt/error.h"

namespace skillrt::wasm {

/// Loads Wasmtime's shared library and resolves every function the trampolines stand for, once per
/// process; later calls return the first call's result. Call it before the first Wasmtime
/// function, so that a missing or foreign library is an error rather than the process's end:
/// a trampoline called when the library cannot be loaded prints why to stderr and aborts, since it
/// cannot return an error from a function of Wasmtime's signature. Thread-safe.
/// Errors: kUnsupported naming the library's path and dlopen's or dlsym's message.
Result<void> LoadWasmtime();

/// The file LoadWasmtime opens, or "" when Wasmtime is linked into the binary.
std::string WasmtimeLibraryPath();

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_WASMTIME_LAZY_H_
