// Wasmtime loaded at its first call (wasmtime_lazy.h, util/lazy_library.h).
#include "wasm/wasmtime_lazy.h"

#ifdef SKILLRT_WASMTIME_LAZY

#include <cstddef>

#include "util/lazy_library.h"

#ifndef SKILLRT_WASMTIME_LIB
#error "SKILLRT_WASMTIME_LIB must name the libwasmtime.so the build places in its tree"
#endif

// The trampolines' table (util/lazy_trampolines_x86_64.S, through the generated wrapper).
extern "C" void* skillrt_lazy_wasmtime_table[];

namespace skillrt::wasm {
namespace {

constexpr const char* kNames[] = {
#define SKILLRT_LAZY_FUNCTION(name, index) #name,
#include <lazy_wasmtime_symbols.inc>  // Generated at configure time.
#undef SKILLRT_LAZY_FUNCTION
};

constexpr LazyLibrary kWasmtime = {
    .file = SKILLRT_WASMTIME_LIB,
    .where_from = "the build copies it there from scripts/fetch-wasmtime.sh's cache",
    .names = kNames,
    .count = sizeof(kNames) / sizeof(kNames[0]),
    .table = skillrt_lazy_wasmtime_table};

}  // namespace

Result<void> LoadWasmtime() { return LoadLazyLibraryOnce<kWasmtime>(); }

std::string WasmtimeLibraryPath() { return SKILLRT_WASMTIME_LIB; }

}  // namespace skillrt::wasm

SKILLRT_LAZY_LIBRARY_RESOLVER(wasmtime, skillrt::wasm::kWasmtime)

#else  // Wasmtime is linked into the binary.

namespace skillrt::wasm {

Result<void> LoadWasmtime() { return {}; }

std::string WasmtimeLibraryPath() { return ""; }

}  // namespace skillrt::wasm

#endif
