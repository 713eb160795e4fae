// Compiling WebAssembly in a child process, bounded by the call's own limits.
//
// Wasmtime cannot stop a compilation once started, nor bound the memory it takes, and that
// memory is not proportional to the module's size: a 3.6 MB module of 900,000 empty
// functions takes Cranelift 1.9 GB and 20 s (Wasmtime 48, measured on this project's build
// machine). So the compilation runs in a child process. Its caller reads the child's
// anonymous resident memory (RssAnon of /proc/<pid>/status) every 5 ms and kills it (SIGKILL)
// once it has grown by more than the call's memory limit: between two looks it can grow only
// as fast as the kernel hands out pages, tens of MB at most. The child's own RLIMIT_DATA
// (setrlimit(2)), four times the budget plus 256 MiB of virtual memory, is a backstop. The
// child is also killed when the call's deadline or the runtime's compile timeout passes. It
// sends back Wasmtime's serialized form, which the caller deserializes into its own engine.
//
// The child is forked from a multi-threaded process and uses only what it makes itself after
// the fork (an engine without the pooling allocator and without parallel compilation, so no
// thread pool), malloc (fork-safe in glibc) and its pipe; it ends with _exit(2). Should it
// nevertheless wait on a lock another thread held at the fork (or, at the backstop, on the
// lock of its own failing panic), it is killed at the deadline like any slow compilation.
#ifndef SKILLRT_WASM_COMPILE_CHILD_H_
#define SKILLRT_WASM_COMPILE_CHILD_H_

#include <wasmtime.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "skillrt/error.h"

namespace skillrt::wasm {

/// How a compilation in a child ended.
enum class CompileEnd {
  kCompiled,     ///< `serialized` holds the code.
  kInvalid,      ///< Wasmtime refused the binary; `message` says why.
  kTimedOut,     ///< Killed at `give_up`.
  kOutOfMemory,  ///< The child ended by a signal of its own (an allocation past its budget).
};

/// What a compilation in a child produced.
struct CompileOutput {
  CompileEnd end = CompileEnd::kInvalid;
  std::vector<uint8_t> serialized;  ///< kCompiled: wasmtime_module/component_serialize's bytes.
  std::string message;              ///< kInvalid: Wasmtime's error; kOutOfMemory: the signal.
};

/// What to compile and under which bounds.
struct CompileRequest {
  const std::vector<uint8_t>* bytes = nullptr;  ///< The binary (borrowed for the call).
  bool component = false;                       ///< A component, else a core module.
  /// Makes the engine configuration in the child (called there, once). Its code generation
  /// settings must be the caller's engine's, or deserializing the result fails.
  std::function<wasm_config_t*()> make_config;
  uint64_t memory_budget_bytes = 0;               ///< How much the child's data segment may grow.
  std::chrono::steady_clock::time_point give_up;  ///< When the child is killed.
  uint64_t max_output_bytes = 0;                  ///< Larger serialized code is refused (kInvalid).
};

/// Compiles `request.bytes` in a child process (see above). Blocks the calling thread until
/// the child ends or `give_up`. Errors: kIo when the child cannot be started or its answer
/// cannot be read (pipe, fork, waitpid). Thread-safe.
Result<CompileOutput> CompileInChild(const CompileRequest& request);

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_COMPILE_CHILD_H_
