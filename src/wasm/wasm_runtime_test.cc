// The WebAssembly runtime on hand-written modules (WebAssembly text, assembled by Wasmtime's
// wat2wasm): limits, traps, the bounded poll_oneoff, the skillrt world, the disk cache.
// The probes written in C and Go run end to end in tests/wasm_probe_test.cc.
#include <wasmtime.h>

#include <filesystem>
#include <optional>
#include <string>

#include <gtest/gtest.h>

#include "skillrt/runtime.h"
#include "test_util.h"
#include "wasm/compile_cache.h"

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
    (canon lift (core func $i "run") (memory $i "memory") (realloc (func $i "realloc"))))
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

TEST_F(WasmRuntimeTest, AComponentWaitingInTheHostEndsAtTheDeadline) {
  // wasi:io/poll blocks in wasmtime-wasi until its timer fires, where epoch interruption
  // cannot reach: an hour here. The call must still end at its 300 ms limit.
  auto plan = SleepComponentPlan(tmp_.path() / "sleeper", 3'600'000, 300);
  if (!plan) GTEST_SKIP() << "wasm probes not built (scripts/build-wasm.sh)";
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
  if (!plan) GTEST_SKIP() << "wasm probes not built (scripts/build-wasm.sh)";
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

TEST_F(WasmRuntimeTest, DiskCacheIsUsedAndATamperedEntryIsIgnored) {
  const std::string bytes = Command(
      "(call $print (i32.const 1024) (i32.const 2)) (call $proc_exit (i32.const 0))", "hi");
  EXPECT_EQ(RunOk(PlanFor(bytes)).stdout_stream.data, "hi");
  std::vector<fs::path> entries;
  for (const auto& entry : fs::directory_iterator(tmp_.path() / "cache")) {
    entries.push_back(entry.path());
  }
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(fs::status(tmp_.path() / "cache").permissions() & fs::perms::all,
            fs::perms::owner_all);

  // A second runtime (another process, in effect) deserializes the entry; one flipped byte
  // makes the entry fail its checksum, and the module is compiled again and rewritten.
  std::string stored = ReadFile(entries[0]);
  stored[stored.size() / 2] ^= 0x55;
  WriteFile(entries[0], stored);
  fs::permissions(entries[0], fs::perms::owner_read | fs::perms::owner_write);
  WasmRuntimeOptions options;
  options.cache_dir = tmp_.path() / "cache";
  options.scratch_root = tmp_.path();
  auto second = MakeWasmRuntime(options);
  ASSERT_TRUE(second.has_value());
  auto out = (*second)->Run(PlanFor(bytes));
  ASSERT_TRUE(out.has_value()) << out.error().message;
  EXPECT_EQ(out->stdout_stream.data, "hi");
  EXPECT_NE(ReadFile(entries[0]), stored);
  wasm::CompileCache cache(tmp_.path() / "cache");
  EXPECT_TRUE(cache.Load(entries[0].stem().string(), 1u << 30).has_value());
}

TEST(CompileCacheTest, RefusesEntriesOthersCouldHaveWritten) {
  TempDir tmp;
  wasm::CompileCache cache(tmp.path() / "c");
  const std::string key(64, 'a');
  ASSERT_TRUE(cache.Store(key, {1, 2, 3}).has_value());
  EXPECT_EQ(cache.Load(key, 100), (std::vector<uint8_t>{1, 2, 3}));
  EXPECT_FALSE(cache.Load(key, 2).has_value());  // Larger than asked for.
  fs::permissions(cache.PathOf(key), fs::perms::group_write, fs::perm_options::add);
  EXPECT_FALSE(cache.Load(key, 100).has_value());
  fs::permissions(cache.PathOf(key), fs::perms::group_write, fs::perm_options::remove);
  EXPECT_TRUE(cache.Load(key, 100).has_value());
  fs::permissions(tmp.path() / "c", fs::perms::others_write, fs::perm_options::add);
  EXPECT_FALSE(cache.Load(key, 100).has_value());
  EXPECT_FALSE(cache.Load("../x", 100).has_value());
}

}  // namespace
}  // namespace skillrt
