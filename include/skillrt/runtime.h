// The runtime interface: one Plan in, one Outcome out.
#ifndef SKILLRT_RUNTIME_H_
#define SKILLRT_RUNTIME_H_

#include <atomic>
#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"

namespace skillrt {

/// The cancellation of one run, shared by whoever may cancel it (a RunHandle, a signal
/// handler's thread, the engine at shutdown) and the runtime that runs it. Cancelling is
/// idempotent and the first reason is kept. Thread-safe; not copyable or movable (runtimes
/// hold a pointer to it for the run's duration).
class CancelToken {
 public:
  /// Creates the token and its eventfd(2). If the eventfd cannot be made (EMFILE), fd()
  /// returns -1 and pollers must also check cancelled() at their own deadline.
  CancelToken();
  ~CancelToken();
  CancelToken(const CancelToken&) = delete;
  CancelToken& operator=(const CancelToken&) = delete;

  /// Cancels the run: cancelled() becomes true, fd() becomes readable, and every callback
  /// added with OnCancel runs once, on this thread, with no lock held. Returns true for the
  /// call that cancelled, false if the token was already cancelled (`reason` is then dropped).
  bool Cancel(std::string reason);

  /// True once Cancel was called.
  bool cancelled() const { return cancelled_.load(std::memory_order_acquire); }

  /// The first Cancel's reason; empty until then.
  std::string reason() const;

  /// An eventfd, readable (POLLIN) once the token is cancelled and never drained, for runtimes
  /// that wait in poll(2). Owned by the token; -1 when none could be made.
  int fd() const { return fd_; }

  /// Runs `callback` when the token is cancelled, or at once on this thread if it already is.
  /// The callback must be cheap and must not block (it runs on the cancelling thread); it is
  /// kept, with what it captures, until Forget(returned id) or the token's destruction.
  uint64_t OnCancel(std::function<void()> callback) const;

  /// Drops the callback `id` returned by OnCancel. When it returns, the callback is not
  /// running and never will. Must not be called from a callback.
  void Forget(uint64_t id) const;

 private:
  // Callbacks are registered through const references: they do not change what the token
  // says, only who hears of it.
  mutable std::mutex mu_;
  mutable std::mutex running_mu_;  // Held while callbacks run, so that Forget can wait.
  std::atomic<bool> cancelled_{false};
  std::string reason_;  // Guarded by mu_.
  mutable std::vector<std::pair<uint64_t, std::function<void()>>> callbacks_;  // Guarded by mu_.
  mutable uint64_t next_callback_ = 1;  // Guarded by mu_.
  int fd_ = -1;
};

/// Which captured stream a chunk of output belongs to.
enum class OutputStream { kStdout, kStderr };

/// "stdout" or "stderr".
std::string_view OutputStreamName(OutputStream stream);

/// What a runtime reports while a run is under way, for the run's events (docs/events.md).
/// Called on the runtime's threads, never with a lock of the runtime held; OnStarted and
/// OnOutput never concurrently for one run, OnEgress possibly at the same time as them (from
/// the egress proxy's connection threads); an implementation must return quickly (it must not wait for a
/// consumer: buffer or drop instead). The default implementations ignore everything.
class RunObserver {
 public:
  virtual ~RunObserver() = default;
  /// The skill's code is about to run inside its isolation, with these `layers` applied
  /// (the same names as Outcome::layers).
  virtual void OnStarted(const std::vector<std::string>& layers) { (void)layers; }
  /// Bytes the skill wrote, as they arrive, only those that Outcome's captured stream keeps
  /// (within the output cap and kCapturedStreamMaxBytes). Not redacted: the engine redacts.
  virtual void OnOutput(OutputStream stream, std::string_view bytes) {
    (void)stream;
    (void)bytes;
  }
  /// A connection through the egress proxy ended (allowed) or was refused, as it happens
  /// (each record also ends up in Outcome::egress). Not redacted: the engine redacts.
  virtual void OnEgress(const EgressRecord& record) { (void)record; }
};

/// What a runtime gets besides the plan: a way to be cancelled and somewhere to report
/// progress. Both pointers are borrowed for the duration of the Execute call and may be null.
struct RunContext {
  const CancelToken* cancel = nullptr;
  RunObserver* observer = nullptr;
};

/// Executes plans. Implementations are thread-safe: Run may be called concurrently.
class Runtime {
 public:
  virtual ~Runtime() = default;

  /// "native", "wasm" or "container".
  virtual std::string_view Name() const = 0;

  /// Runs `plan` to completion and returns what the skill did. Returns an Error only when
  /// skillrt could not run it as planned (kSandbox when an isolation layer cannot be applied
  /// at SandboxLevel::kStrict; kIo for host failures). Blocks the calling thread.
  ///
  /// Cancellation (`context.cancel`): once the token is cancelled the runtime stops the run
  /// as it would at its wall-clock limit (the native process tree killed and reaped, the
  /// WebAssembly call interrupted at its next epoch tick, the container killed and removed),
  /// cleans up the same way, and returns an Outcome with Status::kCancelled whose message is
  /// the token's reason. A token cancelled before the run starts makes it return at once
  /// without starting anything.
  virtual Result<Outcome> Execute(const Plan& plan, const RunContext& context) = 0;

  /// Execute without cancellation or observer.
  Result<Outcome> Run(const Plan& plan) { return Execute(plan, RunContext{}); }
};

/// The Outcome of a run cancelled before its runtime started anything.
Outcome CancelledBeforeStart(const Plan& plan, const CancelToken& token);

/// The most sandboxes NativeRuntimeOptions::prepared_sandboxes may keep: each is a process
/// and a cgroup held for as long as the runtime lives.
inline constexpr size_t kMaxPreparedSandboxes = 256;

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
  /// With `keep_prepared_sandbox`: how many sandboxes to keep prepared for particular plans
  /// (no network, no workspace, a plan carrying its skill's tree hash), each made by the same
  /// background thread after a run of its plan with every layer applied, used by at most one
  /// later run of the very same plan and never having run skill code before it: for
  /// `python3 SCRIPT.py ...` an interpreter initialised and waiting, for any other program a
  /// sandbox waiting just before `execve` (docs/sandbox.md, "Prepared sandboxes"). The least
  /// recently used goes when a new one would exceed the count. 0 turns them off; at most
  /// kMaxPreparedSandboxes (MakeNativeRuntime refuses more with kInvalidArgument).
  size_t prepared_sandboxes = 4;
  /// How long after a run its plan's next sandbox is prepared. Preparing one clones the
  /// process (its page tables copied, each page written afterwards copied again until the
  /// new sandbox has executed its waiter) and takes a core for a few milliseconds: right
  /// after the run, that lands on the caller's own work still to do (the audit record, the
  /// reply). A process that answers calls one by one (the daemon, docs/daemon.md) waits
  /// until that is done; a call that comes sooner runs in a sandbox made for it.
  std::chrono::microseconds prepare_delay{0};
  /// Names the egress proxy answers from this table instead of DNS (host name -> IP address
  /// texts), for tests and for deployments that pin names. The allowlist and the address
  /// rules apply to these answers as to any other (docs/network.md). Empty: every name goes
  /// to getaddrinfo(3).
  std::map<std::string, std::vector<std::string>> egress_fixed_hosts = {};
  /// Longest the egress proxy waits for a destination to accept a connection, per address.
  std::chrono::milliseconds egress_connect_timeout{10'000};
  /// Where the compiled seccomp program is kept between processes, so that a short-lived
  /// process does not compile it again (about 1 ms): used only when the directory and the
  /// file are owned by this process's effective user and writable by no one else, and the
  /// file is whole and made for this build, libseccomp and kernel (docs/sandbox.md, "The
  /// seccomp filter"). Empty: compiled in every process. The engine sets <home>/cache/seccomp.
  std::filesystem::path filter_cache_dir = {};
};

/// Creates the native runtime: namespaces, pivot_root, seccomp, Landlock, cgroups and
/// rlimits (docs/sandbox.md), and for plans with network access the egress proxy
/// (docs/network.md). Probes the kernel once (Landlock ABI, cgroup version) and precompiles
/// the seccomp filter. kUnsupported if user namespaces are unavailable; kInvalidArgument for
/// a malformed `egress_fixed_hosts` entry.
Result<std::unique_ptr<Runtime>> MakeNativeRuntime(const NativeRuntimeOptions& options = {});

/// Ends what is left of the native run `run_id` after its supervisor died (killed, crashed):
/// SIGKILLs every process still in the run's cgroup and removes the cgroup's directories
/// (docs/cgroups.md). Nothing to do (success) when cgroups are not in use or the run left no
/// cgroup. Errors: kSandbox when the cgroup cannot be emptied or removed. Thread-safe.
Result<void> ReapNativeRun(std::string_view run_id);

/// How the WebAssembly runtime makes each call's scratch directory, the guest's /tmp
/// (docs/wasm.md#scratch).
enum class WasmScratch {
  /// kTmpfs when this process may make a tmpfs (CAP_SYS_ADMIN over its mount namespace) and
  /// the call's scratch limit is at most WasmRuntimeOptions::max_tmpfs_scratch_bytes; else
  /// kDirectory.
  kAuto,
  /// A tmpfs of the call's own, attached nowhere, of the call's size: the kernel refuses
  /// writes past the limit (ENOSPC). MakeWasmRuntime fails with kUnsupported where a tmpfs
  /// cannot be made.
  kTmpfs,
  /// A directory under `scratch_root` whose usage is measured by walks as the guest runs and
  /// when it ends; the call ends once it is past the limit.
  kDirectory,
};

/// Options of the WebAssembly runtime (docs/wasm.md). The defaults suit a host that runs a
/// few calls at a time; every field bounds what a hostile module can make the host do.
struct WasmRuntimeOptions {
  /// Directory of compiled modules and components (Wasmtime's serialized form, keyed by the
  /// module's sha256, the Wasmtime version and this configuration). Created with mode 0700;
  /// entries not owned by the caller, writable by others or failing their checksum are
  /// ignored and rewritten. Must not be a path any skill can write (the engine uses
  /// <home>/cache/wasm). Empty: compile every module once per process, keep nothing on disk.
  std::filesystem::path cache_dir;
  /// The most the compiled-code directory may hold, in bytes: past it, the least recently
  /// used entries are removed.
  uint64_t cache_max_bytes = 512ull << 20;
  /// How each call's scratch directory (the guest's /tmp) is made.
  WasmScratch scratch = WasmScratch::kAuto;
  /// Directory under which scratch directories (WasmScratch::kDirectory) are made; they are
  /// emptied after each call and removed with the runtime. Empty: $TMPDIR, else /tmp.
  std::filesystem::path scratch_root;
  /// Largest scratch limit served by a tmpfs under WasmScratch::kAuto, in bytes: a tmpfs keeps
  /// its pages in the host's memory, so larger ones get a directory on disk.
  uint64_t max_tmpfs_scratch_bytes = 1ull << 30;
  /// Largest module or component file accepted, in bytes; a larger one is refused before
  /// it is read.
  uint64_t max_module_bytes = 64ull << 20;
  /// Longest a compilation may take, whatever the call's own limit. Compiling runs in a child
  /// process (docs/wasm.md#compilation) whose memory is bounded by the call's memory limit
  /// (limits.memory_mb) and which is killed at the call's wall-clock deadline (a timeout
  /// outcome) or past this (an error), whichever comes first.
  std::chrono::milliseconds compile_timeout{20'000};
  /// Largest native stack WebAssembly code may use, in bytes; deeper recursion traps.
  uint64_t max_wasm_stack_bytes = 1ull << 20;
  /// Largest linear memory any call may have, in bytes: the pooling allocator's slot size.
  /// A manifest's limits.memory_mb is applied per call below this.
  uint64_t max_memory_bytes = 4ull << 30;
  /// Largest table, in elements.
  uint32_t max_table_elements = 1u << 20;
  /// Instances alive at once across all calls (slots of the pooling allocator). A call that
  /// finds none free fails with kUnsupported rather than waiting.
  uint32_t pool_instances = 128;
  /// Core instances one call may create (a component creates several).
  uint32_t max_instances_per_call = 64;
  /// Compiled modules kept in memory, least recently used evicted first.
  uint32_t max_cached_modules = 64;
  /// Calls of skillrt-world components set up ahead of need, at most: after a call of a plan
  /// ends well, the next call's store and fresh instance are made on the call thread, so that
  /// the next call of the same plan (same code, pinned paths, arguments, environment, limits
  /// and allowlist; any input) only runs the guest. Each instance serves one call, as always;
  /// the oldest set-up is dropped past this count. Each holds a pool slot, a scratch
  /// directory and its instance's memory until used. 0 (the CLI, which makes one call per
  /// process): none.
  uint32_t prepared_calls = 4;
  /// Interrupt WASI calls waiting in the kernel (opening a FIFO or a device) once their call
  /// is past its deadline, with a signal (SIGRTMAX - 2, whose handler the runtime installs
  /// unless the process has its own), so that the call ends instead of being given up with its
  /// thread still waiting. Off: such a call is only given up
  /// (docs/wasm.md#the-deadline-and-waits-in-the-host).
  bool interrupt_host_waits = true;
  /// Run a WASI command module's call on the calling thread when nothing it reaches can make
  /// the host wait past the call's deadline beyond the reach of `interrupt_host_waits`: no
  /// network access (an HTTP request waits until the deadline, not for a cancel), no declared
  /// paths, the skill directory and the scratch on a local filesystem (tmpfs, ext2-4, XFS,
  /// Btrfs, F2FS, overlayfs, squashfs, ZFS: no network or FUSE filesystem, where a wait may
  /// end only when a server answers), the interrupt in place, and room on the calling thread's
  /// stack for `max_wasm_stack_bytes` and 1 MiB of host frames. The runtime's ticker then
  /// interrupts the call's waits past its deadline or its cancel, as a waiting caller would.
  /// This saves the hand-off to a call thread and back, two thread wake-ups that were most of
  /// a warm call. Off, or when a condition does not hold: the call runs on a call thread and
  /// its caller waits only until the deadline (docs/wasm.md#the-deadline-and-waits-in-the-host).
  bool modules_on_calling_thread = true;
  /// Names the egress proxy behind the `skillrt_http` interface answers from this table
  /// instead of DNS, as NativeRuntimeOptions::egress_fixed_hosts.
  std::map<std::string, std::vector<std::string>> egress_fixed_hosts = {};
  /// Longest the egress proxy waits for a destination to accept a connection, per address.
  std::chrono::milliseconds egress_connect_timeout{10'000};
  /// CA certificates (PEM) that verify https:// destinations of `skillrt_http` requests
  /// instead of the system's store (for a private CA). Empty: the system's store.
  std::filesystem::path egress_ca_file;
};

/// Creates the WebAssembly runtime: one shared Wasmtime engine (Cranelift, pooling
/// allocator, epoch interruption driven by one ticker thread), running WASI preview 1
/// command modules and components (wasi:cli/command or the world in wit/skillrt.wit) with a
/// fresh store and instance per call. Guests have no sockets; modules reach the hosts of
/// their plan's allowlist through the `skillrt_http` host interface, which goes through the
/// egress proxy (docs/network.md). A call runs on a call thread of the runtime, so that Run
/// returns at the call's wall-clock limit whatever the guest waits for in the host, or, for a
/// module whose waits a signal can always end, on the calling thread, the runtime's ticker
/// interrupting its waits past the deadline (`modules_on_calling_thread`); modules are
/// compiled in a child process bounded by the call's limits (docs/wasm.md#compilation).
/// Thread-safe. kUnsupported if Wasmtime cannot be configured as asked (for example, the
/// pooling allocator cannot reserve its memory) or WasmScratch::kTmpfs was asked for where no
/// tmpfs can be made; kInvalidArgument for a malformed `egress_fixed_hosts` entry.
Result<std::unique_ptr<Runtime>> MakeWasmRuntime(const WasmRuntimeOptions& options = {});

/// Compiles the WebAssembly module or component at `file` (absolute) ahead of time into
/// `options.cache_dir`, the disk cache the runtime made with the same `options` reads, so
/// that no call pays the compilation (`skillrt build`; docs/wasm-languages.md). The
/// compilation runs in a child process, as in a call, bounded by `memory_budget_bytes` of
/// growth and by `timeout` (which replaces `options.compile_timeout`). Returns "disk cache"
/// when the cache already held it, else "compiled". Errors: kValidation (not a valid module or
/// component, or it exports nothing the runtime can call; slower than `timeout`; more memory
/// than the budget), kIo, and those of MakeWasmRuntime. Thread-safe.
Result<std::string> PrecompileWasm(const WasmRuntimeOptions& options,
                                   const std::filesystem::path& file,
                                   uint64_t memory_budget_bytes,
                                   std::chrono::milliseconds timeout);

/// Options of the container runtime (docs/container.md).
struct ContainerRuntimeOptions {
  /// The engine CLI: an absolute path, or a command name searched on $PATH. Empty:
  /// $SKILLRT_CONTAINER_ENGINE if set, else the first of podman and docker on $PATH.
  std::string engine;
  /// Directory under which each run's private directory (mode 0700) holding its environment
  /// file (mode 0600) is made and removed after the run. Empty: $TMPDIR, else /tmp.
  std::filesystem::path scratch_root;
  /// Give each run a cgroup parent of its own and read CPU time, peak memory and OOM kills
  /// from it, when the engine allows it (podman, or a docker daemon on this host, with the
  /// cgroupfs manager, skillrt running as root).
  bool cgroup_stats = true;
  /// Names the egress proxy answers from this table instead of DNS, as
  /// NativeRuntimeOptions::egress_fixed_hosts.
  std::map<std::string, std::vector<std::string>> egress_fixed_hosts = {};
  /// Longest the egress proxy waits for a destination to accept a connection, per address.
  std::chrono::milliseconds egress_connect_timeout{10'000};
  /// Directory (made with mode 0700) where what `<engine> info` said is kept, keyed by the
  /// engine binary, the user, the engine's environment variables and configuration files,
  /// and trusted for at most an hour (docs/container.md, "The engine probe"). Empty: the
  /// engine is asked every time a runtime is made. The engine sets <home>/cache/container.
  std::filesystem::path probe_cache_dir;
};

/// Creates the container runtime: each run is one `<engine> run --rm` of the manifest's
/// image under the launch policy (no privileged mode, host namespaces, added capabilities,
/// devices, socket or sensitive host mounts) with every capability dropped,
/// no-new-privileges, a read-only root, a tmpfs /tmp, a non-root user, no network (or, for a
/// plan with an allowlist and podman as root, a network namespace of skillrt's whose only way
/// out is the egress proxy), and the plan's limits. Finds the engine and runs `<engine> info`
/// once (0.1-0.3 s), or reads its answer from `probe_cache_dir`. Thread-safe. kUnsupported when no engine is found or it cannot run
/// containers here; kInvalidArgument for a malformed `egress_fixed_hosts` entry. Run errors:
/// kNotFound when the image is not in the local store or the command is not in the image;
/// kSandbox for other failures of the engine itself (exit 125/126 with its error line);
/// kUnsupported for a plan with network access on docker (it cannot join a given namespace)
/// or without the privilege to make the namespace.
Result<std::unique_ptr<Runtime>> MakeContainerRuntime(const ContainerRuntimeOptions& options = {});

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_H_
