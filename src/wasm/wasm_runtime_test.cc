// The WebAssembly runtime on hand-written modules (WebAssembly text, assembled by Wasmtime's
// wat2wasm): limits, traps, the bounded poll_oneoff, the skillrt world. The disk cache is
// tried in wasm_cache_test.cc.
// The probes written in C and Go run end to end in tests/wasm_probe_test.cc.
#include <fcntl.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <wasmtime.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "runtime/path_pin.h"
#include "skillrt/runtime.h"
#include "test_util.h"
#include "skillrt/fd.h"
#include "util/fork_exclusion.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

std::string Wat2Wasm(std::string_view text) {
  wasm_byte_vec_t out;
  wasmtime_error_t* error = wasmtime_wat2wasm(text.data(), text.size(), &out);
  if (error != nullptr) {
    wasm_byte_vec_t message;
    wasmtime_error_message(error, &message);
    std::string what(message.data, message.size);
    wasm_byte_vec_delete(&message);
    wasmtime_error_delete(error);
    ADD_FAILURE() << what;
    return "";
  }
  std::string bytes(out.data, out.size);
  wasm_byte_vec_delete(&out);
  return bytes;
}

// A WASI command whose body is `body`, with fd_write, proc_exit and poll_oneoff imported and
// a helper `$print` writing the bytes at [ptr, ptr+len) to stdout.
std::string Command(std::string_view body, std::string_view data = "") {
  std::string text = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (import "wasi_snapshot_preview1" "poll_oneoff" (func $poll_oneoff (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ")" + std::string(data) + R"(")
  (func $print (param $ptr i32) (param $len i32)
    (i32.store (i32.const 0) (local.get $ptr))
    (i32.store (i32.const 4) (local.get $len))
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8))))
  (func $recurse (param i32) (result i32)
    (i32.add (call $recurse (i32.add (local.get 0) (i32.const 1))) (i32.const 1)))
  (func (export "_start") )" + std::string(body) + R"()
))";
  return Wat2Wasm(text);
}

// A directory of the test's own under /var/tmp (/tmp is a reserved host path, which a plan may
// not declare), removed with everything in it when this goes.
class HostDirectory {
 public:
  HostDirectory() {
    std::string path = "/var/tmp/skillrt-wasm-test-XXXXXX";
    if (::mkdtemp(path.data()) != nullptr) path_ = path;
  }
  ~HostDirectory() {
    if (!path_.empty()) fs::remove_all(path_);
  }
  HostDirectory(const HostDirectory&) = delete;
  HostDirectory& operator=(const HostDirectory&) = delete;
  bool made() const { return !path_.empty(); }
  // The directory as a declared path of a plan, pinned as the plan builder pins it.
  Result<BindMount> Mount(bool writable) const {
    BindMount mount;
    mount.path = path_;
    mount.writable = writable;
    auto pin = PinHostPath(path_);
    if (!pin) return std::unexpected(pin.error());
    mount.pin = *pin;
    return mount;
  }

 private:
  fs::path path_;
};

class WasmRuntimeTest : public ::testing::Test {
 protected:
  void SetUp() override {
    WasmRuntimeOptions options;
    options.cache_dir = tmp_.path() / "cache";
    options.scratch_root = tmp_.path();
    options.compile_timeout = std::chrono::seconds(60);
    auto runtime = MakeWasmRuntime(options);
    ASSERT_TRUE(runtime.has_value()) << runtime.error().message;
    runtime_ = std::move(*runtime);
  }

  // A plan running `bytes` as scripts/m.wasm of a fresh skill directory.
  Plan PlanFor(const std::string& bytes) {
    fs::path dir = tmp_.path() / ("skill" + std::to_string(++skills_));
    fs::create_directories(dir / "scripts");
    WriteFile(dir / "scripts/m.wasm", bytes);
    Plan plan;
    plan.run_id = "test";
    plan.skill_name = "probe";
    plan.skill_dir = dir;
    plan.argv = {"scripts/m.wasm"};
    plan.limits.wall_time = std::chrono::milliseconds(2000);
    return plan;
  }

  Outcome RunOk(const Plan& plan) {
    auto outcome = runtime_->Run(plan);
    EXPECT_TRUE(outcome.has_value()) << outcome.error().message;
    return outcome.value_or(Outcome{});
  }

  // Files left in scratch directories after calls: there must be none. (Empty scratch
  // directories are kept for reuse while the runtime lives.)
  int StrayScratchFiles() {
    int count = 0;
    for (const auto& entry : fs::directory_iterator(tmp_.path())) {
      if (!entry.path().filename().string().starts_with("skillrt-wasm-")) continue;
      for ([[maybe_unused]] const auto& file : fs::directory_iterator(entry.path())) ++count;
    }
    return count;
  }

  TempDir tmp_;
  std::unique_ptr<Runtime> runtime_;
  int skills_ = 0;
};

TEST_F(WasmRuntimeTest, CommandPrintsAndExits) {
  Outcome out = RunOk(PlanFor(Command(
      "(call $print (i32.const 1024) (i32.const 11)) (call $proc_exit (i32.const 0))",
      R"({\"ok\":true})")));
  EXPECT_EQ(out.status, Status::kOk) << out.message;
  EXPECT_EQ(out.exit_code, 0);
  EXPECT_EQ(out.stdout_stream.data, R"({"ok":true})");
  EXPECT_EQ(StrayScratchFiles(), 0);

  Outcome failed = RunOk(PlanFor(Command("(call $proc_exit (i32.const 7))")));
  EXPECT_EQ(failed.status, Status::kError);
  EXPECT_EQ(failed.exit_code, 7);
}

TEST(WasmPoolTest, ThePoolIsKeptOutOfClonedChildrenWhileTheRuntimeLives) {
  const size_t before = fork_exclusion::Registered().size();
  TempDir tmp;
  WasmRuntimeOptions options;
  options.scratch_root = tmp.path();
  auto runtime = MakeWasmRuntime(options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().message;
  const std::vector<fork_exclusion::Range> all = fork_exclusion::Registered();
  ASSERT_GE(all.size(), before + 1);  // At least the linear memories' reservation.
  const std::vector<fork_exclusion::Range> pool(all.begin() + static_cast<ptrdiff_t>(before),
                                                all.end());
  for (const auto& r : pool) EXPECT_GE(r.end - r.begin, 256u << 20);

  // A call, so that the pool has a guest's pages; then a clone as the sandbox makes it.
  fs::path dir = tmp.path() / "skill";
  fs::create_directories(dir / "scripts");
  WriteFile(dir / "scripts/m.wasm", Command("(call $print (i32.const 1024) (i32.const 2))", "ok"));
  Plan plan;
  plan.run_id = "pool";
  plan.skill_name = "probe";
  plan.skill_dir = dir;
  plan.argv = {"scripts/m.wasm"};
  auto out = (*runtime)->Run(plan);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->stdout_stream.data, "ok");

  void* control = mmap(nullptr, 4096, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  ASSERT_NE(control, MAP_FAILED);
  fork_exclusion::ApplyBeforeClone();
  const pid_t pid = fork();
  if (pid == 0) {
    // msync(2) fails with ENOMEM on an unmapped range. Exit 0: every pool range absent and the
    // control present.
    int code = msync(control, 4096, MS_ASYNC) == 0 ? 0 : 1;
    for (const auto& r : pool) {
      if (msync(reinterpret_cast<void*>(r.begin), 4096, MS_ASYNC) == 0) code |= 2;
    }
    _exit(code);
  }
  int status = 0;
  ASSERT_EQ(waitpid(pid, &status, 0), pid);
  ASSERT_TRUE(WIFEXITED(status));
  EXPECT_EQ(WEXITSTATUS(status), 0);
  munmap(control, 4096);

  runtime->reset();  // The pool is unmapped: its ranges are no longer registered.
  EXPECT_EQ(fork_exclusion::Registered().size(), before);
}

TEST_F(WasmRuntimeTest, InfiniteLoopTimesOut) {
  Plan plan = PlanFor(Command("(loop $l (br $l))"));
  plan.limits.wall_time = std::chrono::milliseconds(200);
  Outcome out = RunOk(plan);
  EXPECT_EQ(out.status, Status::kTimeout) << out.message;
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"wall_time"});
  EXPECT_EQ(StrayScratchFiles(), 0);

  // Positive control: the same runtime still runs a well-behaved module afterwards.
  EXPECT_EQ(RunOk(PlanFor(Command(""))).status, Status::kOk);
}

// Cancels `token` once the observed call has started, after `delay`.
class CancelWhenStarted : public RunObserver {
 public:
  explicit CancelWhenStarted(CancelToken& token) : token_(token) {}
  void OnStarted(const std::vector<std::string>&) override { started_.store(true); }
  void CancelSoon(std::chrono::milliseconds delay) {
    thread_ = std::thread([this, delay] {
      for (int i = 0; i < 1000 && !started_.load(); ++i) {
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
      }
      std::this_thread::sleep_for(delay);
      token_.Cancel("stopped by the test");
    });
  }
  ~CancelWhenStarted() {
    if (thread_.joinable()) thread_.join();
  }
  bool started() const { return started_.load(); }

 private:
  CancelToken& token_;
  std::atomic<bool> started_{false};
  std::thread thread_;
};

TEST_F(WasmRuntimeTest, CancelEndsARunningCallAtTheNextTick) {
  Plan plan = PlanFor(Command("(loop $l (br $l))"));
  plan.limits.wall_time = std::chrono::seconds(20);
  CancelToken token;
  CancelWhenStarted observer(token);
  observer.CancelSoon(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  auto out = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
  const auto elapsed = std::chrono::steady_clock::now() - start;
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->status, Status::kCancelled) << out->message;
  EXPECT_EQ(out->message, "stopped by the test");
  EXPECT_TRUE(out->limits_hit.empty());
  EXPECT_TRUE(observer.started());
  EXPECT_LT(elapsed, std::chrono::seconds(5));
  EXPECT_EQ(StrayScratchFiles(), 0);
  // Positive control: the runtime still runs a well-behaved module afterwards.
  EXPECT_EQ(RunOk(PlanFor(Command(""))).status, Status::kOk);
}

// A subscription (48 bytes at 64): userdata 42, tag clock, monotonic, relative `ns`.
std::string Sleep(std::string_view ns) {
  return "(i64.store (i32.const 64) (i64.const 42)) (i32.store8 (i32.const 72) (i32.const 0))"
         "(i32.store (i32.const 80) (i32.const 1)) (i64.store (i32.const 88) (i64.const " +
         std::string(ns) +
         "))"
         "(i32.store16 (i32.const 104) (i32.const 0))"
         "(call $proc_exit (call $poll_oneoff (i32.const 64) (i32.const 128) (i32.const 1) "
         "(i32.const 160)))";
}

TEST_F(WasmRuntimeTest, CancelEndsACallWaitingInTheHost) {
  Plan plan = PlanFor(Command(Sleep("3600000000000")));  // An hour.
  plan.limits.wall_time = std::chrono::seconds(20);
  CancelToken token;
  CancelWhenStarted observer(token);
  observer.CancelSoon(std::chrono::milliseconds(50));
  const auto start = std::chrono::steady_clock::now();
  auto out = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->status, Status::kCancelled) << out->message;
  EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
}

TEST_F(WasmRuntimeTest, SleepInPollOneoffEndsAtTheDeadline) {
  Plan plan = PlanFor(Command(Sleep("3600000000000")));  // An hour.
  plan.limits.wall_time = std::chrono::milliseconds(200);
  Outcome out = RunOk(plan);
  EXPECT_EQ(out.status, Status::kTimeout) << out.message;
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"wall_time"});

  // Positive control: a 1 ms sleep returns success (errno 0) and the event.
  Outcome short_sleep = RunOk(PlanFor(Command(Sleep("1000000"))));
  EXPECT_EQ(short_sleep.status, Status::kOk) << short_sleep.message;
  EXPECT_EQ(short_sleep.exit_code, 0);
}

TEST_F(WasmRuntimeTest, MemoryGrowBeyondTheLimitFails) {
  // Ask for 64 MiB more (1024 pages) under a 16 MiB limit: memory.grow must return -1.
  std::string body =
      "(if (i32.eq (memory.grow (i32.const 1024)) (i32.const -1))"
      "  (then (call $proc_exit (i32.const 3))))"
      "(call $proc_exit (i32.const 0))";
  Plan plan = PlanFor(Command(body));
  plan.limits.memory_max_bytes = 16ull << 20;
  Outcome out = RunOk(plan);
  EXPECT_EQ(out.exit_code, 3) << out.message;

  // Positive control: under a 128 MiB limit the same growth succeeds.
  plan.limits.memory_max_bytes = 128ull << 20;
  Outcome allowed = RunOk(plan);
  EXPECT_EQ(allowed.exit_code, 0) << allowed.message;
}

TEST_F(WasmRuntimeTest, DeclaredMinimumMemoryAboveTheLimitIsRefused) {
  // 1024 pages (64 MiB) at instantiation, under a 16 MiB limit.
  Plan plan = PlanFor(Wat2Wasm(R"((module (memory 1024) (func (export "_start"))))"));
  plan.limits.memory_max_bytes = 16ull << 20;
  Outcome out = RunOk(plan);
  EXPECT_EQ(out.status, Status::kError);
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"memory"}) << out.message;

  // Positive control: under a 128 MiB limit it instantiates and runs.
  plan.limits.memory_max_bytes = 128ull << 20;
  EXPECT_EQ(RunOk(plan).status, Status::kOk);
}

TEST_F(WasmRuntimeTest, DeepRecursionAndUnreachableTrap) {
  Outcome deep = RunOk(PlanFor(Command("(drop (call $recurse (i32.const 0)))")));
  EXPECT_EQ(deep.status, Status::kError);
  EXPECT_NE(deep.message.find("stack"), std::string::npos) << deep.message;

  Outcome trap = RunOk(PlanFor(Command("unreachable")));
  EXPECT_EQ(trap.status, Status::kError);
  EXPECT_NE(trap.message.find("unreachable"), std::string::npos) << trap.message;
  EXPECT_FALSE(trap.exit_code.has_value());
  EXPECT_EQ(StrayScratchFiles(), 0);
}

TEST_F(WasmRuntimeTest, ScratchIsEmptyForEveryCall) {
  // path_open("/tmp"-relative "f", O_CREAT) on preopen fd 4 (/tmp: the second preopen), then
  // exit with the errno; with O_EXCL, a file left by an earlier call makes it fail.
  std::string body =
      "(call $proc_exit (call $path_open (i32.const 4) (i32.const 0) (i32.const 1024) "
      "(i32.const 1) (i32.const 5) (i64.const 64) (i64.const 64) (i32.const 0) (i32.const 200)))";
  Plan plan = PlanFor(Wat2Wasm(std::string(R"((module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "f")
  (func (export "_start") )") + body + "))"));
  for (int i = 0; i < 3; ++i) {
    Outcome out = RunOk(plan);
    EXPECT_EQ(out.exit_code, 0) << "call " << i << ": errno " << out.exit_code.value_or(-1);
  }
  EXPECT_EQ(StrayScratchFiles(), 0);
}

TEST_F(WasmRuntimeTest, OutputPastTheCapStopsTheCall) {
  Plan plan = PlanFor(Command(
      "(loop $l (call $print (i32.const 1024) (i32.const 8)) (br $l))", "xxxxxxxx"));
  plan.limits.output_max_bytes = 4096;
  Outcome out = RunOk(plan);
  EXPECT_EQ(out.status, Status::kKilled) << out.message;
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"output"});
  EXPECT_EQ(out.stdout_stream.data.size(), 4096u);
  EXPECT_TRUE(out.stdout_stream.truncated);
}

// Context switches of every thread of this process so far (proc(5), /proc/self/task/*/status).
uint64_t ContextSwitches() {
  uint64_t total = 0;
  for (const auto& task : fs::directory_iterator("/proc/self/task")) {
    std::ifstream status(task.path() / "status");
    std::string line;
    while (std::getline(status, line)) {
      if (line.starts_with("voluntary_ctxt_switches:") ||
          line.starts_with("nonvoluntary_ctxt_switches:")) {
        total += std::stoull(line.substr(line.find(':') + 1));
      }
    }
  }
  return total;
}

TEST_F(WasmRuntimeTest, AnIdleRuntimeDoesNotTick) {
  // The epoch ticker ticks while a guest runs (a call, here one that spins for 300 ms, is
  // checked at every tick) and for 100 ms after, then sleeps: a resident process with a
  // WebAssembly runtime (the daemon, the MCP server) stays asleep between calls.
  Plan spin = PlanFor(Command("(loop $l (br $l))"));
  spin.limits.wall_time = std::chrono::milliseconds(300);
  const uint64_t before_call = ContextSwitches();
  EXPECT_EQ(RunOk(spin).status, Status::kTimeout);
  const uint64_t during_call = ContextSwitches() - before_call;
  EXPECT_GT(during_call, 100u) << "the ticker did not tick during the call";
  std::this_thread::sleep_for(std::chrono::milliseconds(250));
  const uint64_t idle_start = ContextSwitches();
  std::this_thread::sleep_for(std::chrono::milliseconds(500));
  const uint64_t idle = ContextSwitches() - idle_start;
  EXPECT_LT(idle, 40u) << "threads woke " << idle << " times in 500 ms without a call";
}

TEST_F(WasmRuntimeTest, LargeOutputIsCapturedWhole) {
  // 40 writes of 60,000 bytes (2.4 MB, past the point where the output file's pages already
  // read are given back) under a 4 MiB cap: every byte arrives, in order.
  std::string data = "0123456789abcdef";
  Plan plan = PlanFor(Command(
      "(local $i i32) (loop $l (call $print (i32.const 1024) (i32.const 60000))"
      " (local.set $i (i32.add (local.get $i) (i32.const 1)))"
      " (br_if $l (i32.lt_u (local.get $i) (i32.const 40))))",
      data));
  plan.limits.output_max_bytes = 4u << 20;
  Outcome out = RunOk(plan);
  ASSERT_EQ(out.status, Status::kOk) << out.message;
  std::string chunk = data + std::string(60000 - data.size(), '\0');
  std::string expected;
  for (int i = 0; i < 40; ++i) expected += chunk;
  EXPECT_EQ(out.stdout_stream.total_bytes, expected.size());
  EXPECT_FALSE(out.stdout_stream.truncated);
  EXPECT_TRUE(out.stdout_stream.data == expected) << out.stdout_stream.data.size();
}

// Records when output arrives, and cancels the run once it has.
class CancelOnOutput : public RunObserver {
 public:
  explicit CancelOnOutput(CancelToken& token) : token_(token) {}
  void OnOutput(OutputStream, std::string_view bytes) override {
    std::lock_guard lock(mu_);
    seen_ += bytes;
    if (!at_) at_ = std::chrono::steady_clock::now();
    token_.Cancel("output seen");
  }
  std::string seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }
  std::optional<std::chrono::steady_clock::time_point> at() {
    std::lock_guard lock(mu_);
    return at_;
  }

 private:
  CancelToken& token_;
  std::mutex mu_;
  std::string seen_;
  std::optional<std::chrono::steady_clock::time_point> at_;
};

TEST_F(WasmRuntimeTest, OutputWrittenBeforeASleepReachesTheObserverDuringIt) {
  // The guest prints, then sleeps for an hour in poll_oneoff: those watching the run see the
  // line while it sleeps (and cancel it here), not when it ends.
  Plan plan = PlanFor(Command("(call $print (i32.const 1024) (i32.const 6))" +
                                  Sleep("3600000000000"),
                              "hello\\0a"));
  plan.limits.wall_time = std::chrono::seconds(20);
  CancelToken token;
  CancelOnOutput observer(token);
  const auto start = std::chrono::steady_clock::now();
  auto out = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
  ASSERT_TRUE(out.has_value()) << out.error().ToString();
  EXPECT_EQ(out->status, Status::kCancelled) << out->message;
  EXPECT_EQ(observer.seen(), "hello\n");
  EXPECT_EQ(out->stdout_stream.data, "hello\n");
  ASSERT_TRUE(observer.at().has_value());
  EXPECT_LT(*observer.at() - start, std::chrono::seconds(5));
}

TEST_F(WasmRuntimeTest, MalformedModulesAreCleanErrors) {
  for (const std::string& bytes :
       {std::string("not wasm at all"), std::string("\0asm\x01\0\0\0\x01\xff\xff", 11),
        Command("").substr(0, 40)}) {
    Plan plan = PlanFor(bytes);
    auto out = runtime_->Run(plan);
    ASSERT_FALSE(out.has_value());
    EXPECT_EQ(out.error().code, ErrorCode::kValidation);
    EXPECT_NE(out.error().message.find((plan.skill_dir / "scripts/m.wasm").string()),
              std::string::npos)
        << out.error().message;
  }
  // A module without _start, and one importing what WASI does not have.
  auto no_start = runtime_->Run(PlanFor(Wat2Wasm("(module)")));
  ASSERT_FALSE(no_start.has_value());
  EXPECT_NE(no_start.error().message.find("_start"), std::string::npos);
  auto odd_import = runtime_->Run(
      PlanFor(Wat2Wasm(R"((module (import "env" "host_secret" (func)) (func (export "_start"))))")));
  ASSERT_FALSE(odd_import.has_value());
  EXPECT_NE(odd_import.error().message.find("host_secret"), std::string::npos)
      << odd_import.error().message;
}

TEST_F(WasmRuntimeTest, ModulePathMustStayInTheSkill) {
  Plan plan = PlanFor(Command(""));
  for (std::string bad : {"../skill1/scripts/m.wasm", "/etc/passwd", "scripts/../../x.wasm"}) {
    plan.argv = {bad};
    auto out = runtime_->Run(plan);
    ASSERT_FALSE(out.has_value()) << bad;
    EXPECT_EQ(out.error().code, ErrorCode::kValidation) << bad;
  }
  fs::create_symlink("/etc/hostname", plan.skill_dir / "scripts/link.wasm");
  plan.argv = {"scripts/link.wasm"};
  EXPECT_FALSE(runtime_->Run(plan).has_value());
}

// The skillrt world (wit/skillrt.wit) in component text: `run` answers ok(input) when the
// input starts with '{', else err("not an object").
constexpr std::string_view kEchoComponent = R"((component
  (core module $m
    (memory (export "memory") 1)
    (global $next (mut i32) (i32.const 1024))
    (data (i32.const 512) "not an object")
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $at))
    (func (export "run") (param $ptr i32) (param $len i32) (result i32)
      (if (i32.eq (i32.load8_u (local.get $ptr)) (i32.const 123))
        (then
          (i32.store8 (i32.const 0) (i32.const 0))
          (i32.store (i32.const 4) (local.get $ptr))
          (i32.store (i32.const 8) (local.get $len)))
        (else
          (i32.store8 (i32.const 0) (i32.const 1))
          (i32.store (i32.const 4) (i32.const 512))
          (i32.store (i32.const 8) (i32.const 13))))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "run") (param "input" string) (result (result string (error string)))
    (canon lift (core func $i "run") (memory (core memory $i "memory"))
      (realloc (core func $i "realloc"))))
))";

TEST_F(WasmRuntimeTest, SkillrtWorldComponent) {
  Plan plan = PlanFor(Wat2Wasm(kEchoComponent));
  plan.stdin_data = R"({"x":1})";
  Outcome ok = RunOk(plan);
  EXPECT_EQ(ok.status, Status::kOk) << ok.message;
  EXPECT_EQ(ok.stdout_stream.data, R"({"x":1})");

  plan.stdin_data = "[1]";
  Outcome err = RunOk(plan);
  EXPECT_EQ(err.status, Status::kError);
  EXPECT_EQ(err.message, "not an object");
}

// The skillrt world with state that outlives a call if an instance were ever reused: `run`
// counts its calls in a global and answers ok("N"), N being this instance's count (1 for a
// fresh instance), or err(input) when the input is "fail".
constexpr std::string_view kCounterComponent = R"((component
  (core module $m
    (memory (export "memory") 1)
    (global $calls (mut i32) (i32.const 0))
    (global $next (mut i32) (i32.const 1024))
    (func (export "realloc") (param i32 i32 i32 i32) (result i32)
      (local $at i32)
      (local.set $at (global.get $next))
      (global.set $next (i32.add (global.get $next) (local.get 3)))
      (local.get $at))
    (func (export "run") (param $ptr i32) (param $len i32) (result i32)
      (global.set $calls (i32.add (global.get $calls) (i32.const 1)))
      (i32.store8 (i32.const 16) (i32.add (i32.const 48) (global.get $calls)))
      (i32.store8 (i32.const 0) (i32.const 0))
      (i32.store (i32.const 4) (i32.const 16))
      (i32.store (i32.const 8) (i32.const 1))
      (i32.const 0)))
  (core instance $i (instantiate $m))
  (func (export "run") (param "input" string) (result (result string (error string)))
    (canon lift (core func $i "run") (memory (core memory $i "memory"))
      (realloc (core func $i "realloc"))))
))";

bool UsedPreparedInstance(const Outcome& outcome) {
  return std::find(outcome.layers.begin(), outcome.layers.end(), "prepared-instance") !=
         outcome.layers.end();
}

// Runs `plan` until a call finds its instance set up ahead (made after the previous call's
// outcome was handed over, so not at once); that call's outcome, or the last one.
Outcome RunUntilPrepared(Runtime& runtime, const Plan& plan) {
  Outcome out;
  for (int attempt = 0; attempt < 300; ++attempt) {
    auto result = runtime.Run(plan);
    EXPECT_TRUE(result.has_value()) << result.error().message;
    if (!result) break;
    out = std::move(*result);
    if (UsedPreparedInstance(out)) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  return out;
}

TEST_F(WasmRuntimeTest, APreparedInstanceServesOneCallAndIsFresh) {
  Plan plan = PlanFor(Wat2Wasm(kCounterComponent));
  auto pin = PinHostPath(plan.skill_dir);
  ASSERT_TRUE(pin) << pin.error().message;
  plan.skill_dir_pin = *pin;
  plan.stdin_data = "{}";
  Outcome first = RunOk(plan);
  ASSERT_EQ(first.status, Status::kOk) << first.message;
  EXPECT_EQ(first.stdout_stream.data, "1");
  EXPECT_FALSE(UsedPreparedInstance(first));
  // The next calls find their instance set up after the previous call: still a fresh one
  // each time (a reused instance would count 2, 3, ...), with this call's own input.
  for (int i = 0; i < 3; ++i) {
    plan.stdin_data = "{\"call\":" + std::to_string(i) + "}";
    Outcome next = RunUntilPrepared(*runtime_, plan);
    EXPECT_TRUE(UsedPreparedInstance(next));
    EXPECT_EQ(next.status, Status::kOk) << next.message;
    EXPECT_EQ(next.stdout_stream.data, "1");
  }
  EXPECT_EQ(StrayScratchFiles(), 0);
}

TEST_F(WasmRuntimeTest, APreparedInstanceIsNotUsedForADifferentPlan) {
  Plan plan = PlanFor(Wat2Wasm(kCounterComponent));
  auto pin = PinHostPath(plan.skill_dir);
  ASSERT_TRUE(pin) << pin.error().message;
  plan.skill_dir_pin = *pin;
  plan.stdin_data = "{}";
  // A set-up for `plan` is kept once a call used one (the next is made after each call).
  ASSERT_TRUE(UsedPreparedInstance(RunUntilPrepared(*runtime_, plan)));
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  // What the guest would see changed: never the set-up made for `plan`.
  Plan other_env = plan;
  other_env.env = {"SKILLRT_TEST=1"};
  Outcome changed = RunOk(other_env);
  EXPECT_EQ(changed.status, Status::kOk) << changed.message;
  EXPECT_FALSE(UsedPreparedInstance(changed));
  Plan other_limits = plan;
  other_limits.limits.memory_max_bytes = 32ull << 20;
  EXPECT_FALSE(UsedPreparedInstance(RunOk(other_limits)));
  // A plan without a pinned skill directory is never prepared for.
  Plan unpinned = plan;
  unpinned.skill_dir_pin.reset();
  EXPECT_FALSE(UsedPreparedInstance(RunOk(unpinned)));
  EXPECT_FALSE(UsedPreparedInstance(RunOk(unpinned)));
  // A guest that could act outside its instance before its call is approved (a writable
  // declared directory; network access likewise) is never set up ahead.
  Plan writes = plan;
  HostDirectory out_dir;
  ASSERT_TRUE(out_dir.made());
  auto out_mount = out_dir.Mount(/*writable=*/true);
  ASSERT_TRUE(out_mount) << out_mount.error().message;
  writes.mounts = {*out_mount};
  EXPECT_EQ(RunOk(writes).status, Status::kOk);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  EXPECT_FALSE(UsedPreparedInstance(RunOk(writes)));
  // The positive control: the original plan still finds a set-up.
  EXPECT_TRUE(UsedPreparedInstance(RunUntilPrepared(*runtime_, plan)));
}

TEST(WasmPreparedTest, NoSetUpAheadWhenTurnedOff) {
  TempDir tmp;
  WasmRuntimeOptions options;
  options.scratch_root = tmp.path();
  options.prepared_calls = 0;
  auto runtime = MakeWasmRuntime(options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().message;
  fs::path dir = tmp.path() / "skill";
  fs::create_directories(dir / "scripts");
  WriteFile(dir / "scripts/c.wasm", Wat2Wasm(kCounterComponent));
  Plan plan;
  plan.run_id = "off";
  plan.skill_name = "counter";
  plan.skill_dir = dir;
  auto pin = PinHostPath(dir);
  ASSERT_TRUE(pin);
  plan.skill_dir_pin = *pin;
  plan.argv = {"scripts/c.wasm"};
  plan.stdin_data = "{}";
  for (int i = 0; i < 3; ++i) {
    auto out = (*runtime)->Run(plan);
    ASSERT_TRUE(out.has_value()) << out.error().message;
    EXPECT_EQ(out->stdout_stream.data, "1");
    EXPECT_FALSE(UsedPreparedInstance(*out));
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
}

// A plan running the sleep component (tests/wasm/components/sleep.c) for `sleep_ms`; nullopt
// when the probes are not built.
std::optional<Plan> SleepComponentPlan(const fs::path& dir, int sleep_ms, int wall_ms) {
  const fs::path probe = fs::path(SKILLRT_WASM_PROBE_DIR) / "sleep.wasm";
  if (!fs::exists(probe)) return std::nullopt;
  fs::create_directories(dir / "scripts");
  fs::copy_file(probe, dir / "scripts/sleep.wasm", fs::copy_options::overwrite_existing);
  Plan plan;
  plan.run_id = "sleep";
  plan.skill_name = "sleep";
  plan.skill_dir = dir;
  plan.argv = {"scripts/sleep.wasm"};
  plan.stdin_data = "{\"sleep_ms\": " + std::to_string(sleep_ms) + "}";
  plan.limits.wall_time = std::chrono::milliseconds(wall_ms);
  return plan;
}

// Compiles the sleep component into `runtime`'s cache with a call of ample time: the wall-clock
// limit covers compiling, and the tests below give theirs to the wait.
void WarmSleepComponent(Runtime& runtime, const fs::path& dir) {
  auto warm = SleepComponentPlan(dir, 0, 60'000);
  ASSERT_TRUE(warm.has_value());
  auto out = runtime.Run(*warm);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  ASSERT_EQ(out->status, Status::kOk) << out->message;
}

TEST_F(WasmRuntimeTest, AComponentWaitingInTheHostEndsAtTheDeadline) {
  // wasi:io/poll blocks in wasmtime-wasi until its timer fires, where epoch interruption
  // cannot reach: an hour here. The call must still end at its 300 ms limit.
  auto plan = SleepComponentPlan(tmp_.path() / "sleeper", 3'600'000, 300);
  if (!plan) SKILLRT_SKIP_UNLESS_BUILT("wasm probes not built (scripts/build-wasm.sh)");
  WarmSleepComponent(*runtime_, tmp_.path() / "warm");
  const auto started = std::chrono::steady_clock::now();
  Outcome out = RunOk(*plan);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(out.status, Status::kTimeout) << out.message;
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"wall_time"});
  EXPECT_LT(took, std::chrono::seconds(2));
  EXPECT_NE(std::find(out.layers.begin(), out.layers.end(), "abandoned-host-wait"),
            out.layers.end());

  // Positive control: a 20 ms sleep completes, with the component's result.
  auto short_plan = SleepComponentPlan(tmp_.path() / "short", 20, 2000);
  Outcome ok = RunOk(*short_plan);
  EXPECT_EQ(ok.status, Status::kOk) << ok.message;
  EXPECT_EQ(ok.stdout_stream.data, R"({"slept": true})");
}

TEST_F(WasmRuntimeTest, AbandonedComponentCallsAreBounded) {
  // Sixteen calls left waiting an hour each: the seventeenth is refused until one ends, and a
  // module still runs meanwhile.
  auto plan = SleepComponentPlan(tmp_.path() / "sleeper", 3'600'000, 50);
  if (!plan) SKILLRT_SKIP_UNLESS_BUILT("wasm probes not built (scripts/build-wasm.sh)");
  WarmSleepComponent(*runtime_, tmp_.path() / "warm");
  for (int i = 0; i < 16; ++i) {
    Outcome out = RunOk(*plan);
    ASSERT_EQ(out.status, Status::kTimeout) << i << ": " << out.message;
  }
  auto refused = runtime_->Run(*plan);
  ASSERT_FALSE(refused.has_value());
  EXPECT_EQ(refused.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(refused.error().message.find("still wait in the host"), std::string::npos);
  EXPECT_EQ(RunOk(PlanFor(Command(""))).status, Status::kOk);
}

// --- Blocking host calls -------------------------------------------------------------------

bool HasLayer(const Outcome& outcome, std::string_view layer) {
  return std::find(outcome.layers.begin(), outcome.layers.end(), layer) != outcome.layers.end();
}

// A command that opens "target" in its first preopen (/skill, fd 3) with path_open, for
// reading, and exits with the errno (0: opened).
std::string OpenTarget() {
  return Wat2Wasm(R"((module
  (import "wasi_snapshot_preview1" "path_open" (func $path_open (param i32 i32 i32 i32 i32 i64 i64 i32 i32) (result i32)))
  (import "wasi_snapshot_preview1" "proc_exit" (func $proc_exit (param i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) "target")
  (func (export "_start")
    (call $proc_exit (call $path_open (i32.const 3) (i32.const 0) (i32.const 1024) (i32.const 6)
      (i32.const 0) (i64.const 2) (i64.const 0) (i32.const 0) (i32.const 200))))
))");
}

TEST_F(WasmRuntimeTest, AFifoInAPreopenEndsAtTheDeadline) {
  // Opening a FIFO for reading waits in the kernel for a writer that never comes. Twenty
  // calls in a row: each must end at its limit, and the interrupt must free its thread, or
  // the seventeenth would be refused (at most 16 calls may be left waiting).
  Plan plan = PlanFor(OpenTarget());
  ASSERT_EQ(::mkfifo((plan.skill_dir / "target").c_str(), 0600), 0);
  plan.limits.wall_time = std::chrono::milliseconds(200);
  for (int i = 0; i < 20; ++i) {
    const auto started = std::chrono::steady_clock::now();
    Outcome out = RunOk(plan);
    const auto took = std::chrono::steady_clock::now() - started;
    ASSERT_EQ(out.status, Status::kTimeout) << i << ": " << out.message;
    EXPECT_EQ(out.limits_hit, std::vector<std::string>{"wall_time"});
    EXPECT_FALSE(HasLayer(out, "abandoned-host-wait")) << i << ": the call was only given up";
    EXPECT_LT(took, std::chrono::seconds(2)) << i;
  }
  // Positive control: a regular file of the same name opens at once.
  Plan regular = PlanFor(OpenTarget());
  WriteFile(regular.skill_dir / "target", "data");
  Outcome ok = RunOk(regular);
  EXPECT_EQ(ok.status, Status::kOk) << ok.message;
  EXPECT_EQ(ok.exit_code, 0);
}

// Records the thread a run started on, and cancels it a while after (if a token is given).
class ThreadOfStart : public RunObserver {
 public:
  explicit ThreadOfStart(CancelToken* token = nullptr, std::chrono::milliseconds after = {})
      : token_(token), after_(after) {}
  ~ThreadOfStart() override {
    if (canceller_.joinable()) canceller_.join();
  }
  void OnStarted(const std::vector<std::string>&) override {
    std::lock_guard lock(mu_);
    thread_ = std::this_thread::get_id();
    if (token_ != nullptr) {
      canceller_ = std::thread([token = token_, after = after_] {
        std::this_thread::sleep_for(after);
        token->Cancel("stopped by the test");
      });
    }
  }
  std::optional<std::thread::id> thread() {
    std::lock_guard lock(mu_);
    return thread_;
  }

 private:
  CancelToken* token_;
  std::chrono::milliseconds after_;
  std::mutex mu_;
  std::optional<std::thread::id> thread_;
  std::thread canceller_;
};

// Runs `fn` on a new thread whose stack is `stack_bytes` (pthread_attr_setstacksize(3)).
void OnThreadWithStack(size_t stack_bytes, const std::function<void()>& fn) {
  pthread_attr_t attr;
  ASSERT_EQ(::pthread_attr_init(&attr), 0);
  ASSERT_EQ(::pthread_attr_setstacksize(&attr, stack_bytes), 0);
  pthread_t thread;
  auto* job = new std::function<void()>(fn);
  ASSERT_EQ(::pthread_create(
                &thread, &attr,
                [](void* arg) -> void* {
                  std::unique_ptr<std::function<void()>> job(
                      static_cast<std::function<void()>*>(arg));
                  (*job)();
                  return nullptr;
                },
                job),
            0);
  ::pthread_attr_destroy(&attr);
  ::pthread_join(thread, nullptr);
}

TEST_F(WasmRuntimeTest, AModuleCallRunsOnTheCallingThreadOnlyWhereItMay) {
  // Which thread the guest ran on, seen by the observer (called on the thread that runs it).
  auto ran_here = [](Runtime& runtime, const Plan& plan) {
    ThreadOfStart observer;
    auto out = runtime.Execute(plan, RunContext{.observer = &observer});
    EXPECT_TRUE(out.has_value()) << out.error().ToString();
    if (out) {
      EXPECT_EQ(out->status, Status::kOk) << out->message;
    }
    EXPECT_TRUE(observer.thread().has_value());
    return observer.thread() == std::this_thread::get_id();
  };
  Plan plan = PlanFor(Command("(call $print (i32.const 1024) (i32.const 2))", "ok"));
  EXPECT_TRUE(ran_here(*runtime_, plan)) << "a plain module call runs on its caller's thread";

  // A declared directory: a call thread (its filesystem could hold the host past the deadline).
  Plan declared = plan;
  HostDirectory dir;
  ASSERT_TRUE(dir.made());
  auto mount = dir.Mount(/*writable=*/false);
  ASSERT_TRUE(mount) << mount.error().message;
  declared.mounts.push_back(*mount);
  EXPECT_FALSE(ran_here(*runtime_, declared));

  // Network access: a call thread (a request waits for its deadline, not for a cancel).
  Plan networked = plan;
  networked.network = true;
  networked.egress.push_back(EgressRule{.host = "example.com"});
  EXPECT_FALSE(ran_here(*runtime_, networked));

  // The option off: a call thread.
  WasmRuntimeOptions options;
  options.scratch_root = tmp_.path();
  options.modules_on_calling_thread = false;
  auto off = MakeWasmRuntime(options);
  ASSERT_TRUE(off.has_value()) << off.error().message;
  EXPECT_FALSE(ran_here(**off, plan));

  // A calling thread whose stack has no room for the guest's 1 MiB and the host's frames: a
  // call thread, where deep recursion still ends in a clean trap. With room: here.
  Plan recurse = PlanFor(Command("(drop (call $recurse (i32.const 0)))"));
  OnThreadWithStack(512u << 10, [&] {
    EXPECT_FALSE(ran_here(*runtime_, plan)) << "512 KiB stack";
    auto out = runtime_->Run(recurse);
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_EQ(out->status, Status::kError);
    EXPECT_NE(out->message.find("call stack exhausted"), std::string::npos) << out->message;
  });
  OnThreadWithStack(8u << 20, [&] {
    EXPECT_TRUE(ran_here(*runtime_, plan)) << "8 MiB stack";
    auto out = runtime_->Run(recurse);
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_NE(out->message.find("call stack exhausted"), std::string::npos) << out->message;
  });
}

TEST_F(WasmRuntimeTest, AFifoWaitOnTheCallingThreadEndsAtTheDeadlineOrTheCancel) {
  // The call runs on the test's thread; nobody waits for it, so the runtime's ticker must
  // interrupt the open past the deadline, and past a cancel. Writers come after 10 s in any
  // case, so that a broken interrupt fails the test rather than hanging it.
  Plan plan = PlanFor(OpenTarget());
  const fs::path fifo = plan.skill_dir / "target";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  std::atomic<bool> done{false};
  std::thread rescue([&] {
    for (int i = 0; i < 1000 && !done.load(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    while (!done.load()) {  // Each waiting open gets a writer, which leaves at once.
      UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
  });
  {
    plan.limits.wall_time = std::chrono::milliseconds(200);
    ThreadOfStart observer;
    const auto started = std::chrono::steady_clock::now();
    auto out = runtime_->Execute(plan, RunContext{.observer = &observer});
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_EQ(out->status, Status::kTimeout) << out->message;
    EXPECT_FALSE(HasLayer(*out, "abandoned-host-wait"));
    EXPECT_EQ(observer.thread(), std::this_thread::get_id());
  }
  {
    plan.limits.wall_time = std::chrono::seconds(30);
    CancelToken token;
    ThreadOfStart observer(&token, std::chrono::milliseconds(100));
    const auto started = std::chrono::steady_clock::now();
    auto out = runtime_->Execute(plan, RunContext{.cancel = &token, .observer = &observer});
    ASSERT_TRUE(out.has_value()) << out.error().ToString();
    EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
    EXPECT_EQ(out->status, Status::kCancelled) << out->message;
    EXPECT_EQ(out->message, "stopped by the test");
    EXPECT_EQ(observer.thread(), std::this_thread::get_id());
  }
  done.store(true);
  rescue.join();
}

TEST_F(WasmRuntimeTest, WithoutTheInterruptACallInAFifoIsGivenUpAtTheDeadline) {
  // The same open with interrupts off: the caller still gets its timeout at the deadline,
  // but the call is given up, its thread left waiting in the kernel until a writer comes.
  WasmRuntimeOptions options;
  options.scratch_root = tmp_.path();
  options.interrupt_host_waits = false;
  auto runtime = MakeWasmRuntime(options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().message;
  Plan plan = PlanFor(OpenTarget());
  const fs::path fifo = plan.skill_dir / "target";
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0600), 0);
  plan.limits.wall_time = std::chrono::milliseconds(200);
  const auto started = std::chrono::steady_clock::now();
  auto out = (*runtime)->Run(plan);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(2));
  EXPECT_EQ(out->status, Status::kTimeout) << out->message;
  EXPECT_TRUE(HasLayer(*out, "abandoned-host-wait")) << out->message;
  // Let the abandoned open finish: a writer arrives and leaves.
  UniqueFd writer(::open(fifo.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  EXPECT_TRUE(writer.valid()) << "no reader was waiting on the FIFO";
}

TEST_F(WasmRuntimeTest, AFifoAsTheModuleIsRefusedAtOnce) {
  Plan plan = PlanFor(Command(""));
  const fs::path module = plan.skill_dir / "scripts/m.wasm";
  fs::remove(module);
  ASSERT_EQ(::mkfifo(module.c_str(), 0600), 0);
  const auto started = std::chrono::steady_clock::now();
  auto out = runtime_->Run(plan);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(1));
  ASSERT_FALSE(out.has_value());
  EXPECT_EQ(out.error().code, ErrorCode::kValidation);
  EXPECT_NE(out.error().message.find("not a regular file (a FIFO)"), std::string::npos)
      << out.error().message;
  // Positive control: a regular module file at the same path runs.
  fs::remove(module);
  WriteFile(module, Command(""));
  EXPECT_EQ(RunOk(plan).status, Status::kOk);
}

// --- Compilation under the call's limits -----------------------------------------------------

// WebAssembly binary encoding (core spec 5.2.2, 5.5.2): an unsigned LEB128 integer, and a
// section with its id and size.
std::string Uleb(uint64_t n) {
  std::string out;
  do {
    const uint8_t byte = n & 0x7f;
    n >>= 7;
    out.push_back(static_cast<char>(byte | (n != 0 ? 0x80 : 0)));
  } while (n != 0);
  return out;
}

std::string Section(int id, const std::string& payload) {
  return std::string(1, static_cast<char>(id)) + Uleb(payload.size()) + payload;
}

// A valid module whose compilation takes long: `functions` functions, each a chain of `ops`
// additions over eight i64 locals, plus a custom section holding `nonce` (so that two modules
// with different nonces have different cache keys). Its `_start` does nothing.
std::string SlowModule(int functions, int ops, const std::string& nonce) {
  std::string body = Uleb(1) + Uleb(8) + "\x7e";  // 8 locals of i64.
  for (int i = 0; i < ops; ++i) {
    const int a = i % 8, b = (i * 3 + 1) % 8, c = (i * 5 + 2) % 8;
    body += "\x20" + Uleb(a) + "\x20" + Uleb(b) + "\x7c" + "\x21" + Uleb(c);  // c = a + b
  }
  body += "\x0b";
  std::string code = Uleb(functions);
  for (int i = 0; i < functions; ++i) code += Uleb(body.size()) + body;
  const std::string funcs = Uleb(functions) + std::string(functions, '\0');
  const std::string types = Uleb(1) + std::string("\x60\x00\x00", 3);
  const std::string exports = Uleb(1) + Uleb(6) + "_start" + std::string(1, '\0') + Uleb(0);
  return std::string("\0asm\x01\0\0\0", 8) + Section(1, types) + Section(3, funcs) +
         Section(7, exports) + Section(10, code) + Section(0, Uleb(5) + "nonce" + nonce);
}

// A valid module of `functions` empty functions besides an empty `_start`: small on disk
// (four bytes a function), large to compile (Cranelift keeps kilobytes per function).
std::string ManyFunctions(int functions) {
  const std::string funcs = Uleb(functions) + std::string(functions, '\0');
  std::string code = Uleb(functions);
  for (int i = 0; i < functions; ++i) code += Uleb(2) + std::string("\x00\x0b", 2);
  const std::string types = Uleb(1) + std::string("\x60\x00\x00", 3);
  const std::string exports = Uleb(1) + Uleb(6) + "_start" + std::string(1, '\0') + Uleb(0);
  return std::string("\0asm\x01\0\0\0", 8) + Section(1, types) + Section(3, funcs) +
         Section(7, exports) + Section(10, code);
}

// Processes whose parent is this one (/proc/<pid>/stat, field 4).
int ChildProcesses() {
  int count = 0;
  const std::string self = std::to_string(::getpid());
  for (const auto& entry : fs::directory_iterator("/proc")) {
    const std::string name = entry.path().filename().string();
    if (name.find_first_not_of("0123456789") != std::string::npos) continue;
    std::string stat = ReadFile(entry.path() / "stat");
    const size_t paren = stat.rfind(')');
    if (paren == std::string::npos) continue;
    std::istringstream fields(stat.substr(paren + 2));
    std::string state, ppid;
    fields >> state >> ppid;
    if (ppid == self) ++count;
  }
  return count;
}

TEST_F(WasmRuntimeTest, CompilationCountsAgainstTheWallClockLimit) {
  // Positive control: with time enough, the slow module compiles and runs.
  Plan control = PlanFor(SlowModule(2000, 2000, "control"));
  control.limits.wall_time = std::chrono::seconds(120);
  control.limits.memory_max_bytes = 1ull << 30;
  const auto control_start = std::chrono::steady_clock::now();
  Outcome ok = RunOk(control);
  const auto compile_time = std::chrono::steady_clock::now() - control_start;
  ASSERT_EQ(ok.status, Status::kOk) << ok.message;
  ASSERT_GT(compile_time, std::chrono::milliseconds(600))
      << "the module compiles too fast to show anything";

  // The same work (another nonce: not cached) under a 200 ms limit ends at the limit, and the
  // compilation with it: no compiling process is left behind.
  const int children_before = ChildProcesses();
  Plan plan = PlanFor(SlowModule(2000, 2000, "timed"));
  plan.limits.wall_time = std::chrono::milliseconds(200);
  plan.limits.memory_max_bytes = 1ull << 30;
  const auto started = std::chrono::steady_clock::now();
  Outcome out = RunOk(plan);
  const auto took = std::chrono::steady_clock::now() - started;
  EXPECT_EQ(out.status, Status::kTimeout) << out.message;
  EXPECT_EQ(out.limits_hit, std::vector<std::string>{"wall_time"});
  EXPECT_TRUE(HasLayer(out, "compile-deadline")) << out.message;
  EXPECT_LT(took, std::chrono::milliseconds(200) + compile_time / 2);
  EXPECT_EQ(ChildProcesses(), children_before);
}

TEST_F(WasmRuntimeTest, CompileMemoryIsBoundedByTheCallsMemoryLimit) {
  // 20,000 empty functions: 80 KB of module, over 100 MB of compiler memory. Under a 32 MiB
  // memory limit the compiler runs out of its allowance and the call fails with why.
  Plan plan = PlanFor(ManyFunctions(20'000));
  plan.limits.memory_max_bytes = 32ull << 20;
  plan.limits.wall_time = std::chrono::seconds(60);
  const auto started = std::chrono::steady_clock::now();
  Outcome refused = RunOk(plan);
  EXPECT_LT(std::chrono::steady_clock::now() - started, std::chrono::seconds(10));
  EXPECT_EQ(refused.status, Status::kError) << refused.message;
  EXPECT_EQ(refused.limits_hit, std::vector<std::string>{"memory"});
  EXPECT_TRUE(HasLayer(refused, "compile-memory"));
  EXPECT_NE(refused.message.find("needs more memory than the call's limit of 32 MiB"),
            std::string::npos)
      << refused.message;
  EXPECT_EQ(ChildProcesses(), 0);
  // Positive control: under a 1 GiB limit it compiles and runs.
  plan.limits.memory_max_bytes = 1ull << 30;
  Outcome ok = RunOk(plan);
  EXPECT_EQ(ok.status, Status::kOk) << ok.message;
}

// --- Scratch through the runtime ---------------------------------------------------------------

// A plan running the fs probe (tests/wasm/fs.c) with `args`; nullopt when the probes are not
// built.
std::optional<Plan> FsProbePlan(const fs::path& dir, std::vector<std::string> args) {
  const fs::path probe = fs::path(SKILLRT_WASM_PROBE_DIR) / "fs.wasm";
  if (!fs::exists(probe)) return std::nullopt;
  fs::create_directories(dir / "scripts");
  fs::copy_file(probe, dir / "scripts/fs.wasm", fs::copy_options::overwrite_existing);
  Plan plan;
  plan.run_id = "fs";
  plan.skill_name = "fs";
  plan.skill_dir = dir;
  plan.argv = {"scripts/fs.wasm"};
  plan.argv.insert(plan.argv.end(), args.begin(), args.end());
  plan.limits.wall_time = std::chrono::seconds(30);
  return plan;
}

TEST_F(WasmRuntimeTest, ADirectoryScratchEndsTheCallPastItsLimitBeyondPathMax) {
  // The scratch as a measured directory (as where no tmpfs can be made): 24 levels of
  // 250-character names put the file beyond PATH_MAX on the host; writing 32 MiB there under
  // an 8 MiB limit ends the call.
  WasmRuntimeOptions options;
  options.scratch_root = tmp_.path() / "scratch";
  options.scratch = WasmScratch::kDirectory;
  fs::create_directories(options.scratch_root);
  auto runtime = MakeWasmRuntime(options);
  ASSERT_TRUE(runtime.has_value()) << runtime.error().message;
  auto plan = FsProbePlan(tmp_.path() / "deep", {"deep-fill", "/tmp", "24", "250", "32768"});
  if (!plan) SKILLRT_SKIP_UNLESS_BUILT("wasm probes not built (scripts/build-wasm.sh)");
  plan->limits.scratch_max_bytes = 8ull << 20;
  auto out = (*runtime)->Run(*plan);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->status, Status::kKilled) << out->message << out->stdout_stream.data;
  EXPECT_EQ(out->limits_hit, std::vector<std::string>{"scratch"});
  // Positive control: 4 MiB at the same depth fits, and the probe reports it all written.
  plan->argv.back() = "4096";
  out = (*runtime)->Run(*plan);
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->status, Status::kOk) << out->message;
  EXPECT_NE(out->stdout_stream.data.find("\"levels\": 24, \"ok\": true, \"written_kb\": 4096"),
            std::string::npos)
      << out->stdout_stream.data;
  // Both scratch directories came back empty, deep trees and all.
  for (const auto& dir : fs::directory_iterator(options.scratch_root)) {
    EXPECT_TRUE(fs::is_empty(dir.path())) << dir.path();
  }
}

}  // namespace
}  // namespace skillrt
