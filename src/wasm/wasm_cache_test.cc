// The WebAssembly runtime's disk cache across runtimes (each a new process, in effect): an
// entry is mapped rather than read, a damaged or foreign entry is compiled again, a stamp lets
// a new runtime find a module's entry without reading the module, and a module changed since
// its stamp (even with its size and mtime restored) is read again. Also where the module may
// be: beneath the skill directory, links inside it followed, none leading out.
#include <fcntl.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <wasmtime.h>

#include <chrono>
#include <filesystem>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "skillrt/runtime.h"
#include "test_util.h"
#include "skillrt/sha256.h"
#include "wasm/compile_cache.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using testing::ReadFile;
using testing::TempDir;
using testing::WriteFile;

// A WASI command that prints `text` (no quotes or backslashes) and exits 0.
std::string Printer(const std::string& text) {
  const std::string wat = R"((module
  (import "wasi_snapshot_preview1" "fd_write" (func $fd_write (param i32 i32 i32 i32) (result i32)))
  (memory (export "memory") 1)
  (data (i32.const 1024) ")" + text + R"(")
  (func (export "_start")
    (i32.store (i32.const 0) (i32.const 1024))
    (i32.store (i32.const 4) (i32.const )" + std::to_string(text.size()) + R"())
    (drop (call $fd_write (i32.const 1) (i32.const 0) (i32.const 1) (i32.const 8)))))
)";
  wasm_byte_vec_t out;
  wasmtime_error_t* error = wasmtime_wat2wasm(wat.data(), wat.size(), &out);
  if (error != nullptr) {
    wasmtime_error_delete(error);
    ADD_FAILURE() << "wat2wasm failed";
    return "";
  }
  std::string bytes(out.data, out.size);
  wasm_byte_vec_delete(&out);
  return bytes;
}

class WasmCacheTest : public ::testing::Test {
 protected:
  // A runtime of its own over the shared cache: what a new process would make.
  std::unique_ptr<Runtime> NewRuntime() {
    WasmRuntimeOptions options;
    options.cache_dir = cache_dir();
    options.scratch_root = tmp_.path();
    options.compile_timeout = std::chrono::seconds(60);
    auto runtime = MakeWasmRuntime(options);
    EXPECT_TRUE(runtime.has_value()) << runtime.error().message;
    return runtime ? std::move(*runtime) : nullptr;
  }

  // A skill directory `name` holding `bytes` as scripts/m.wasm.
  Plan PlanFor(const std::string& name, const std::string& bytes) {
    const fs::path dir = tmp_.path() / name;
    fs::create_directories(dir / "scripts");
    WriteFile(dir / "scripts/m.wasm", bytes);
    Plan plan;
    plan.run_id = "test";
    plan.skill_name = name;
    plan.skill_dir = dir;
    plan.argv = {"scripts/m.wasm"};
    plan.limits.wall_time = std::chrono::seconds(60);
    return plan;
  }

  std::string Output(Runtime& runtime, const Plan& plan) {
    auto out = runtime.Run(plan);
    EXPECT_TRUE(out.has_value()) << out.error().message;
    if (!out) return "";
    EXPECT_EQ(out->status, Status::kOk) << out->message;
    return out->stdout_stream.data;
  }

  std::vector<fs::path> Files(std::string_view suffix) {
    std::vector<fs::path> found;
    for (const auto& entry : fs::directory_iterator(cache_dir())) {
      if (entry.path().string().ends_with(suffix)) found.push_back(entry.path());
    }
    return found;
  }

  static wasm::FileIdentity IdentityOf(const fs::path& path) {
    struct stat st;
    EXPECT_EQ(::stat(path.c_str(), &st), 0) << path;
    return wasm::FileIdentity::Of(st);
  }

  fs::path cache_dir() const { return tmp_.path() / "cache"; }

  TempDir tmp_;
};

TEST_F(WasmCacheTest, ANewRuntimeLoadsTheEntryAndADamagedOneIsCompiledAgain) {
  const Plan plan = PlanFor("s", Printer("hi"));
  EXPECT_EQ(Output(*NewRuntime(), plan), "hi");
  std::vector<fs::path> entries = Files(".cwasm");
  ASSERT_EQ(entries.size(), 1u);
  EXPECT_EQ(fs::status(cache_dir()).permissions() & fs::perms::all, fs::perms::owner_all);
  const std::string good = ReadFile(entries[0]);
  EXPECT_TRUE(good.starts_with("\x7f" "ELF")) << "Wasmtime's own bytes, no header of ours";

  // A new runtime loads the entry; one truncated, or not Wasmtime's at all, is refused by
  // Wasmtime, compiled again and replaced by a whole entry.
  EXPECT_EQ(Output(*NewRuntime(), plan), "hi");
  for (const std::string& damaged : {good.substr(0, good.size() / 2), std::string("garbage")}) {
    WriteFile(entries[0], damaged);
    fs::permissions(entries[0], fs::perms::owner_read | fs::perms::owner_write);
    EXPECT_EQ(Output(*NewRuntime(), plan), "hi");
    EXPECT_EQ(ReadFile(entries[0]).size(), good.size());
  }
}

TEST_F(WasmCacheTest, EntriesOthersCouldHaveWrittenAreRefused) {
  wasm::CompileCache cache(cache_dir());
  const std::string key(64, 'a');
  ASSERT_TRUE(cache.Store(key, {1, 2, 3}).has_value());
  EXPECT_EQ(cache.Load(key, 100), (std::vector<uint8_t>{1, 2, 3}));
  auto entry = cache.Open(key, 100);
  ASSERT_TRUE(entry.has_value());
  EXPECT_EQ(entry->bytes, 3u);
  EXPECT_EQ(ReadFile(entry->ProcPath()), std::string("\1\2\3", 3));
  EXPECT_FALSE(cache.Load(key, 2).has_value());  // Larger than asked for.
  fs::permissions(cache.PathOf(key), fs::perms::group_write, fs::perm_options::add);
  EXPECT_FALSE(cache.Load(key, 100).has_value());
  fs::permissions(cache.PathOf(key), fs::perms::group_write, fs::perm_options::remove);
  EXPECT_TRUE(cache.Load(key, 100).has_value());
  if (::geteuid() == 0) {
    // Owned by another user, though writable by no one else: not ours, not used.
    ASSERT_EQ(::chown(cache.PathOf(key).c_str(), 65534, 65534), 0);
    EXPECT_FALSE(cache.Load(key, 100).has_value());
    ASSERT_EQ(::chown(cache.PathOf(key).c_str(), 0, 0), 0);
    EXPECT_TRUE(cache.Load(key, 100).has_value());
  }
  fs::permissions(cache_dir(), fs::perms::others_write, fs::perm_options::add);
  EXPECT_FALSE(cache.Load(key, 100).has_value());
  EXPECT_FALSE(cache.Load("../x", 100).has_value());
}

TEST_F(WasmCacheTest, AStampIsKeptOnlyForASettledFileAndMatchesOnlyItsIdentity) {
  wasm::CompileCache cache(cache_dir());
  ASSERT_TRUE(cache.Store(std::string(64, 'e'), {1}).has_value());  // Makes the directory.
  const std::string hash(64, '5');
  wasm::FileIdentity id{.dev = 1, .ino = 2, .size = 3, .mtime_ns = 1'000, .ctime_ns = 2'000};
  ASSERT_TRUE(cache.RecordStamp(id, hash));
  EXPECT_EQ(cache.LookupStamp(id), hash);
  for (auto change : {+[](wasm::FileIdentity& i) { i.size += 1; },
                      +[](wasm::FileIdentity& i) { i.mtime_ns += 1; },
                      +[](wasm::FileIdentity& i) { i.ctime_ns += 1; }}) {
    wasm::FileIdentity other = id;
    change(other);
    EXPECT_FALSE(cache.LookupStamp(other).has_value());
  }
  // A file changed within the last kStampSettleNs gets none: its next change could leave
  // its timestamps as they are.
  struct timespec now;
  ::clock_gettime(CLOCK_REALTIME, &now);
  wasm::FileIdentity fresh = id;
  fresh.ino = 9;
  fresh.ctime_ns = int64_t{now.tv_sec} * 1'000'000'000 + now.tv_nsec;
  EXPECT_FALSE(cache.RecordStamp(fresh, hash));
  EXPECT_FALSE(cache.LookupStamp(fresh).has_value());
  // A stamp others could have written is not believed.
  const fs::path stamp = cache.StampPathOf(id.dev, id.ino);
  fs::permissions(stamp, fs::perms::others_write, fs::perm_options::add);
  EXPECT_FALSE(cache.LookupStamp(id).has_value());
  fs::permissions(stamp, fs::perms::others_write, fs::perm_options::remove);
  EXPECT_EQ(cache.LookupStamp(id), hash);
}

TEST_F(WasmCacheTest, ANewRuntimeTrustsTheStampOfAnUnchangedModuleOnly) {
  const std::string a = Printer("module-a");
  const std::string b = Printer("module-b");
  const Plan plan_a = PlanFor("a", a);
  const Plan plan_b = PlanFor("b", b);
  // Stamps are kept only for files settled for 2 s (compile_cache.h).
  std::this_thread::sleep_for(std::chrono::nanoseconds(wasm::CompileCache::kStampSettleNs) +
                              std::chrono::milliseconds(200));
  {
    auto first = NewRuntime();
    EXPECT_EQ(Output(*first, plan_a), "module-a");
    EXPECT_EQ(Output(*first, plan_b), "module-b");
  }
  const fs::path module_a = plan_a.skill_dir / "scripts/m.wasm";
  wasm::CompileCache cache(cache_dir());
  const wasm::FileIdentity id_a = IdentityOf(module_a);
  ASSERT_EQ(cache.LookupStamp(id_a), Sha256Hex(a));

  // The stamp alone decides what a new runtime runs for an unchanged file: pointed at b's
  // contents, it runs b's code without reading a. (Hence stamps live in the private cache
  // directory, under the checks its entries pass.)
  ASSERT_TRUE(cache.RecordStamp(id_a, Sha256Hex(b)));
  EXPECT_EQ(Output(*NewRuntime(), plan_a), "module-b");
  ASSERT_TRUE(cache.RecordStamp(id_a, Sha256Hex(a)));
  EXPECT_EQ(Output(*NewRuntime(), plan_a), "module-a");

  // Rewritten in place with the same size and its mtime put back: the ctime moved, so the
  // stamp no longer matches, and a new runtime reads and runs the new contents.
  struct stat before;
  ASSERT_EQ(::stat(module_a.c_str(), &before), 0);
  const std::string c = Printer("module-c");
  ASSERT_EQ(c.size(), a.size());
  WriteFile(module_a, c);
  const struct timespec times[2] = {before.st_atim, before.st_mtim};
  ASSERT_EQ(::utimensat(AT_FDCWD, module_a.c_str(), times, 0), 0);
  const wasm::FileIdentity id_c = IdentityOf(module_a);
  EXPECT_EQ(id_c.ino, id_a.ino);
  EXPECT_EQ(id_c.size, id_a.size);
  EXPECT_EQ(id_c.mtime_ns, id_a.mtime_ns);
  EXPECT_NE(id_c.ctime_ns, id_a.ctime_ns);
  EXPECT_EQ(Output(*NewRuntime(), plan_a), "module-c");
}

TEST_F(WasmCacheTest, TheModuleIsFoundBeneathTheSkillDirectoryOnly) {
  auto runtime = NewRuntime();
  Plan plan = PlanFor("s", Printer("inside"));
  // Positive control: a link inside the skill directory to its own module is followed.
  fs::create_directories(plan.skill_dir / "bin");
  fs::create_symlink("../scripts/m.wasm", plan.skill_dir / "bin/link.wasm");
  plan.argv = {"bin/link.wasm"};
  EXPECT_EQ(Output(*runtime, plan), "inside");
  // Links that lead out, relative or absolute, are refused as leaving the directory.
  const Plan outside = PlanFor("outside", Printer("outside"));
  fs::create_symlink("../../outside/scripts/m.wasm", plan.skill_dir / "bin/up.wasm");
  fs::create_symlink(outside.skill_dir / "scripts/m.wasm", plan.skill_dir / "bin/abs.wasm");
  for (const char* name : {"bin/up.wasm", "bin/abs.wasm"}) {
    plan.argv = {name};
    auto out = runtime->Run(plan);
    ASSERT_FALSE(out.has_value()) << name;
    EXPECT_EQ(out.error().code, ErrorCode::kValidation) << name;
    EXPECT_NE(out.error().message.find("leaves the skill directory"), std::string::npos)
        << out.error().message;
  }
  // The skill directory itself replaced between calls: the new one is used.
  plan.argv = {"scripts/m.wasm"};
  fs::rename(plan.skill_dir, tmp_.path() / "old");
  fs::create_directories(plan.skill_dir / "scripts");
  WriteFile(plan.skill_dir / "scripts/m.wasm", Printer("replaced"));
  EXPECT_EQ(Output(*runtime, plan), "replaced");
}

}  // namespace
}  // namespace skillrt
