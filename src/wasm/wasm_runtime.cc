// The WebAssembly runtime (include/skillrt/runtime.h, docs/wasm.md): WASI preview 1 command
// modules and components under one shared Wasmtime engine, a fresh store and instance per
// call, capabilities granted only as the plan says.
//
// What a guest can reach is what WASI gives it, and WASI gives it only what the store's WASI
// context holds: the preopened directories (the skill directory read-only at /skill, a
// scratch directory at /tmp, declared paths at their own path), the plan's environment, the
// plan's arguments, stdin bytes and captured stdout and stderr. Wasmtime's WASI context
// starts with no network access and no name lookup, and skillrt never grants either. Paths
// are resolved by Wasmtime's capability-based filesystem layer, which refuses `..` and
// symlinks that lead out of a preopen. The one way out is the `skillrt_http` host interface
// (http_imports.h), whose requests go through the egress proxy and the plan's allowlist.
#include <stdlib.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <sys/mman.h>
#include <pthread.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>
#include <wasi.h>
#include <wasmtime.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <fstream>
#include <list>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <utility>
#include <vector>

#include "net/egress_http_client.h"
#include "net/resolver.h"
#include "skillrt/runtime.h"
#include "skillrt/fd.h"
#include "runtime/limit_text.h"
#include "runtime/path_pin.h"
#include "skillrt/sha256.h"
#include "util/fork_exclusion.h"
#include "wasm/call_state.h"
#include "wasm/call_threads.h"
#include "wasm/compile_cache.h"
#include "wasm/compile_child.h"
#include "wasm/host_wait.h"
#include "wasm/http_imports.h"
#include "wasm/module_file.h"
#include "wasm/scratch.h"
#include "wasm/wasi_poll.h"
#include "wasm/wasmtime_lazy.h"
#include "wasm/wasmtime_util.h"

#include <fcntl.h>

namespace skillrt {
namespace {

using wasm::BinaryKind;
using wasm::ComponentLinkerPtr;
using wasm::ComponentPtr;
using wasm::EnginePtr;
using wasm::ErrorMessage;
using wasm::ErrorPtr;
using wasm::ExportIndexPtr;
using wasm::InstancePrePtr;
using wasm::LinkerPtr;
using wasm::ModulePtr;
using wasm::StorePtr;
using wasm::TrapMessage;
using wasm::TrapPtr;
using wasm::CallState;
using wasm::ScratchCheck;
using wasm::ScratchKind;
using wasm::ScratchProvider;
using wasm::ScratchSpace;
using wasm::WasiConfigPtr;

using Clock = std::chrono::steady_clock;

wasm_config_t* NewEngineConfig(const WasmRuntimeOptions& options, bool pooling);

// The epoch ticker's period: the resolution of wall-clock, CPU and output checks.
constexpr std::chrono::milliseconds kTick{1};
// How long the ticker goes on ticking after the last guest left, before it sleeps until the
// next one (Shared::guests_running).
constexpr std::chrono::milliseconds kIdleTicking{100};
// Calls of one kind (modules, components) given up at their deadline (Run) whose threads may
// still wait in the host at once; past it, calls of that kind are refused until one ends.
constexpr int kMaxAbandonedCalls = 16;
// How long past a call's wall-clock limit its caller waits before giving it up: the epoch
// tick, and the return from a host call interrupted at the deadline (host_wait.h).
constexpr std::chrono::milliseconds kAbandonGrace{250};
// How long a cancelled call's caller waits for it to end before giving it up: a cancelled call
// owes its caller no outcome of its own, only a prompt end.
constexpr std::chrono::milliseconds kCancelGrace{25};
// How often, between the deadline and the end of the grace, threads waiting in the kernel
// are interrupted again (a wait that began after the previous signal).
constexpr std::chrono::milliseconds kInterruptEvery{25};
// Idle call threads kept for the next calls (call_threads.h).
constexpr size_t kIdleCallThreads = 8;
// The scratch space is checked as often as every tick, less often when a check is costly (a
// large tree under a directory scratch), so that checking takes at most 1/kScratchCheckShare
// of the call's time; and at least every kMaxScratchCheckTicks.
constexpr int64_t kScratchCheckShare = 10;
constexpr uint64_t kMaxScratchCheckTicks = 1000;
// Tables and memories one call may create (a component has a few of each).
constexpr int64_t kMaxTablesPerCall = 64;
constexpr int64_t kMaxMemoriesPerCall = 64;

// A compiled module with its imports resolved against WASI preview 1, or a compiled
// component with the function to call located. Immutable after creation; shared by calls.
struct Compiled {
  BinaryKind kind = BinaryKind::kUnknown;
  ModulePtr module;
  InstancePrePtr pre;  // Module only: the linker's work done once.
  ComponentPtr component;
  // Component only: the function to call, and whether it is the skillrt world's `run`
  // (input string in, result out) rather than wasi:cli/run's `run` (no arguments).
  ExportIndexPtr run;
  bool skillrt_world = false;
  std::string source;  // "compiled" or "disk cache": how this process got it.
};

// The code of a call, or the limit of the call that stopped its compilation.
struct Code {
  std::shared_ptr<const Compiled> compiled = {};  // Null when `stopped_at` is set.
  std::string stopped_at = {};                    // "wall_time" or "memory".
  std::string detail = {};                        // For the outcome's message.
  std::string layer = {};                         // For the outcome's layers.
};

// Empty memfds for the guests' stdio (OutputFile), kept between calls: making one and freeing
// it costs more than emptying one. A file comes back only once the store that wrote to it is
// gone (CallSetup), so no guest writes into another call's stream. Thread-safe.
class OutputFilePool {
 public:
  // An empty file: a kept one, else a new one. Errors: kIo if memfd_create(2) fails.
  Result<UniqueFd> Take(const char* name) {
    {
      std::lock_guard lock(mu_);
      if (!files_.empty()) {
        UniqueFd fd = std::move(files_.back());
        files_.pop_back();
        return fd;
      }
    }
    UniqueFd fd(::memfd_create(name, MFD_CLOEXEC));
    if (!fd) return FailErrno(ErrorCode::kIo, "memfd_create (WebAssembly output)", errno);
    return fd;
  }
  // Empties `fd` and keeps it, unless enough are kept or it cannot be emptied. `written`:
  // whether it may hold anything (a file nobody wrote to is kept as it is).
  void Give(UniqueFd fd, bool written) {
    struct stat st;
    if (!written && (::fstat(fd.get(), &st) != 0 || st.st_size != 0)) written = true;
    if (written && ::ftruncate(fd.get(), 0) != 0) return;
    std::lock_guard lock(mu_);
    if (files_.size() < kMaxKept) files_.push_back(std::move(fd));
  }

 private:
  static constexpr size_t kMaxKept = 32;
  std::mutex mu_;
  std::vector<UniqueFd> files_;
};

// Everything calls share, calls given up at their deadline included; kept alive by whichever
// holds it last.
// The engine's pool reservations (linear memories, tables), kept out of the native sandbox's
// clones for as long as the engine lives (util/fork_exclusion.h). Declared after the engine in
// Shared, so destroyed (unregistered) before the engine unmaps them.
class PoolExclusion {
 public:
  PoolExclusion() = default;
  PoolExclusion(const PoolExclusion&) = delete;
  PoolExclusion& operator=(const PoolExclusion&) = delete;
  ~PoolExclusion() {
    for (const fork_exclusion::Range& r : ranges_) fork_exclusion::Unregister(r);
  }
  void Add(fork_exclusion::Range r) {
    fork_exclusion::Register(r);
    ranges_.push_back(r);
  }

 private:
  std::vector<fork_exclusion::Range> ranges_;
};

struct Shared {
  EnginePtr engine;
  PoolExclusion pool_exclusion;  // After `engine`: see PoolExclusion.
  LinkerPtr linker;                     // WASI preview 1 for modules.
  ComponentLinkerPtr component_linker;  // WASI 0.2 for components.
  std::string config_fingerprint;       // Part of every cache key.
  std::shared_ptr<const net::Resolver> resolver;  // Names for the egress proxy.
  std::shared_ptr<OutputFilePool> output_files = std::make_shared<OutputFilePool>();
  // Calls given up at their deadline whose threads still wait in the host, by kind: a
  // component waiting for a timer (which nothing can interrupt) does not hold modules up.
  std::atomic<int> abandoned_modules{0};
  std::atomic<int> abandoned_components{0};
  // The epoch ticker (WasmRuntime::Tick) ticks while a guest may run WebAssembly
  // (GuestRunning) and for kIdleTicking after, then sleeps until the next guest: a runtime
  // with no call in flight does not wake a thousand times a second, and calls in a row do
  // not each wake it. The ticker waits on ticker_cv under ticker_mutex.
  mutable std::mutex ticker_mutex;
  mutable std::condition_variable ticker_cv;
  mutable std::atomic<int> guests_running{0};
  mutable std::atomic<bool> ticker_asleep{false};  // Set by the ticker before it sleeps.
};

// While alive, a guest of `shared`'s engine may run WebAssembly (an instantiation, whose start
// functions run, or a call): the epoch ticker ticks, so the guest's limits are checked. Every
// entry into guest code is inside one. Thread-safe.
class GuestRunning {
 public:
  explicit GuestRunning(const Shared& shared) : shared_(shared) {
    // Both sequentially consistent: either this sees the ticker asleep, or the ticker, which
    // sets the flag before it checks the count, sees this guest and does not sleep. The
    // signal goes under the ticker's lock, so that a ticker between its check and its wait
    // gets it.
    if (shared_.guests_running.fetch_add(1) == 0 && shared_.ticker_asleep.load()) {
      std::lock_guard lock(shared_.ticker_mutex);
      shared_.ticker_cv.notify_all();
    }
  }
  ~GuestRunning() { shared_.guests_running.fetch_sub(1); }
  GuestRunning(const GuestRunning&) = delete;
  GuestRunning& operator=(const GuestRunning&) = delete;

 private:
  const Shared& shared_;
};

// The run's observer as seen from the call thread, which may outlive the run (a call given
// up at its deadline or when cancelled): the caller detaches it before it returns.
struct ObserverRelay {
  std::mutex mu;
  RunObserver* observer = nullptr;  // Guarded by mu; null once the caller stopped waiting.

  void Started(const std::vector<std::string>& layers) {
    std::lock_guard lock(mu);
    if (observer != nullptr) observer->OnStarted(layers);
  }
  void Output(OutputStream stream, std::string_view bytes) {
    std::lock_guard lock(mu);
    if (observer != nullptr) observer->OnOutput(stream, bytes);
  }
  void Egress(const EgressRecord& record) {
    std::lock_guard lock(mu);
    if (observer != nullptr) observer->OnEgress(record);
  }
  void Detach() {
    std::lock_guard lock(mu);
    observer = nullptr;
  }
};

// One captured stream: keeps the first `cap` bytes, counts the rest.
struct Sink {
  CapturedStream* stream;
  uint64_t cap;
  CallState* state;
  OutputStream which;
  ObserverRelay* relay;  // Null when nobody observes the run.
};

// Adds `size` bytes the guest produced to `sink`; `bytes` is read only for those the sink
// keeps (the first min(cap, kCapturedStreamMaxBytes)), so it may be null once it keeps no more.
ptrdiff_t WriteToSink(void* data, const unsigned char* bytes, size_t size) {
  Sink* sink = static_cast<Sink*>(data);
  CapturedStream& stream = *sink->stream;
  stream.total_bytes += size;
  const uint64_t keep = std::min(sink->cap, kCapturedStreamMaxBytes);
  if (stream.data.size() < keep) {
    size_t take = std::min<uint64_t>(size, keep - stream.data.size());
    stream.data.append(reinterpret_cast<const char*>(bytes), take);
    if (sink->relay != nullptr) {
      sink->relay->Output(sink->which, {reinterpret_cast<const char*>(bytes), take});
    }
  }
  if (stream.total_bytes > keep) stream.truncated = true;
  if (stream.total_bytes > sink->cap) {
    // Like the native runtime: a stream past its cap stops the run. The write itself
    // succeeds; the next epoch tick ends the call.
    stream.truncated = true;
    sink->state->output_exceeded = true;
  }
  return static_cast<ptrdiff_t>(size);
}

// What the guest writes to one of its stdio streams, as a file: a memfd(2) that Wasmtime
// writes to synchronously, on the guest's own thread (wasi_config_set_stdout_file). A
// callback stream instead (wasi_config_set_stdout_custom) goes through Wasmtime's tokio
// runtime, which hands every write to a worker thread and waits for it: two thread switches
// per write (docs/benchmarks.md). The file is read into its sink at each epoch tick, while
// the guest waits in skillrt's host functions and when it ends (CallState::DrainOutput):
// output reaches the captured stream and those who watch the run within a tick of the guest
// running WebAssembly. Bytes the sink no longer keeps are counted, not read, and the pages
// already read are given back, so the file holds at most what the guest wrote since the last
// drain: within one tick, or one write (no larger than the guest's own memory).
class OutputFile {
 public:
  // An empty file from `pool` whose bytes go to `sink`; it goes back to the pool when this is
  // destroyed. Errors: kIo if no file can be made.
  static Result<OutputFile> Make(std::shared_ptr<OutputFilePool> pool, Sink* sink,
                                 const char* name) {
    auto fd = pool->Take(name);
    if (!fd) return std::unexpected(fd.error());
    return OutputFile(std::move(*fd), std::move(pool), sink);
  }
  OutputFile(OutputFile&&) = default;
  OutputFile& operator=(OutputFile&&) = delete;
  ~OutputFile() {
    if (fd_ && pool_ != nullptr) pool_->Give(std::move(fd_), /*written=*/read_ > 0);
  }

  // The path Wasmtime opens it by (a new open file description on the same file).
  std::string path() const { return "/proc/self/fd/" + std::to_string(fd_.get()); }

  // Moves the bytes written since the last call into the sink. Thread: the call's.
  void Drain() {
    struct stat st;
    if (::fstat(fd_.get(), &st) != 0) return;
    const uint64_t size = static_cast<uint64_t>(st.st_size);
    CapturedStream& stream = *sink_->stream;
    const uint64_t keep = std::min(sink_->cap, kCapturedStreamMaxBytes);
    while (read_ < size) {
      const uint64_t room = keep > stream.data.size() ? keep - stream.data.size() : 0;
      if (room == 0) {
        WriteToSink(sink_, nullptr, size - read_);  // Counted only.
        read_ = size;
        break;
      }
      const size_t want = static_cast<size_t>(std::min({size - read_, room, kChunk}));
      buffer_.resize(want);
      const ssize_t n = ::pread(fd_.get(), buffer_.data(), want, static_cast<off_t>(read_));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;
      WriteToSink(sink_, reinterpret_cast<const unsigned char*>(buffer_.data()),
                  static_cast<size_t>(n));
      read_ += static_cast<uint64_t>(n);
    }
    // Pages read are freed (the size stays, so the writer's offset still matches it).
    const uint64_t whole = read_ & ~uint64_t{kPage - 1};
    if (whole >= freed_ + kFreeEvery) {
      (void)::fallocate(fd_.get(), FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                        static_cast<off_t>(freed_), static_cast<off_t>(whole - freed_));
      freed_ = whole;
    }
  }

 private:
  static constexpr uint64_t kChunk = 64u << 10;
  static constexpr uint64_t kPage = 4096;
  static constexpr uint64_t kFreeEvery = 1u << 20;

  OutputFile(UniqueFd fd, std::shared_ptr<OutputFilePool> pool, Sink* sink)
      : fd_(std::move(fd)), pool_(std::move(pool)), sink_(sink) {}

  UniqueFd fd_;
  std::shared_ptr<OutputFilePool> pool_;
  Sink* sink_;
  uint64_t read_ = 0;   // Bytes of the file given to the sink.
  uint64_t freed_ = 0;  // Bytes at the start of the file whose pages were freed.
  std::string buffer_;
};

int64_t ThreadCpuNs() {
  struct timespec ts;
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

// Called by Wasmtime each time the running guest passes its epoch deadline (every tick):
// ends the call when a limit is crossed, else extends the deadline by one tick.
wasmtime_error_t* OnEpochDeadline(const wasmtime_context_t*, void* data, uint64_t* delta,
                                  wasmtime_update_deadline_kind_t* kind) {
  CallState* state = static_cast<CallState*>(data);
  ++state->ticks;
  if (state->cancel_requested != nullptr &&
      state->cancel_requested->load(std::memory_order_acquire)) {
    state->cancelled = true;
    return wasmtime_error_new("cancelled");
  }
  if (Clock::now() >= state->deadline) {
    state->timed_out = true;
    return wasmtime_error_new("wall-clock limit reached");
  }
  state->DrainOutput();
  if (state->output_exceeded) return wasmtime_error_new("output limit reached");
  if (ThreadCpuNs() - state->cpu_start_ns > state->cpu_limit_ns) {
    state->cpu_exceeded = true;
    return wasmtime_error_new("CPU time limit reached");
  }
  if (state->ticks >= state->next_scratch_check) {
    const Clock::time_point before = Clock::now();
    const ScratchCheck check = state->scratch->Check();
    const int64_t cost_ticks = (Clock::now() - before) * kScratchCheckShare / kTick;
    state->next_scratch_check =
        state->ticks + std::clamp<uint64_t>(static_cast<uint64_t>(cost_ticks), 1,
                                            kMaxScratchCheckTicks);
    if (check == ScratchCheck::kOver) {
      state->scratch_exceeded = true;
      return wasmtime_error_new("scratch space limit reached");
    }
    if (check == ScratchCheck::kFull) state->scratch_full = true;
  }
  *delta = 1;
  *kind = WASMTIME_UPDATE_DEADLINE_CONTINUE;
  return nullptr;
}

// Everything one call of compiled code needs before its input is known: its scratch, state,
// output sinks, WASI context, store and (for a component) instance. Heap-allocated, since the
// store, the sinks and the HTTP state point into it. A set-up is used by one call only; for
// a component of the skillrt world it may be made ahead of need (PreparedCalls).
struct CallSetup {
  std::shared_ptr<const Shared> shared;       // The engine outlives the store.
  std::shared_ptr<ScratchProvider> provider;  // Outlives `scratch`, which it takes back.
  std::optional<ScratchSpace> scratch;
  Outcome outcome;
  CallState state;
  std::optional<wasm::GuestHttp> http;
  ObserverRelay* relay = nullptr;  // The relay of the call that runs it; set by FinishCall.
  Sink out{};
  Sink err{};
  // The guest's stdout and stderr as Wasmtime writes them (each drained into its sink).
  std::optional<OutputFile> out_file;
  std::optional<OutputFile> err_file;
  std::vector<UniqueFd> pinned;  // Declared directories, opened as their pins say.
  StorePtr store;                // Before `scratch` goes: its descriptors keep files counted.
  wasmtime_component_instance_t instance{};
  std::string failure;  // A component's instantiation failure, reported by the call.

  ~CallSetup() {
    store.reset();  // Its WASI descriptors, then the scratch they point into.
  }

  // CallState::drain_output for a set-up: both files into their sinks.
  static void DrainFiles(void* context) {
    auto* self = static_cast<CallSetup*>(context);
    if (self->out_file) self->out_file->Drain();
    if (self->err_file) self->err_file->Drain();
  }
};

// Set-ups of skillrt-world component calls made ahead of need (WasmRuntimeOptions::
// prepared_calls): after a call of a plan ends, the next one's store and instance are made on
// the call thread, so that the next call of the same plan only runs the guest. Each set-up
// serves one call and is then gone: no instance ever runs two calls. Thread-safe.
class PreparedCalls {
 public:
  // The set-up kept for `key`, taken out; null if there is none.
  std::unique_ptr<CallSetup> Take(const std::string& key) {
    std::lock_guard lock(mu_);
    for (auto it = entries_.begin(); it != entries_.end(); ++it) {
      if (it->first != key) continue;
      std::unique_ptr<CallSetup> setup = std::move(it->second);
      entries_.erase(it);
      return setup;
    }
    return nullptr;
  }
  // Drops every set-up kept; whether there was any.
  bool Clear() {
    std::list<std::pair<std::string, std::unique_ptr<CallSetup>>> dropped;  // Outside the lock.
    std::lock_guard lock(mu_);
    dropped.swap(entries_);
    return !dropped.empty();
  }
  // Keeps `setup` for `key`, newest first, at most `max` in all (the oldest dropped).
  void Put(std::string key, std::unique_ptr<CallSetup> setup, size_t max) {
    std::unique_ptr<CallSetup> dropped;  // Destroyed outside the lock.
    std::lock_guard lock(mu_);
    entries_.emplace_front(std::move(key), std::move(setup));
    if (entries_.size() > max) {
      dropped = std::move(entries_.back().second);
      entries_.pop_back();
    }
  }
 private:
  std::mutex mu_;
  std::list<std::pair<std::string, std::unique_ptr<CallSetup>>> entries_;
};

class WasmRuntime : public Runtime {
 public:
  // `calling_thread_ok`: module calls may run on their callers' threads, as far as the
  // runtime is concerned (the option is on, the interrupt installed, the scratch local);
  // each call checks the rest (OnCallingThread).
  WasmRuntime(WasmRuntimeOptions options, std::shared_ptr<Shared> shared,
              std::shared_ptr<ScratchProvider> scratch, bool calling_thread_ok)
      : options_(std::move(options)),
        calling_thread_ok_(calling_thread_ok),
        shared_(std::move(shared)),
        cache_(options_.cache_dir, options_.cache_max_bytes),
        scratch_(std::move(scratch)),
        call_threads_(kIdleCallThreads) {
    ticker_ = std::thread([this] { Tick(); });
  }

  ~WasmRuntime() override {
    // Calls whose caller has its outcome may still be releasing their instance and code (or
    // setting up the next call): they end first, with the epoch still ticking for them, so
    // that nothing of this runtime's is released after it is gone. Calls given up in the host
    // keep what they use (Execute) and are not waited for: their wait may never end.
    call_threads_.WaitForJobs([this] {
      return static_cast<size_t>(shared_->abandoned_modules.load() +
                                 shared_->abandoned_components.load());
    });
    {
      std::lock_guard lock(shared_->ticker_mutex);
      stop_ = true;
    }
    shared_->ticker_cv.notify_all();
    ticker_.join();
  }

  std::string_view Name() const override { return "wasm"; }

  Result<Outcome> Execute(const Plan& plan, const RunContext& context) override;

  // PrecompileWasm: loads `file` as a call would, compiling it unless the disk cache has it.
  Result<std::string> Precompile(const std::filesystem::path& file, uint64_t budget) {
    Plan plan;
    plan.skill_dir = file.parent_path();
    plan.argv = {file.filename().string()};
    plan.wasm_component = file;
    plan.limits.memory_max_bytes = budget;
    auto code = Load(plan, /*skill_dir_fd=*/-1, Clock::now() + options_.compile_timeout);
    if (!code) return std::unexpected(code.error());
    if (!code->compiled) {
      if (code->stopped_at == "memory") return Fail(ErrorCode::kValidation, code->detail);
      return Fail(ErrorCode::kValidation, file.string() + ": compiling took longer than " +
                                              std::to_string(options_.compile_timeout.count()) +
                                              " ms; stopped");
    }
    return code->compiled->source;
  }

 private:
  void Tick() {
    std::unique_lock lock(shared_->ticker_mutex);
    Clock::time_point last_guest = Clock::now();
    for (;;) {
      if (shared_->guests_running.load() > 0) {
        last_guest = Clock::now();
      } else if (Clock::now() - last_guest >= kIdleTicking) {
        shared_->ticker_asleep.store(true);
        shared_->ticker_cv.wait(lock,
                                [this] { return stop_ || shared_->guests_running.load() > 0; });
        shared_->ticker_asleep.store(false);
        last_guest = Clock::now();
      }
      if (stop_ || shared_->ticker_cv.wait_for(lock, kTick, [this] { return stop_; })) return;
      wasmtime_engine_increment_epoch(shared_->engine.get());
      if (caller_call_count_.load(std::memory_order_relaxed) > 0) InterruptOverdueCallerCalls();
    }
  }

  // A module call running on its caller's thread (RunOnCallingThread), as the ticker watches it.
  struct CallerCall {
    Clock::time_point deadline;
    std::atomic<bool> cancel_requested{false};
    std::atomic<int64_t> cancelled_at_ns{0};  // Clock's time of the cancel; 0: none.
  };

  // Whether the call of `plan`, whose skill directory is `skill_dir_fd`, may run on the
  // calling thread (WasmRuntimeOptions::modules_on_calling_thread).
  bool OnCallingThread(const Plan& plan, int skill_dir_fd) const;
  // Runs a module's call on the calling thread, watched by the ticker.
  Result<Outcome> RunOnCallingThread(const Plan& plan, const RunContext& context,
                                     const std::shared_ptr<const Compiled>& compiled,
                                     int skill_dir_fd, Clock::time_point start,
                                     Clock::time_point deadline);
  // On the ticker: as a caller waiting for its call thread does past the deadline or a cancel
  // (Execute), interrupts host waits once a call on its caller's thread is two ticks overdue,
  // and again every kInterruptEvery while one is.
  void InterruptOverdueCallerCalls();

  // The compiled code of the plan's module (found beneath `skill_dir_fd`, or the plan's
  // wasm_component), from memory, the disk cache or a compilation bounded by the call's
  // limits (which may stop it).
  Result<Code> Load(const Plan& plan, int skill_dir_fd, Clock::time_point deadline);
  // The disk cache's entry for `key`, mapped; null on a miss or an entry Wasmtime refuses.
  std::shared_ptr<Compiled> FromDiskCache(const std::string& key, BinaryKind kind);
  Result<Code> Compile(const std::vector<uint8_t>& bytes, BinaryKind kind, const std::string& key,
                       const std::string& where, const Plan& plan, Clock::time_point deadline);
  Result<std::shared_ptr<Compiled>> Finish(std::shared_ptr<Compiled> compiled,
                                           const std::string& where);
  void Remember(const std::string& key, std::shared_ptr<const Compiled> compiled);

  WasmRuntimeOptions options_;
  const bool calling_thread_ok_;
  std::shared_ptr<Shared> shared_;
  wasm::CompileCache cache_;

  // Calls running on their callers' threads, for the ticker.
  std::mutex caller_calls_mutex_;
  std::list<std::shared_ptr<CallerCall>> caller_calls_;  // Guarded by caller_calls_mutex_.
  std::atomic<int> caller_call_count_{0};
  Clock::time_point last_interrupt_{};  // The ticker's own.

  // Shared with calls that outlive their deadline (see Run).
  std::shared_ptr<ScratchProvider> scratch_;
  std::shared_ptr<PreparedCalls> prepared_ = std::make_shared<PreparedCalls>();
  wasm::CallThreads call_threads_;

  std::mutex cache_mutex_;  // Guards lru_, by_key_ and key_by_identity_.
  std::list<std::pair<std::string, std::shared_ptr<const Compiled>>> lru_;
  std::unordered_map<std::string, decltype(lru_)::iterator> by_key_;
  // The cache key of each module file known so far, by the file's identity: a file with the
  // same identity has the same contents (compile_cache.h), wherever it is named from.
  struct IdentityHash {
    size_t operator()(const wasm::FileIdentity& id) const {
      return std::hash<uint64_t>()(id.ino * 1'000'003 ^ id.dev) ^
             std::hash<int64_t>()(id.ctime_ns);
    }
  };
  std::unordered_map<wasm::FileIdentity, std::string, IdentityHash> key_by_identity_;
  wasm::SkillDirOpener skill_dirs_;

  bool stop_ = false;  // Guarded by shared_->ticker_mutex.
  std::thread ticker_;
};

void WasmRuntime::Remember(const std::string& key, std::shared_ptr<const Compiled> compiled) {
  std::lock_guard lock(cache_mutex_);
  if (auto it = by_key_.find(key); it != by_key_.end()) {
    lru_.erase(it->second);
    by_key_.erase(it);
  }
  lru_.emplace_front(key, std::move(compiled));
  by_key_[key] = lru_.begin();
  while (lru_.size() > std::max<uint32_t>(1, options_.max_cached_modules)) {
    by_key_.erase(lru_.back().first);
    lru_.pop_back();
  }
}

// Locates what a compiled module or component needs per call: the module's instance_pre
// (imports resolved once), or the component's function to call.
Result<std::shared_ptr<Compiled>> WasmRuntime::Finish(std::shared_ptr<Compiled> compiled,
                                                      const std::string& where) {
  if (compiled->kind == BinaryKind::kModule) {
    wasmtime_instance_pre_t* pre = nullptr;
    ErrorPtr error(
        wasmtime_linker_instantiate_pre(shared_->linker.get(), compiled->module.get(), &pre));
    if (error) {
      return Fail(ErrorCode::kValidation,
                  where + ": cannot be linked against WASI preview 1: " + ErrorMessage(error.get()));
    }
    compiled->pre.reset(pre);
    return compiled;
  }
  const wasmtime_component_t* component = compiled->component.get();
  if (auto* index = wasmtime_component_get_export_index(component, nullptr, "run", 3)) {
    compiled->run.reset(index);
    compiled->skillrt_world = true;
    return compiled;
  }
  // A wasi:cli/command exports the interface wasi:cli/run@<version> with a function `run`.
  wasmtime_component_type_t* type = wasmtime_component_type(component);
  const size_t count = wasmtime_component_type_export_count(type, shared_->engine.get());
  std::string interface;
  for (size_t i = 0; i < count && interface.empty(); ++i) {
    const char* name = nullptr;
    size_t length = 0;
    wasmtime_component_extern_t* item = nullptr;  // Ours when found.
    if (!wasmtime_component_type_export_nth(type, shared_->engine.get(), i, &name, &length,
                                            &item)) {
      continue;
    }
    std::string_view export_name(name, length);
    if (export_name.starts_with("wasi:cli/run@")) interface = export_name;
    wasmtime_component_extern_delete(item);
  }
  wasmtime_component_type_delete(type);
  if (!interface.empty()) {
    ExportIndexPtr instance(wasmtime_component_get_export_index(component, nullptr,
                                                                interface.data(), interface.size()));
    if (instance) {
      if (auto* index = wasmtime_component_get_export_index(component, instance.get(), "run", 3)) {
        compiled->run.reset(index);
        return compiled;
      }
    }
  }
  return Fail(ErrorCode::kValidation,
              where + ": the component exports neither `run` (the skillrt world, wit/skillrt.wit) "
                      "nor wasi:cli/run");
}

std::shared_ptr<Compiled> WasmRuntime::FromDiskCache(const std::string& key, BinaryKind kind) {
  auto entry = cache_.Open(key, options_.max_module_bytes * 16);
  if (!entry) return nullptr;
  auto compiled = std::make_shared<Compiled>();
  compiled->kind = kind;
  compiled->source = "disk cache";
  auto deserialize = [&](auto&& module_from, auto&& component_from) {
    ErrorPtr error;
    if (kind == BinaryKind::kModule) {
      wasmtime_module_t* module = nullptr;
      error.reset(module_from(&module));
      compiled->module.reset(module);
    } else {
      wasmtime_component_t* component = nullptr;
      error.reset(component_from(&component));
      compiled->component.reset(component);
    }
    return !error;
  };
  // Mapped, not read: Wasmtime maps the file (its code and its memory images are the page
  // cache's pages), so a large component costs neither a read nor a copy. The path names the
  // descriptor the cache checked, not the entry's name, which could be replaced meanwhile.
  const std::string path = entry->ProcPath();
  wasm_engine_t* engine = shared_->engine.get();
  if (deserialize(
          [&](wasmtime_module_t** out) {
            return wasmtime_module_deserialize_file(engine, path.c_str(), out);
          },
          [&](wasmtime_component_t** out) {
            return wasmtime_component_deserialize_file(engine, path.c_str(), out);
          })) {
    return compiled;
  }
  // Without /proc, or where the cache's filesystem refuses executable mappings (noexec), the
  // entry is read into memory instead. An entry Wasmtime refuses both ways (another Wasmtime
  // build wrote it, or it is damaged) is a miss: compiled again and replaced.
  std::vector<uint8_t> payload(entry->bytes);
  size_t done = 0;
  while (done < payload.size()) {
    const ssize_t n = ::pread(entry->fd.get(), payload.data() + done, payload.size() - done,
                              static_cast<off_t>(done));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return nullptr;
    done += static_cast<size_t>(n);
  }
  if (deserialize(
          [&](wasmtime_module_t** out) {
            return wasmtime_module_deserialize(engine, payload.data(), payload.size(), out);
          },
          [&](wasmtime_component_t** out) {
            return wasmtime_component_deserialize(engine, payload.data(), payload.size(), out);
          })) {
    return compiled;
  }
  return nullptr;
}

Result<Code> WasmRuntime::Compile(const std::vector<uint8_t>& bytes, BinaryKind kind,
                                  const std::string& key, const std::string& where,
                                  const Plan& plan, Clock::time_point deadline) {
  auto finished = [&](std::shared_ptr<Compiled> compiled) -> Result<Code> {
    auto done = Finish(std::move(compiled), where);
    if (!done) return std::unexpected(done.error());
    return Code{.compiled = std::move(*done)};
  };
  // Not cached: compile in a child process bounded by the call's memory limit and killed at
  // its deadline or compile_timeout, whichever comes first (compile_child.h).
  const Clock::time_point give_up = std::min(deadline, Clock::now() + options_.compile_timeout);
  const uint64_t budget = plan.limits.memory_max_bytes;
  auto compiled_bytes = wasm::CompileInChild(wasm::CompileRequest{
      .bytes = &bytes,
      .component = kind == BinaryKind::kComponent,
      .make_config = [options = options_] { return NewEngineConfig(options, /*pooling=*/false); },
      .memory_budget_bytes = budget,
      .give_up = give_up,
      .max_output_bytes = budget});
  if (!compiled_bytes) return std::unexpected(compiled_bytes.error());
  const char* what = kind == BinaryKind::kModule ? "module" : "component";
  switch (compiled_bytes->end) {
    case wasm::CompileEnd::kCompiled:
      break;
    case wasm::CompileEnd::kInvalid:
      return Fail(ErrorCode::kValidation,
                  where + ": not a valid WebAssembly " + what + ": " + compiled_bytes->message);
    case wasm::CompileEnd::kTimedOut:
      if (give_up == deadline) {
        return Code{.stopped_at = "wall_time",
                    .detail = " while its module was being compiled; the compilation was stopped",
                    .layer = "compile-deadline"};
      }
      return Fail(ErrorCode::kValidation,
                  where + ": compiling took longer than " +
                      std::to_string(options_.compile_timeout.count()) + " ms; stopped");
    case wasm::CompileEnd::kOutOfMemory:
      return Code{.stopped_at = "memory",
                  .detail = "compiling " + where + " needs more memory than the call's limit of " +
                            std::to_string(budget >> 20) + " MiB (" + compiled_bytes->message +
                            "); the compilation was stopped",
                  .layer = "compile-memory"};
  }
  const std::vector<uint8_t>& payload = compiled_bytes->serialized;
  auto compiled = std::make_shared<Compiled>();
  compiled->kind = kind;
  compiled->source = "compiled";
  ErrorPtr error;
  if (kind == BinaryKind::kModule) {
    wasmtime_module_t* module = nullptr;
    error.reset(wasmtime_module_deserialize(shared_->engine.get(), payload.data(), payload.size(),
                                            &module));
    compiled->module.reset(module);
  } else {
    wasmtime_component_t* component = nullptr;
    error.reset(wasmtime_component_deserialize(shared_->engine.get(), payload.data(),
                                               payload.size(), &component));
    compiled->component.reset(component);
  }
  if (error) {
    return Fail(ErrorCode::kInternal,
                where + ": compiled code does not load: " + ErrorMessage(error.get()));
  }
  // A cache that cannot be written costs speed, not correctness: the call goes on.
  (void)cache_.Store(key, payload);
  return finished(std::move(compiled));
}

Result<Code> WasmRuntime::Load(const Plan& plan, int skill_dir_fd, Clock::time_point deadline) {
  auto file = wasm::OpenModuleFile(plan, skill_dir_fd, options_.max_module_bytes);
  if (!file) return std::unexpected(file.error());
  const wasm::FileIdentity identity = wasm::FileIdentity::Of(file->st);
  {
    // A file unchanged since it was last loaded is not read or hashed again.
    std::lock_guard lock(cache_mutex_);
    if (auto known = key_by_identity_.find(identity); known != key_by_identity_.end()) {
      if (auto it = by_key_.find(known->second); it != by_key_.end()) {
        lru_.splice(lru_.begin(), lru_, it->second);
        return Code{.compiled = it->second->second};
      }
    }
  }
  const std::string& where = file->path;
  // The content's hash: recorded for this very file by an earlier process (a stamp, checked
  // against the file's identity: compile_cache.h), else read and computed. A new process
  // thus finds a large component's compiled code without reading the component.
  std::optional<std::vector<uint8_t>> bytes;
  std::string content_hash;
  auto read = [&]() -> Result<void> {
    auto read_bytes = wasm::ReadModule(*file);
    if (!read_bytes) return std::unexpected(read_bytes.error());
    bytes = std::move(*read_bytes);
    content_hash = Sha256Hex(
        std::string_view(reinterpret_cast<const char*>(bytes->data()), bytes->size()));
    return {};
  };
  if (auto stamped = cache_.LookupStamp(identity)) {
    content_hash = std::move(*stamped);
  } else {
    if (auto done = read(); !done) return std::unexpected(done.error());
    cache_.RecordStamp(identity, content_hash);
  }
  const BinaryKind kind = bytes ? wasm::KindOf(bytes->data(), bytes->size())
                                : wasm::ReadKind(*file);
  if (kind == BinaryKind::kUnknown) {
    return Fail(ErrorCode::kValidation,
                where + ": not a WebAssembly module or component (bad magic or version)");
  }
  auto key_of = [&] { return Sha256Hex(shared_->config_fingerprint + "\n" + content_hash); };
  std::string key = key_of();
  std::shared_ptr<const Compiled> found;
  {
    std::lock_guard lock(cache_mutex_);
    if (auto it = by_key_.find(key); it != by_key_.end()) {
      lru_.splice(lru_.begin(), lru_, it->second);
      found = it->second->second;
    }
  }
  if (!found) {
    if (auto mapped = FromDiskCache(key, kind)) {
      auto done = Finish(std::move(mapped), where);
      if (!done) return std::unexpected(done.error());
      found = std::move(*done);
    } else {
      // Compiled from the bytes themselves, under the key of what was read.
      if (!bytes) {
        if (auto done = read(); !done) return std::unexpected(done.error());
        key = key_of();
      }
      auto compiled = Compile(*bytes, kind, key, where, plan, deadline);
      if (!compiled) return std::unexpected(compiled.error());
      if (!compiled->compiled) return compiled;  // A limit of the call stopped it.
      found = std::move(compiled->compiled);
    }
    Remember(key, found);
  }
  std::lock_guard lock(cache_mutex_);
  if (key_by_identity_.size() >= 4 * std::max<size_t>(1, options_.max_cached_modules)) {
    key_by_identity_.clear();  // Bounded; it refills from the files on the next calls.
  }
  key_by_identity_[identity] = key;
  return Code{.compiled = std::move(found)};
}

// Splits "NAME=value" entries into the two arrays WASI's config takes.
bool SetEnvironment(wasi_config_t* config, const std::vector<std::string>& env) {
  std::vector<std::string> names;
  std::vector<std::string> values;
  for (const std::string& entry : env) {
    size_t eq = entry.find('=');
    if (eq == std::string::npos) continue;
    names.push_back(entry.substr(0, eq));
    values.push_back(entry.substr(eq + 1));
  }
  std::vector<const char*> name_ptrs;
  std::vector<const char*> value_ptrs;
  for (size_t i = 0; i < names.size(); ++i) {
    name_ptrs.push_back(names[i].c_str());
    value_ptrs.push_back(values[i].c_str());
  }
  return wasi_config_set_env(config, names.size(), name_ptrs.data(), value_ptrs.data());
}

// For a call that failed: names the limits the guest was refused at (its linear memory could
// not grow; its scratch tmpfs was full, so writes failed with ENOSPC) as the likely cause.
void NameLimitsAtTheirEnd(Outcome& outcome, const Plan& plan, bool memory_at_limit,
                          bool scratch_full) {
  if (memory_at_limit) {
    outcome.limits_hit.push_back("memory");
    outcome.message += " (linear memory is at its limit of " +
                       std::to_string(plan.limits.memory_max_bytes >> 20) + " MiB)";
  }
  if (scratch_full) {
    outcome.message += " (the scratch directory /tmp is full at its limit of " +
                       std::to_string(plan.limits.scratch_max_bytes >> 20) + " MiB or " +
                       std::to_string(wasm::kScratchMaxInodes) + " files)";
  }
}

// Makes a call's set-up: everything but running the guest (see CallSetup). `deadline` bounds
// what the component's start functions may take. Uses only what it is given, so that it can
// run on a thread that outlives the runtime. `skill_dir_fd` (the skill directory, O_PATH)
// is used only while it runs: Wasmtime opens the guest's /skill from it.
Result<std::unique_ptr<CallSetup>> SetUpCall(
    const WasmRuntimeOptions& options, const std::shared_ptr<const Shared>& shared_owner,
    const std::shared_ptr<ScratchProvider>& scratch_provider, const Plan& plan,
    const Compiled& code, Clock::time_point deadline, int skill_dir_fd) {
  const Shared& shared = *shared_owner;
  auto setup = std::make_unique<CallSetup>();
  setup->shared = shared_owner;
  setup->provider = scratch_provider;
  auto acquired = scratch_provider->Acquire(plan.limits.scratch_max_bytes);
  if (!acquired) return std::unexpected(acquired.error());
  setup->scratch.emplace(std::move(*acquired));
  const ScratchSpace& scratch = *setup->scratch;

  Outcome& outcome = setup->outcome;
  outcome.layers = {"wasmtime:" WASMTIME_VERSION, "wasi-preopens", "store-limiter",
                    "epoch-deadline"};
  if (scratch.kind() == ScratchKind::kTmpfs) outcome.layers.push_back("scratch-tmpfs");
  CallState& state = setup->state;
  // Every call gets the HTTP interface; without an allowlist each request is refused (and
  // recorded), so a module that imports it still instantiates and learns why. The records go
  // to the relay of the call that runs the guest, set when it starts (FinishCall).
  CallSetup* self = setup.get();
  setup->http.emplace(plan.egress, shared.resolver,
                      net::EgressHttpClientOptions{
                          .connect_timeout = options.egress_connect_timeout,
                          .ca_file = options.egress_ca_file,
                          .on_record = [self](const EgressRecord& record) {
                            if (self->relay != nullptr) self->relay->Egress(record);
                          }},
                      plan.limits.memory_max_bytes);
  state.http = &*setup->http;
  state.deadline = deadline;
  state.cpu_limit_ns = std::chrono::nanoseconds(plan.limits.cpu_time).count();
  state.scratch = &scratch;
  setup->out = Sink{&outcome.stdout_stream, plan.limits.output_max_bytes, &state,
                    OutputStream::kStdout, nullptr};
  setup->err = Sink{&outcome.stderr_stream, plan.limits.output_max_bytes, &state,
                    OutputStream::kStderr, nullptr};
  // The skillrt world returns its output; what such a component prints is its log.
  Sink* stdout_sink = code.skillrt_world ? &setup->err : &setup->out;

  WasiConfigPtr wasi(wasi_config_new());
  {
    std::vector<std::string> args;
    args.push_back(std::filesystem::path(plan.argv.front()).filename().string());
    args.insert(args.end(), plan.argv.begin() + 1, plan.argv.end());
    std::vector<const char*> arg_ptrs;
    for (const std::string& arg : args) arg_ptrs.push_back(arg.c_str());
    if (!wasi_config_set_argv(wasi.get(), arg_ptrs.size(), arg_ptrs.data())) {
      return Fail(ErrorCode::kInvalidArgument, "arguments are not valid UTF-8");
    }
  }
  if (!SetEnvironment(wasi.get(), plan.env)) {
    return Fail(ErrorCode::kInvalidArgument, "environment is not valid UTF-8");
  }
  if (!code.skillrt_world) {
    wasm_byte_vec_t input;
    wasm_byte_vec_new(&input, plan.stdin_data.size(), plan.stdin_data.data());
    wasi_config_set_stdin_bytes(wasi.get(), &input);
  }
  {
    auto out_file = OutputFile::Make(shared.output_files, stdout_sink, "skillrt-wasm-output");
    if (!out_file) return std::unexpected(out_file.error());
    auto err_file = OutputFile::Make(shared.output_files, &setup->err, "skillrt-wasm-output");
    if (!err_file) return std::unexpected(err_file.error());
    setup->out_file.emplace(std::move(*out_file));
    setup->err_file.emplace(std::move(*err_file));
    if (!wasi_config_set_stdout_file(wasi.get(), setup->out_file->path().c_str()) ||
        !wasi_config_set_stderr_file(wasi.get(), setup->err_file->path().c_str())) {
      return Fail(ErrorCode::kIo, "cannot open the guest's output files");
    }
    state.drain_output = &CallSetup::DrainFiles;
    state.drain_context = setup.get();
  }
  // Preopens: the skill's own files read-only, its scratch read-write, declared paths as
  // declared. Nothing else exists for the guest.
  struct Preopen {
    std::string host;
    std::string guest;
    bool writable;
  };
  // Host directories are opened as the pinned objects (runtime/path_pin.h) and handed to
  // Wasmtime through /proc/self/fd, so a path re-pointed since the plan cannot redirect them.
  std::vector<UniqueFd>& pinned = setup->pinned;
  auto pinned_host = [&](const std::optional<PathPin>& pin,
                         const std::filesystem::path& path) -> Result<std::string> {
    Result<PathPin> resolved = PinOrResolve(pin, path);
    if (!resolved) return std::unexpected(resolved.error());
    Result<UniqueFd> fd = ReopenPinned(*resolved, O_PATH | O_DIRECTORY);
    if (!fd) return std::unexpected(fd.error());
    pinned.push_back(std::move(*fd));
    return "/proc/self/fd/" + std::to_string(pinned.back().get());
  };
  // The skill directory was opened for the call already (Execute), as its pin says.
  const std::string skill_host = "/proc/self/fd/" + std::to_string(skill_dir_fd);
  std::vector<Preopen> preopens = {{skill_host, "/skill", false},
                                   {scratch.preopen_path(), "/tmp", true}};
  for (const BindMount& mount : plan.mounts) {
    Result<PathPin> pin = PinOrResolve(mount.pin, mount.path);
    if (!pin) return std::unexpected(pin.error());
    if (!pin->directory) {
      return Fail(ErrorCode::kUnsupported,
                  (plan.skill_dir / "skill.toml").string() + ": capabilities: " +
                      mount.path.string() +
                      " is a file; WebAssembly skills can be granted directories only");
    }
    if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
      return Fail(ErrorCode::kDenied, "declared path " + mount.path.string() + " resolves to " +
                                          pin->resolved.string() + ", under reserved '" +
                                          std::string(*reserved) + "'");
    }
    Result<std::string> host = pinned_host(*pin, mount.path);
    if (!host) return std::unexpected(host.error());
    preopens.push_back({*host, mount.path.string(), mount.writable});
  }
  for (const Preopen& preopen : preopens) {
    if (!wasi_config_preopen_dir(wasi.get(), preopen.host.c_str(), preopen.guest.c_str(),
                                 preopen.writable)) {
      return Fail(ErrorCode::kSandbox, "cannot preopen " + preopen.host);
    }
  }

  // The store's data is the call's state: host functions shared by all calls find it there.
  setup->store.reset(wasmtime_store_new(shared.engine.get(), &state, nullptr));
  StorePtr& store = setup->store;
  wasmtime_context_t* context = wasmtime_store_context(store.get());
  wasmtime_store_limiter(store.get(), static_cast<int64_t>(plan.limits.memory_max_bytes),
                         static_cast<int64_t>(options.max_table_elements),
                         static_cast<int64_t>(options.max_instances_per_call), kMaxTablesPerCall,
                         kMaxMemoriesPerCall);
  if (ErrorPtr error(wasmtime_context_set_wasi(context, wasi.release())); error) {
    return Fail(ErrorCode::kSandbox, "WASI context: " + ErrorMessage(error.get()));
  }
  wasmtime_store_epoch_deadline_callback(store.get(), OnEpochDeadline, &state, nullptr);
  wasmtime_context_set_epoch_deadline(context, 1);
  state.cpu_start_ns = ThreadCpuNs();
  if (code.kind != BinaryKind::kModule) {
    // A component is instantiated here, so that a call prepared ahead of need finds it ready.
    // (Its core modules' start functions run now, under this set-up's deadline.)
    GuestRunning running(shared);
    ErrorPtr error(wasmtime_component_linker_instantiate(shared.component_linker.get(), context,
                                                         code.component.get(),
                                                         &setup->instance));
    if (error) setup->failure = "instantiation failed: " + ErrorMessage(error.get());
  }
  return setup;

}

// Runs the guest of a set-up to its end or its limits and classifies the outcome; `prepared`
// says the set-up was made ahead of need (its clock and CPU time restart here). Uses only
// what it is given (Run, for components). `cancel_requested` and `relay` are shared with the
// caller and outlive the call.
Result<Outcome> FinishCall(std::unique_ptr<CallSetup> setup, bool prepared, const Plan& plan,
                           const Compiled& code, Clock::time_point start,
                           Clock::time_point deadline, const std::atomic<bool>* cancel_requested,
                           ObserverRelay* relay) {
  Outcome& outcome = setup->outcome;
  CallState& state = setup->state;
  const ScratchSpace& scratch = *setup->scratch;
  wasm::GuestHttp& http = *setup->http;
  Sink& out = setup->out;
  StorePtr& store = setup->store;
  wasmtime_context_t* context = wasmtime_store_context(store.get());
  state.cancel_requested = cancel_requested;
  state.deadline = deadline;
  setup->relay = relay;
  setup->out.relay = relay;
  setup->err.relay = relay;
  if (prepared) {
    // Set up ahead of need: this call's clock and CPU time start now.
    outcome.layers.push_back("prepared-instance");
    wasmtime_context_set_epoch_deadline(context, 1);
    state.cpu_start_ns = ThreadCpuNs();
  }
  if (relay != nullptr) relay->Started(outcome.layers);

  // Until the store is gone: the instantiation and the call run guest code.
  std::optional<GuestRunning> running(std::in_place, *setup->shared);
  std::string failure = setup->failure;  // Set when the guest did not finish normally.
  std::optional<int> exit_code;
  bool memory_near_limit = false;
  if (code.kind == BinaryKind::kModule) {
    wasmtime_instance_t instance;
    wasm_trap_t* raw_trap = nullptr;
    ErrorPtr error(wasmtime_instance_pre_instantiate(code.pre.get(), context, &instance, &raw_trap));
    TrapPtr trap(raw_trap);
    if (error || trap) {
      failure = "instantiation failed: " +
                (error ? ErrorMessage(error.get()) : TrapMessage(trap.get()));
      // The limiter refused the module's declared minimum memory.
      memory_near_limit = failure.find("memory") != std::string::npos &&
                          failure.find("limit") != std::string::npos;
    } else {
      wasmtime_extern_t start_fn;
      if (!wasmtime_instance_export_get(context, &instance, "_start", 6, &start_fn) ||
          start_fn.kind != WASMTIME_EXTERN_FUNC) {
        return Fail(ErrorCode::kValidation,
                    (plan.skill_dir / plan.argv.front()).string() +
                        ": not a WASI command: it exports no `_start` function");
      }
      error.reset(wasmtime_func_call(context, &start_fn.of.func, nullptr, 0, nullptr, 0, &raw_trap));
      trap.reset(raw_trap);
      int status = 0;
      if (error && wasmtime_error_exit_status(error.get(), &status)) {
        exit_code = status;
      } else if (error || trap) {
        failure = error ? ErrorMessage(error.get()) : TrapMessage(trap.get());
      } else {
        exit_code = 0;
      }
      wasmtime_extern_t memory;
      if (wasmtime_instance_export_get(context, &instance, "memory", 6, &memory) &&
          memory.kind == WASMTIME_EXTERN_MEMORY) {
        const uint64_t size = wasmtime_memory_data_size(context, &memory.of.memory);
        memory_near_limit = size + (64u << 10) > plan.limits.memory_max_bytes;
      }
    }
  } else {
    wasmtime_component_instance_t& instance = setup->instance;
    ErrorPtr error;
    if (failure.empty()) {
      wasmtime_component_func_t func;
      if (!wasmtime_component_instance_get_func(&instance, context, code.run.get(), &func)) {
        return Fail(ErrorCode::kInternal, "component lost its `run` export");
      }
      wasmtime_component_val_t result;
      std::memset(&result, 0, sizeof result);
      if (code.skillrt_world) {
        wasmtime_component_val_t arg;
        arg.kind = WASMTIME_COMPONENT_STRING;
        wasm_byte_vec_new(&arg.of.string, plan.stdin_data.size(), plan.stdin_data.data());
        error.reset(wasmtime_component_func_call(&func, context, &arg, 1, &result, 1));
        wasmtime_component_val_delete(&arg);
      } else {
        error.reset(wasmtime_component_func_call(&func, context, nullptr, 0, &result, 1));
      }
      if (error) {
        int status = 0;
        if (wasmtime_error_exit_status(error.get(), &status)) {
          exit_code = status;
        } else {
          failure = ErrorMessage(error.get());
        }
      } else if (result.kind != WASMTIME_COMPONENT_RESULT) {
        failure = "`run` returned a value that is not a result";
      } else if (!code.skillrt_world) {
        exit_code = result.of.result.is_ok ? 0 : 1;
      } else {
        const wasmtime_component_val_t* payload = result.of.result.val;
        std::string text;
        if (payload != nullptr && payload->kind == WASMTIME_COMPONENT_STRING) {
          text.assign(payload->of.string.data, payload->of.string.size);
        }
        if (result.of.result.is_ok) {
          WriteToSink(&out, reinterpret_cast<const unsigned char*>(text.data()), text.size());
          exit_code = 0;
        } else {
          outcome.message = text.empty() ? "the skill returned an error" : text;
          outcome.status = Status::kError;
        }
      }
      if (!error) wasmtime_component_val_delete(&result);
    }
  }
  state.DrainOutput();  // What the guest wrote since the last tick.
  // A guest that returned from the host past its deadline (a wait interrupted there,
  // host_wait.h) may end by itself before any epoch check: it still ran out of time.
  if (Clock::now() >= state.deadline) state.timed_out = true;
  // Likewise a guest that came back from a wait interrupted by its cancel (and then exited,
  // say, with EINTR's status): the run was cancelled.
  if (state.cancel_requested != nullptr &&
      state.cancel_requested->load(std::memory_order_acquire)) {
    state.cancelled = true;
  }

  outcome.cpu = std::chrono::duration_cast<std::chrono::microseconds>(
      std::chrono::nanoseconds(ThreadCpuNs() - state.cpu_start_ns));
  outcome.egress = http.TakeRecords();
  if (plan.network) outcome.layers.push_back("egress_proxy");
  // Once more at the end, for what the guest wrote since the last check; before the store
  // goes, since its descriptors keep unlinked files counted.
  switch (scratch.Check()) {
    case ScratchCheck::kOver:
      state.scratch_exceeded = true;
      break;
    case ScratchCheck::kFull:
      state.scratch_full = true;
      break;
    case ScratchCheck::kWithin:
      break;
  }
  store.reset();  // Frees the instance's memory back to the pool before the clock stops.
  running.reset();
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  outcome.exit_code = exit_code;

  if (state.cancelled) {
    outcome.status = Status::kCancelled;
    outcome.message = "cancelled";  // The caller puts the token's reason here.
  } else if (state.timed_out) {
    outcome.status = Status::kTimeout;
    MarkLimitReached(outcome, "wall_time", plan.limits);
  } else if (state.cpu_exceeded) {
    outcome.status = Status::kKilled;
    outcome.limits_hit.push_back("cpu_time");
    outcome.message = "CPU time limit reached";
  } else if (state.output_exceeded) {
    outcome.status = Status::kKilled;
    outcome.limits_hit.push_back("output");
    outcome.message = "output limit of " + std::to_string(plan.limits.output_max_bytes) +
                      " bytes reached";
  } else if (state.scratch_exceeded) {
    // Also when found only after the guest ended: it held more than its limit.
    outcome.status = Status::kKilled;
    outcome.limits_hit.push_back("scratch");
    outcome.message = "scratch space limit of " +
                      std::to_string(plan.limits.scratch_max_bytes >> 20) + " MiB (or " +
                      std::to_string(wasm::kScratchMaxInodes) + " files) reached";
  } else if (!failure.empty()) {
    outcome.status = Status::kError;
    outcome.message = "trap: " + failure;
    NameLimitsAtTheirEnd(outcome, plan, memory_near_limit, state.scratch_full);
  } else if (exit_code) {
    outcome.status = *exit_code == 0 ? Status::kOk : Status::kError;
    if (*exit_code != 0 && outcome.message.empty()) {
      outcome.message = "exited with status " + std::to_string(*exit_code);
      NameLimitsAtTheirEnd(outcome, plan, memory_near_limit, state.scratch_full);
    }
  }
  // A full scratch constrained the run even when the guest coped with ENOSPC.
  if (state.scratch_full && !state.scratch_exceeded) outcome.limits_hit.push_back("scratch");
  return std::move(outcome);
}

// What a call's set-up depends on besides its input (CallSetup): the compiled code, the skill
// directory and declared paths as pinned, the arguments, environment, limits and allowlist.
// Empty when the plan is not prepared for: not a component of the skillrt world (a command's
// input is its WASI stdin, fixed in the set-up); a path without a pin (resolved anew by every
// call); or a plan whose guest could act outside its instance before the call is approved
// (the component's start functions run in the set-up): network access, a writable declared
// path. Such a set-up can only read what the plan may read, into an instance that shows
// nothing until a call runs it.
std::string PreparedKey(const Plan& plan, const Compiled& code) {
  if (code.kind == BinaryKind::kModule || !code.skillrt_world || !plan.skill_dir_pin) return "";
  if (plan.network || !plan.egress.empty()) return "";
  std::string key = std::to_string(reinterpret_cast<uintptr_t>(&code));
  auto add = [&key](std::string_view part) {
    key += '\0';
    key += std::to_string(part.size());
    key += ':';
    key += part;
  };
  auto add_pin = [&](const PathPin& pin) {
    add(pin.resolved.string());
    add(std::to_string(pin.device) + "/" + std::to_string(pin.inode));
  };
  add_pin(*plan.skill_dir_pin);
  add(std::to_string(plan.argv.size()));
  for (const std::string& arg : plan.argv) add(arg);
  add(std::to_string(plan.env.size()));
  for (const std::string& var : plan.env) add(var);
  add(std::to_string(plan.mounts.size()));
  for (const BindMount& mount : plan.mounts) {
    if (!mount.pin || mount.writable) return "";
    add(mount.path.string());
    add(mount.writable ? "rw" : "ro");
    add_pin(*mount.pin);
  }
  const Limits& l = plan.limits;
  for (uint64_t v : {static_cast<uint64_t>(l.wall_time.count()),
                     static_cast<uint64_t>(l.cpu_time.count()), l.memory_max_bytes,
                     l.output_max_bytes, l.scratch_max_bytes}) {
    add(std::to_string(v));
  }
  return key;
}

// The outcome of a call its caller ended without the call's own outcome: a timeout, when the
// deadline passed while the guest waited in the host (layer "abandoned-host-wait") or while
// its module was compiled ("compile-deadline"); a memory limit reached by the compilation
// ("compile-memory").
Outcome StoppedOutcome(const Plan& plan, Clock::time_point start, const Code& stop) {
  Outcome outcome;
  outcome.layers = {"wasmtime:" WASMTIME_VERSION, "wasi-preopens", "store-limiter",
                    "epoch-deadline", stop.layer};
  if (stop.stopped_at == "wall_time") {
    outcome.status = Status::kTimeout;
    MarkLimitReached(outcome, "wall_time", plan.limits, stop.detail);
  } else {
    // As when instantiation finds the module's memory above the limit: the skill cannot run
    // within its limits.
    outcome.status = Status::kError;
    outcome.limits_hit.push_back(stop.stopped_at);
    outcome.message = stop.detail;
  }
  outcome.duration = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - start);
  return outcome;
}

Result<Outcome> WasmRuntime::Execute(const Plan& plan, const RunContext& context) {
  const Clock::time_point start = Clock::now();
  if (context.cancel != nullptr && context.cancel->cancelled()) {
    return CancelledBeforeStart(plan, *context.cancel);
  }
  // The wall-clock limit covers the whole call: reading and compiling the module (unless it is
  // cached), instantiating it and running it.
  const Clock::time_point deadline = start + plan.limits.wall_time;
  if (plan.argv.empty()) return Fail(ErrorCode::kInvalidArgument, "empty command");
  // Network access means the skillrt_http interface with a non-empty allowlist.
  if (plan.network != !plan.egress.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "plan: network access and the egress allowlist disagree");
  }
  // The skill directory, opened once for the call: the module is found beneath it and it is
  // the guest's /skill.
  auto skill_dir = skill_dirs_.Open(plan);
  if (!skill_dir) return std::unexpected(skill_dir.error());
  auto skill_dir_fd = std::make_shared<UniqueFd>(std::move(*skill_dir));
  auto loaded = Load(plan, skill_dir_fd->get(), deadline);
  if (!loaded) return std::unexpected(loaded.error());
  if (!loaded->compiled) return StoppedOutcome(plan, start, *loaded);
  if (context.cancel != nullptr && context.cancel->cancelled()) {
    return CancelledBeforeStart(plan, *context.cancel);
  }
  const std::shared_ptr<const Compiled>& compiled = loaded->compiled;

  // The guest can wait in the host where epoch interruption cannot reach it: a WASI call
  // blocked in the kernel (opening a FIFO), wasi:io/poll with a clock (wasmtime-wasi blocks
  // the thread until the timer fires). So the call runs on a call thread, and its caller waits
  // only until the deadline. Past it, threads waiting in the kernel are interrupted
  // (host_wait.h), which brings the guest back to WebAssembly, where its epoch deadline ends
  // it: the caller gets the call's own outcome. A call still not back after the grace is given
  // up: it ends as a timeout, and its thread keeps what it uses (plan, code, engine, scratch)
  // until the host lets it go and the epoch deadline, long past, traps the guest at once.
  const bool is_module = compiled->kind == BinaryKind::kModule;
  // Where nothing the call reaches can hold the host past the interrupt's reach, the call
  // runs here, watched by the ticker instead of its waiting caller.
  if (is_module && OnCallingThread(plan, skill_dir_fd->get())) {
    return RunOnCallingThread(plan, context, compiled, skill_dir_fd->get(), start, deadline);
  }
  std::atomic<int>& abandoned =
      is_module ? shared_->abandoned_modules : shared_->abandoned_components;
  if (abandoned.load() >= kMaxAbandonedCalls) {
    const char* kind = is_module ? " module" : " component";
    return Fail(ErrorCode::kUnsupported,
                std::to_string(kMaxAbandonedCalls) + kind +
                    " calls that outlived their wall-clock limit still wait in the host; no "
                    "new" + kind + " call starts until one of them ends");
  }
  struct Pending {
    std::mutex mutex;
    std::condition_variable done_cv;
    bool done = false;          // Guarded by mutex.
    bool abandoned = false;     // Guarded by mutex.
    std::optional<Result<Outcome>> result;  // Guarded by mutex.
    std::atomic<bool> cancel_requested{false};
    ObserverRelay relay;
  };
  auto pending = std::make_shared<Pending>();
  pending->relay.observer = context.observer;
  // The call thread and the token's callback hold `pending`, not the token or the observer:
  // both belong to the caller, who may be gone before a call given up ends.
  struct DetachRelay {
    Pending& pending;
    ~DetachRelay() { pending.relay.Detach(); }
  } detach_relay{*pending};
  if (context.cancel != nullptr) {
    context.cancel->OnCancel([pending] {
      pending->cancel_requested.store(true, std::memory_order_release);
      std::lock_guard lock(pending->mutex);
      pending->done_cv.notify_all();
    });
  }
  // A set-up made ahead of need for this plan, if one is kept (PreparedCalls).
  std::string prepared_key =
      options_.prepared_calls > 0 ? PreparedKey(plan, *compiled) : std::string();
  auto prepared = std::make_shared<std::unique_ptr<CallSetup>>(
      prepared_key.empty() ? nullptr : prepared_->Take(prepared_key));
  auto submitted = call_threads_.Run([pending, options = options_, shared = shared_,
                                      scratch = scratch_, prepared_calls = prepared_,
                                      prepared, prepared_key, plan = plan, code = compiled,
                                      start, deadline, skill_dir_fd, &abandoned] {
    // `abandoned` lives in `shared`, which this job holds.
    Result<Outcome> result = [&]() -> Result<Outcome> {
      std::unique_ptr<CallSetup> setup = std::move(*prepared);
      const bool was_prepared = setup != nullptr;
      if (!was_prepared) {
        auto made = SetUpCall(options, shared, scratch, plan, *code, deadline,
                              skill_dir_fd->get());
        // The pool slots and scratch spaces held by set-ups made ahead of need must never
        // refuse a call: if this one could not be set up, they go and it tries again.
        if ((!made || !(*made)->failure.empty()) && prepared_calls->Clear()) {
          made = SetUpCall(options, shared, scratch, plan, *code, deadline, skill_dir_fd->get());
        }
        if (!made) return std::unexpected(made.error());
        setup = std::move(*made);
      }
      return FinishCall(std::move(setup), was_prepared, plan, *code, start, deadline,
                        &pending->cancel_requested, &pending->relay);
    }();
    const bool prepare_next = !prepared_key.empty() && result && result->status == Status::kOk;
    {
      std::lock_guard lock(pending->mutex);
      if (pending->abandoned) {
        abandoned.fetch_sub(1);
        return;
      }
      pending->result = std::move(result);
      pending->done = true;
      pending->done_cv.notify_all();
    }
    // The caller has its outcome; the next call of this plan is set up while none is asked
    // for. A failure here is not this call's: the next call sets up for itself and reports it.
    if (prepare_next) {
      auto next = SetUpCall(options, shared, scratch, plan, *code,
                            Clock::now() + plan.limits.wall_time, skill_dir_fd->get());
      if (next && (*next)->failure.empty()) {
        prepared_calls->Put(prepared_key, std::move(*next), options.prepared_calls);
      }
    }
  });
  if (!submitted) return std::unexpected(submitted.error());

  // The call's own outcome, with the token's reason when it was cancelled.
  auto finish = [&]() -> Result<Outcome> {
    Result<Outcome> result = std::move(*pending->result);
    if (result && result->status == Status::kCancelled && context.cancel != nullptr) {
      result->message = context.cancel->reason();
    }
    return result;
  };
  std::unique_lock lock(pending->mutex);
  auto done = [&] { return pending->done; };
  auto done_or_cancelled = [&] {
    return pending->done || pending->cancel_requested.load(std::memory_order_acquire);
  };
  if (pending->done_cv.wait_until(lock, deadline, done_or_cancelled) && pending->done) {
    return finish();
  }
  // Past the deadline, or cancelled: the epoch tick ends a guest running WebAssembly; one
  // waiting in the host is interrupted there first.
  const bool cancelled = !pending->done && Clock::now() < deadline;
  const Clock::time_point give_up = Clock::now() + (cancelled ? kCancelGrace : kAbandonGrace);
  while (Clock::now() < give_up) {
    if (pending->done_cv.wait_for(lock, kTick * 2, done)) return finish();
    if (options_.interrupt_host_waits) {
      lock.unlock();
      wasm::InterruptHostWaits();
      lock.lock();
    }
    if (pending->done_cv.wait_until(lock, std::min(give_up, Clock::now() + kInterruptEvery),
                                    done)) {
      return finish();
    }
  }
  pending->abandoned = true;
  abandoned.fetch_add(1);
  if (cancelled) {
    Outcome outcome = StoppedOutcome(plan, start,
                                     Code{.stopped_at = "wall_time", .detail = "",
                                          .layer = "abandoned-host-wait"});
    outcome.status = Status::kCancelled;
    outcome.limits_hit.clear();
    outcome.message = context.cancel->reason() +
                      " (while the guest waited in the host; its instance is released when "
                      "that wait ends, and its output is discarded)";
    return outcome;
  }
  return StoppedOutcome(plan, start,
                        Code{.stopped_at = "wall_time",
                             .detail = " while the guest waited in the host; its instance is "
                                       "released when that wait ends (its output is discarded)",
                             .layer = "abandoned-host-wait"});
}

// Filesystems on which a wait in the kernel ends by itself (a disk's answer) or at a signal
// (a FIFO's open): statfs(2)'s f_type, <linux/magic.h>. Network and FUSE filesystems are not
// among them: their waits can last until a server answers.
bool IsLocalFilesystem(int64_t type) {
  switch (static_cast<uint32_t>(type)) {
    case 0x01021994:  // TMPFS_MAGIC
    case 0x858458f6:  // RAMFS_MAGIC
    case 0xEF53:      // EXT2/3/4_SUPER_MAGIC
    case 0x58465342:  // XFS_SUPER_MAGIC
    case 0x9123683E:  // BTRFS_SUPER_MAGIC
    case 0xF2F52010:  // F2FS_SUPER_MAGIC
    case 0x794c7630:  // OVERLAYFS_SUPER_MAGIC
    case 0x73717368:  // SQUASHFS_MAGIC
    case 0x2fc12fc1:  // ZFS
      return true;
    default:
      return false;
  }
}

// Host frames a call may need below the guest's stack (WASI, Wasmtime, skillrt's drains).
constexpr uint64_t kHostStackMargin = 1u << 20;

// Whether the calling thread's stack has `bytes` free below this frame (pthread_getattr_np(3);
// the bounds are read once per thread). False when they cannot be known.
bool CallingThreadHasRoom(uint64_t bytes) {
  thread_local const uintptr_t low = [] {
    pthread_attr_t attr;
    if (::pthread_getattr_np(::pthread_self(), &attr) != 0) return UINTPTR_MAX;
    void* addr = nullptr;
    size_t size = 0;
    const int got = ::pthread_attr_getstack(&attr, &addr, &size);
    ::pthread_attr_destroy(&attr);
    return got == 0 ? reinterpret_cast<uintptr_t>(addr) : UINTPTR_MAX;
  }();
  const auto sp = reinterpret_cast<uintptr_t>(__builtin_frame_address(0));
  return low != UINTPTR_MAX && sp > low && sp - low >= bytes;
}

bool WasmRuntime::OnCallingThread(const Plan& plan, int skill_dir_fd) const {
  if (!calling_thread_ok_ || plan.network || !plan.egress.empty() || !plan.mounts.empty()) {
    return false;
  }
  struct statfs fs;
  if (::fstatfs(skill_dir_fd, &fs) != 0 || !IsLocalFilesystem(fs.f_type)) return false;
  return CallingThreadHasRoom(options_.max_wasm_stack_bytes + kHostStackMargin);
}

Result<Outcome> WasmRuntime::RunOnCallingThread(const Plan& plan, const RunContext& context,
                                                const std::shared_ptr<const Compiled>& compiled,
                                                int skill_dir_fd, Clock::time_point start,
                                                Clock::time_point deadline) {
  auto call = std::make_shared<CallerCall>();
  call->deadline = deadline;
  if (context.cancel != nullptr) {
    // The token may call this after the call ended: it holds `call`, not the runtime.
    context.cancel->OnCancel([call] {
      call->cancelled_at_ns.store(Clock::now().time_since_epoch().count(),
                                  std::memory_order_relaxed);
      call->cancel_requested.store(true, std::memory_order_release);
    });
  }
  std::list<std::shared_ptr<CallerCall>>::iterator entry;
  {
    std::lock_guard lock(caller_calls_mutex_);
    entry = caller_calls_.insert(caller_calls_.end(), call);
  }
  caller_call_count_.fetch_add(1, std::memory_order_relaxed);
  struct Unwatch {
    WasmRuntime& runtime;
    std::list<std::shared_ptr<CallerCall>>::iterator entry;
    ~Unwatch() {
      runtime.caller_call_count_.fetch_sub(1, std::memory_order_relaxed);
      std::lock_guard lock(runtime.caller_calls_mutex_);
      runtime.caller_calls_.erase(entry);
    }
  } unwatch{*this, entry};

  ObserverRelay relay;
  relay.observer = context.observer;
  auto made = SetUpCall(options_, shared_, scratch_, plan, *compiled, deadline, skill_dir_fd);
  // As on a call thread: set-ups made ahead of need never refuse a call.
  if ((!made || !(*made)->failure.empty()) && prepared_->Clear()) {
    made = SetUpCall(options_, shared_, scratch_, plan, *compiled, deadline, skill_dir_fd);
  }
  if (!made) return std::unexpected(made.error());
  Result<Outcome> result = FinishCall(std::move(*made), /*prepared=*/false, plan, *compiled,
                                      start, deadline, &call->cancel_requested, &relay);
  if (result && result->status == Status::kCancelled && context.cancel != nullptr) {
    result->message = context.cancel->reason();
  }
  return result;
}

void WasmRuntime::InterruptOverdueCallerCalls() {
  const Clock::time_point now = Clock::now();
  if (now < last_interrupt_ + kInterruptEvery) return;
  // The signals go out under the lock that registers calls: a call that begins on a caller's
  // thread after the overdue one ended (the same thread, its next call) cannot be in a host
  // wait before the lock is released, so an interrupt meant for the call before never lands
  // in its wait.
  std::lock_guard lock(caller_calls_mutex_);
  for (const std::shared_ptr<CallerCall>& call : caller_calls_) {
    Clock::time_point due = call->deadline;
    if (const int64_t at = call->cancelled_at_ns.load(std::memory_order_relaxed); at != 0) {
      due = std::min(due, Clock::time_point(Clock::duration(at)));
    }
    if (now >= due + 2 * kTick) {
      wasm::InterruptHostWaits();
      last_interrupt_ = now;
      return;
    }
  }
}

std::string Fingerprint(const WasmRuntimeOptions& options) {
  // Everything that changes the machine code Wasmtime emits or the rules it checks it under.
  return std::string("wasmtime=") + WASMTIME_VERSION +
         ";strategy=cranelift;opt=speed;component-model=1;threads=0;epoch=1" +
         ";stack=" + std::to_string(options.max_wasm_stack_bytes) +
         ";memory=" + std::to_string(options.max_memory_bytes) +
         ";pooling=1" +  // The number of slots does not change the code.
         ";tables=" + std::to_string(options.max_table_elements) +
         // The cache's entry format (compile_cache.h): Wasmtime's bytes as they are.
         ";entry=raw";
}

// Mappings at least this long that appear while the engine is made are its pool's
// reservations (see MakeWasmRuntime).
constexpr uintptr_t kPoolReservationBytes = 256u << 20;

// The engine configuration: the runtime's (with the pooling allocator) or the compiling
// child's (compile_child.h: no pooling allocator, whose reservation would count against the
// child's memory bound, and no thread pool). Both generate the same code, so what the child
// serializes deserializes in the runtime's engine. Returns nullptr if Wasmtime cannot allocate.
wasm_config_t* NewEngineConfig(const WasmRuntimeOptions& options, bool pooling) {
  wasm_config_t* config = wasm_config_new();
  if (config == nullptr) return nullptr;
  wasmtime_config_strategy_set(config, WASMTIME_STRATEGY_CRANELIFT);
  wasmtime_config_cranelift_opt_level_set(config, WASMTIME_OPT_LEVEL_SPEED);
  // The runtime's engine never compiles; the child compiles on its one thread (a thread pool
  // made before a fork would be missing its threads in the child).
  wasmtime_config_parallel_compilation_set(config, false);
  wasmtime_config_wasm_component_model_set(config, true);
  // No threads proposal (shared memories), so a guest cannot start threads that outlive its
  // call; Wasmtime builds with the `threads` feature would otherwise accept it.
#ifdef WASMTIME_FEATURE_THREADS
  wasmtime_config_wasm_threads_set(config, false);
  wasmtime_config_shared_memory_set(config, false);
#endif
  wasmtime_config_epoch_interruption_set(config, true);
  wasmtime_config_max_wasm_stack_set(config, options.max_wasm_stack_bytes);
  if (!pooling) return config;

  // The pooling allocator: memories, tables and instances come from slots reserved once, so
  // a call's instantiation is a few page-table operations rather than mmap calls.
  wasmtime_pooling_allocation_config_t* pool = wasmtime_pooling_allocation_config_new();
  const uint32_t slots = std::max<uint32_t>(1, options.pool_instances);
  wasmtime_pooling_allocation_config_total_core_instances_set(pool, slots);
  wasmtime_pooling_allocation_config_total_component_instances_set(pool, slots);
  wasmtime_pooling_allocation_config_total_memories_set(pool, slots);
  wasmtime_pooling_allocation_config_total_tables_set(pool, slots);
  wasmtime_pooling_allocation_config_total_gc_heaps_set(pool, slots);
  // Async support is off, so no call ever takes a stack from the pool's async stacks; its
  // default of 1,000 would cost a guard-page mprotect(2) each when the engine is made (about
  // 5 ms, a CLI run's whole budget).
  wasmtime_pooling_allocation_config_total_stacks_set(pool, 1);
  wasmtime_pooling_allocation_config_max_memory_size_set(pool, options.max_memory_bytes);
  wasmtime_pooling_allocation_config_table_elements_set(pool, options.max_table_elements);
  // When a call ends, the first pages of its memory and table are zeroed in place rather than
  // returned with madvise: each madvise costs a TLB shootdown on every core this process runs
  // on, more than the call itself for a small guest. Past these sizes, pages are returned.
  wasmtime_pooling_allocation_config_linear_memory_keep_resident_set(pool, 1u << 20);
  wasmtime_pooling_allocation_config_table_keep_resident_set(pool, 64u << 10);
  wasmtime_pooling_allocation_strategy_set(config, pool);
  wasmtime_pooling_allocation_config_delete(pool);
  return config;
}

}  // namespace

Result<std::unique_ptr<Runtime>> MakeWasmRuntime(const WasmRuntimeOptions& options) {
  // Before the first Wasmtime call, so that a missing library is this error (wasmtime_lazy.h).
  if (auto loaded = wasm::LoadWasmtime(); !loaded) return std::unexpected(loaded.error());
  wasm_config_t* config = NewEngineConfig(options, /*pooling=*/true);
  if (config == nullptr) return Fail(ErrorCode::kInternal, "wasm_config_new failed");

  auto shared = std::make_shared<Shared>();
  const std::vector<fork_exclusion::Range> before = fork_exclusion::Mappings();
  shared->engine.reset(wasm_engine_new_with_config(config));  // Takes `config`.
  if (!shared->engine) {
    return Fail(ErrorCode::kUnsupported, "Wasmtime engine could not be created with this "
                                         "configuration (pooling allocator reservation?)");
  }
  // The pooling allocator reserved its slots while the engine was made: the mappings that
  // appeared then and are at least kPoolReservationBytes long (a table pool is at least
  // 64 slots x 8 bytes x the table limit; no malloc arena or thread stack comes near).
  // Guests' pages there must not be copied into every native sandbox this process clones.
  for (const fork_exclusion::Range& r : fork_exclusion::Mappings()) {
    if (r.end - r.begin < kPoolReservationBytes) continue;
    const bool existed = std::any_of(before.begin(), before.end(), [&](const auto& b) {
      return b.begin == r.begin && b.end == r.end;
    });
    if (!existed) shared->pool_exclusion.Add(r);
  }
  shared->config_fingerprint = Fingerprint(options);

  shared->linker.reset(wasmtime_linker_new(shared->engine.get()));
  if (ErrorPtr error(wasmtime_linker_define_wasi(shared->linker.get())); error) {
    return Fail(ErrorCode::kInternal, "WASI preview 1 linker: " + ErrorMessage(error.get()));
  }
  wasmtime_linker_allow_shadowing(shared->linker.get(), true);
  if (auto defined = wasm::DefineBoundedPollOneoff(shared->linker.get()); !defined) {
    return std::unexpected(defined.error());
  }
  wasmtime_linker_allow_shadowing(shared->linker.get(), false);
  if (auto defined = wasm::DefineHttpImports(shared->linker.get()); !defined) {
    return std::unexpected(defined.error());
  }
  auto fixed = net::ParseFixedHosts(options.egress_fixed_hosts);
  if (!fixed) return std::unexpected(fixed.error());
  shared->resolver = std::make_shared<net::SystemResolver>(std::move(*fixed));
  // libcurl is loaded by the first call that makes an HTTP request (EgressHttpClient), not
  // here: a run without one does not pay for loading it and the libraries it brings.
  shared->component_linker.reset(wasmtime_component_linker_new(shared->engine.get()));
  if (ErrorPtr error(wasmtime_component_linker_add_wasip2(shared->component_linker.get()));
      error) {
    return Fail(ErrorCode::kInternal, "WASI 0.2 linker: " + ErrorMessage(error.get()));
  }
  if (auto defined = wasm::DefineComponentHttpImports(shared->component_linker.get());
      !defined) {
    return std::unexpected(defined.error());
  }
  // The scratch's kind is decided once: a tmpfs where this process may make one (the kernel
  // then enforces the limit exactly), else a measured directory (scratch.h).
  ScratchKind scratch_kind = ScratchKind::kDirectory;
  if (options.scratch != WasmScratch::kDirectory) {
    if (auto probed = ScratchProvider::ProbeTmpfs(); probed) {
      scratch_kind = ScratchKind::kTmpfs;
    } else if (options.scratch == WasmScratch::kTmpfs) {
      return Fail(ErrorCode::kUnsupported,
                  "WebAssembly scratch: a private tmpfs cannot be made here: " +
                      probed.error().message);
    }
  }
  const uint64_t max_tmpfs_bytes = options.scratch == WasmScratch::kTmpfs
                                       ? UINT64_MAX
                                       : options.max_tmpfs_scratch_bytes;
  auto scratch = ScratchProvider::Make(scratch_kind, options.scratch_root, max_tmpfs_bytes);
  const bool interruptible = options.interrupt_host_waits && wasm::InstallHostWaitInterrupt();
  // A directory scratch lives on the scratch root's filesystem, which must be local for calls
  // to run on their callers' threads (WasmRuntimeOptions::modules_on_calling_thread).
  bool local_scratch = scratch_kind == ScratchKind::kTmpfs;
  if (!local_scratch) {
    struct statfs fs;
    local_scratch =
        ::statfs(options.scratch_root.c_str(), &fs) == 0 && IsLocalFilesystem(fs.f_type);
  }
  return std::unique_ptr<Runtime>(new WasmRuntime(
      options, std::move(shared), std::move(scratch),
      options.modules_on_calling_thread && interruptible && local_scratch));
}

Result<std::string> PrecompileWasm(const WasmRuntimeOptions& options,
                                   const std::filesystem::path& file,
                                   uint64_t memory_budget_bytes,
                                   std::chrono::milliseconds timeout) {
  if (!file.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, file.string() + ": not an absolute path");
  }
  WasmRuntimeOptions precompile = options;
  precompile.compile_timeout = timeout;
  precompile.interrupt_host_waits = false;  // Nothing runs: no call waits in the host.
  auto runtime = MakeWasmRuntime(precompile);
  if (!runtime) return std::unexpected(runtime.error());
  return static_cast<WasmRuntime&>(**runtime).Precompile(file, memory_budget_bytes);
}

}  // namespace skillrt
