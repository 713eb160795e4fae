// Wasmtime loaded at its first call (wasmtime_lazy.h).
#include "wasm/wasmtime_lazy.h"

#ifdef SKILLRT_WASMTIME_LAZY

#include <atomic>
#include <cstddef>
#include <cstdio>
#include <cstdlib>

#include "skillrt/shared_library.h"

#ifndef SKILLRT_WASMTIME_LIB
#error "SKILLRT_WASMTIME_LIB must name the libwasmtime.so the build places in its tree"
#endif

// Defined by wasmtime_lazy_x86_64.S: one entry per function of wasmtime_symbols.inc, in its
// order, each the address its trampoline jumps to (its resolver's until the library is loaded).
extern "C" void* skillrt_wasmtime_table[];

namespace skillrt::wasm {
namespace {

constexpr const char* kNames[] = {
#define SKILLRT_WASMTIME_FUNCTION(name, index) #name,
#include <wasmtime_symbols.inc>  // Generated at configure time.
#undef SKILLRT_WASMTIME_FUNCTION
};
constexpr size_t kCount = sizeof(kNames) / sizeof(kNames[0]);

Result<void> Load() {
  auto library = SharedLibrary::Open(SKILLRT_WASMTIME_LIB);
  if (!library) {
    return Fail(ErrorCode::kUnsupported,
                "Wasmtime: " + library.error().message +
                    " (the build copies it there from scripts/fetch-wasmtime.sh's cache)");
  }
  // Every address first, the table after: a trampoline never jumps to a half-filled table, and a
  // library without one of the functions leaves every trampoline on its resolver.
  void* addresses[kCount];
  for (size_t i = 0; i < kCount; ++i) {
    if (auto found = library->Find(kNames[i], &addresses[i]); !found) {
      return Fail(ErrorCode::kUnsupported,
                  "Wasmtime: " + found.error().message +
                      " (the library is not the one the build generated its trampolines from)");
    }
  }
  // Another thread may be jumping through the table meanwhile: each entry is one aligned
  // pointer, read by its trampoline's single indirect jump, so it sees the resolver or the
  // function.
  for (size_t i = 0; i < kCount; ++i) {
    std::atomic_ref<void*>(skillrt_wasmtime_table[i])
        .store(addresses[i], std::memory_order_release);
  }
  return {};
}

}  // namespace

Result<void> LoadWasmtime() {
  static const Result<void>* loaded = new Result<void>(Load());  // Never freed.
  return *loaded;
}

std::string WasmtimeLibraryPath() { return SKILLRT_WASMTIME_LIB; }

}  // namespace skillrt::wasm

// Called by the trampolines' common resolver (wasmtime_lazy_x86_64.S) with the index of the
// function called: loads the library and returns that function's address, or ends the
// process, since a Wasmtime function has no way to report that Wasmtime is missing.
extern "C" __attribute__((visibility("hidden"))) void* skillrt_wasmtime_resolve(size_t index) {
  auto loaded = skillrt::wasm::LoadWasmtime();
  if (!loaded || index >= skillrt::wasm::kCount) {
    std::fprintf(stderr, "skillrt: %s is needed for %s and cannot be loaded: %s\n",
                 SKILLRT_WASMTIME_LIB,
                 index < skillrt::wasm::kCount ? skillrt::wasm::kNames[index] : "a Wasmtime call",
                 loaded ? "unknown function" : loaded.error().message.c_str());
    std::abort();
  }
  return std::atomic_ref<void*>(skillrt_wasmtime_table[index]).load(std::memory_order_acquire);
}

#else  // Wasmtime is linked into the binary.

namespace skillrt::wasm {

Result<void> LoadWasmtime() { return {}; }

std::string WasmtimeLibraryPath() { return ""; }

}  // namespace skillrt::wasm

#endif
