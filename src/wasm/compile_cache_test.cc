// The disk cache of compiled WebAssembly (compile_cache.h): its bound and eviction order, and
// what it refuses to read. (Its checks against entries others could have written are tried
// in wasm_runtime_test.cc, with the runtime that relies on them.)
#include "wasm/compile_cache.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <time.h>

#include <filesystem>
#include <string>
#include <vector>

#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

TEST(CompileCacheTest, EvictsTheLeastRecentlyUsedPastItsBound) {
  TempDir tmp;
  // Entries of 1000 bytes: two fit in 2500, three do not.
  wasm::CompileCache cache(tmp.path() / "c", 2500);
  const std::vector<uint8_t> payload(1000, 7);
  const std::string a(64, 'a'), b(64, 'b'), c(64, 'c');
  auto set_mtime = [&](const std::string& key, time_t seconds) {
    const struct timespec times[2] = {{seconds, 0}, {seconds, 0}};
    ASSERT_EQ(::utimensat(AT_FDCWD, cache.PathOf(key).c_str(), times, 0), 0);
  };
  ASSERT_TRUE(cache.Store(a, payload).has_value());
  ASSERT_TRUE(cache.Store(b, payload).has_value());
  set_mtime(a, 1'000'000);
  set_mtime(b, 2'000'000);
  // Using `a` makes it the most recent: `b` is now the least recently used.
  ASSERT_TRUE(cache.Load(a, 1u << 20).has_value());
  ASSERT_TRUE(cache.Store(c, payload).has_value());
  EXPECT_TRUE(fs::exists(cache.PathOf(a)));
  EXPECT_FALSE(fs::exists(cache.PathOf(b)));
  EXPECT_TRUE(fs::exists(cache.PathOf(c)));
  EXPECT_LE(cache.Evict(), 2500u);

  // An entry larger than the whole bound is not kept; an old temporary file is removed, a
  // fresh one (a writer at work) is not.
  EXPECT_TRUE(cache.Store(std::string(64, 'd'), std::vector<uint8_t>(4000, 1)).has_value());
  EXPECT_FALSE(fs::exists(cache.PathOf(std::string(64, 'd'))));
  WriteFile(tmp.path() / "c" / ".tmp-old", "x");
  WriteFile(tmp.path() / "c" / ".tmp-new", "x");
  const struct timespec old_times[2] = {{1'000'000, 0}, {1'000'000, 0}};
  ASSERT_EQ(::utimensat(AT_FDCWD, (tmp.path() / "c" / ".tmp-old").c_str(), old_times, 0), 0);
  cache.Evict();
  EXPECT_FALSE(fs::exists(tmp.path() / "c" / ".tmp-old"));
  EXPECT_TRUE(fs::exists(tmp.path() / "c" / ".tmp-new"));

  // Positive control: with room for all three, nothing is evicted.
  TempDir roomy_dir;
  wasm::CompileCache roomy(roomy_dir.path() / "c", 3000);
  for (const std::string& key : {a, b, c}) ASSERT_TRUE(roomy.Store(key, payload).has_value());
  for (const std::string& key : {a, b, c}) EXPECT_TRUE(fs::exists(roomy.PathOf(key))) << key;
}

TEST(CompileCacheTest, AFifoInPlaceOfAnEntryIsAMissAtOnce) {
  TempDir tmp;
  wasm::CompileCache cache(tmp.path() / "c");
  const std::string key(64, 'f');
  ASSERT_TRUE(cache.Store(key, {1, 2, 3}).has_value());
  fs::remove(cache.PathOf(key));
  ASSERT_EQ(::mkfifo(cache.PathOf(key).c_str(), 0600), 0);
  EXPECT_FALSE(cache.Load(key, 100).has_value());  // Returns: the open does not wait.
}

}  // namespace
}  // namespace skillrt
