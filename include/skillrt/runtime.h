// The runtime interface: one Plan in, one Outcome out.
#ifndef SKILLRT_RUNTIME_H_
#define SKILLRT_RUNTIME_H_

#include <memory>
#include <string_view>

#include "skillrt/error.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"

namespace skillrt {

/// Executes plans. Implementations are thread-safe: Run may be called concurrently.
class Runtime {
 public:
  virtual ~Runtime() = default;

  /// "native", "wasm" or "container".
  virtual std::string_view Name() const = 0;

  /// Runs `plan` to completion and returns what the skill did. Returns an Error only when
  /// skillrt could not run it as planned (kSandbox when an isolation layer cannot be applied
  /// at SandboxLevel::kStrict; kIo for host failures). Blocks the calling thread.
  virtual Result<Outcome> Run(const Plan& plan) = 0;
};

/// Options of the native Linux sandbox.
struct NativeRuntimeOptions {
  /// Host uid and gid that the sandbox's user maps to when skillrt runs as root; ignored
  /// otherwise (an unprivileged caller can only map its own ids). Must not be 0.
  uint32_t sandbox_host_uid = 64'200;
  uint32_t sandbox_host_gid = 64'200;
  /// Keep one sandbox spawned ahead of need (namespaces created, id maps written, cgroup
  /// made), so that a run does not wait for that. A background thread replaces it after each
  /// use; it is killed when the runtime is destroyed. Worth it for a long-lived process that
  /// runs many skills; a one-shot caller (the CLI) turns it off.
  bool keep_prepared_sandbox = true;
};

/// Creates the native runtime: namespaces, pivot_root, seccomp, Landlock, cgroups and
/// rlimits (docs/sandbox.md). Probes the kernel once (Landlock ABI, cgroup version) and
/// precompiles the seccomp filter. kUnsupported if user namespaces are unavailable.
Result<std::unique_ptr<Runtime>> MakeNativeRuntime(const NativeRuntimeOptions& options = {});

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_H_
