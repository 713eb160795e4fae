// The engine probe cache with a stand-in engine: a shell script named podman that answers
// `info` like podman and counts how often it was asked.
#include "container/probe_cache.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <string>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt::container {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;
using Clock = std::chrono::system_clock;

class ProbeCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    engine_ = (dir_.path() / "bin" / "podman").string();
    fs::create_directories(dir_.path() / "bin");
    WriteEngine("echo 'cgroupfs v1 false'");
    cache_ = dir_.path() / "cache";
  }

  // A podman stand-in that appends a line to `count` per call and then runs `body`.
  void WriteEngine(const std::string& body) {
    WriteFile(engine_, "#!/bin/sh\necho x >> '" + (dir_.path() / "count").string() + "'\n" +
                           body + "\n");
    ASSERT_EQ(::chmod(engine_.c_str(), 0755), 0);
  }

  // How many times the stand-in has been run.
  int Probes() const {
    const fs::path count = dir_.path() / "count";
    if (!fs::exists(count)) return 0;
    const std::string text = ReadFile(count);
    return static_cast<int>(std::count(text.begin(), text.end(), '\n'));
  }

  fs::path File() const { return ProbeCacheFile(cache_, engine_); }

  TempDir dir_;
  std::string engine_;
  fs::path cache_;
};

TEST_F(ProbeCacheTest, ASecondRuntimeReadsTheStoredProbe) {
  auto first = ProbeEngineCached(engine_, cache_);
  ASSERT_TRUE(first) << first.error().ToString();
  EXPECT_EQ(Probes(), 1);
  auto second = ProbeEngineCached(engine_, cache_);
  ASSERT_TRUE(second) << second.error().ToString();
  EXPECT_EQ(Probes(), 1);
  EXPECT_EQ(second->path, engine_);
  EXPECT_EQ(second->kind, EngineKind::kPodman);
  EXPECT_EQ(second->name, "podman");
  EXPECT_EQ(second->stats_cgroup_version, first->stats_cgroup_version);
  EXPECT_EQ(second->stats_cgroup_version, ::geteuid() == 0 ? 1 : 0);
  struct stat st;
  ASSERT_EQ(::stat(File().c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(cache_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
}

TEST_F(ProbeCacheTest, WithoutADirectoryEveryRuntimeProbes) {
  ASSERT_TRUE(ProbeEngineCached(engine_, ""));
  ASSERT_TRUE(ProbeEngineCached(engine_, ""));
  EXPECT_EQ(Probes(), 2);
}

TEST_F(ProbeCacheTest, AChangedEngineBinaryIsProbedAgain) {
  ASSERT_TRUE(ProbeEngineCached(engine_, cache_));
  // New contents of another size (file times move in coarse clock ticks, so two writes of
  // one size within a tick could look alike; package managers replace the file instead).
  WriteEngine("echo 'cgroupfs v2 false'  ");
  auto again = ProbeEngineCached(engine_, cache_);
  ASSERT_TRUE(again) << again.error().ToString();
  EXPECT_EQ(Probes(), 2);
  EXPECT_EQ(again->stats_cgroup_version, ::geteuid() == 0 ? 2 : 0);
  ASSERT_TRUE(ProbeEngineCached(engine_, cache_));
  EXPECT_EQ(Probes(), 2);
}

TEST_F(ProbeCacheTest, TheEngineEnvironmentIsPartOfTheKey) {
  const auto before = ProbeKey(engine_);
  ASSERT_TRUE(before);
  const char* old = ::getenv("CONTAINER_HOST");
  const std::string saved = old ? old : "";
  ::setenv("CONTAINER_HOST", "unix:///run/elsewhere.sock", 1);
  const auto during = ProbeKey(engine_);
  ::setenv("CONTAINER_HOST", "a\nengine /bin/true", 1);
  const auto forged = ProbeKey(engine_);
  if (old) {
    ::setenv("CONTAINER_HOST", saved.c_str(), 1);
  } else {
    ::unsetenv("CONTAINER_HOST");
  }
  ASSERT_TRUE(during);
  EXPECT_NE(*before, *during);
  EXPECT_FALSE(forged) << "a newline in a fact must not make a key";
  EXPECT_EQ(ProbeKey(engine_), before);
  EXPECT_FALSE(ProbeKey((dir_.path() / "missing").string()));
}

TEST_F(ProbeCacheTest, ACorruptOrForeignEntryIsNotTrusted) {
  const auto key = ProbeKey(engine_);
  ASSERT_TRUE(key);
  EngineInfo info{.kind = EngineKind::kPodman, .path = engine_, .name = "podman",
                  .stats_cgroup_version = 2};
  const auto now = Clock::now();
  ASSERT_TRUE(WriteProbe(File(), *key, info, now));
  auto read = ReadProbe(File(), *key, now);
  ASSERT_TRUE(read);
  EXPECT_EQ(read->stats_cgroup_version, 2);
  EXPECT_EQ(read->path, engine_);
  const std::string good = ReadFile(File());

  auto rewrite = [&](const std::string& text, mode_t mode = 0600) {
    fs::remove(File());
    WriteFile(File(), text);
    ::chmod(File().c_str(), mode);
  };
  rewrite(good);
  EXPECT_TRUE(ReadProbe(File(), *key, now)) << "positive control: the same bytes, rewritten";
  rewrite(good.substr(0, good.size() / 2));
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "truncated";
  rewrite("garbage\n");
  EXPECT_FALSE(ReadProbe(File(), *key, now));
  std::string bad = good;
  bad.replace(bad.find("stats_cgroup_version 2"), 22, "stats_cgroup_version 7");
  rewrite(bad);
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "out of range";
  bad = good;
  bad.replace(bad.find("kind podman"), 11, "kind docker");
  rewrite(bad);
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "a kind the engine's name does not give";
  rewrite(good, 0644);
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "readable by others";
  rewrite(good, 0620);
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "writable by the group";
  rewrite(good);
  EXPECT_FALSE(ReadProbe(File(), *key + "extra\n", now)) << "another key";

  const fs::path elsewhere = dir_.path() / "elsewhere";
  fs::rename(File(), elsewhere);
  fs::create_symlink(elsewhere, File());
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "a symbolic link";
  fs::remove(File());
  EXPECT_FALSE(ReadProbe(File(), *key, now)) << "missing";

  // A corrupt entry makes the next runtime probe and store a good one.
  rewrite("garbage\n");
  ASSERT_TRUE(ProbeEngineCached(engine_, cache_));
  EXPECT_EQ(Probes(), 1);
  EXPECT_TRUE(ReadProbe(File(), *key, Clock::now()));
}

TEST_F(ProbeCacheTest, AnOldOrFutureEntryIsProbedAgain) {
  const auto key = ProbeKey(engine_);
  ASSERT_TRUE(key);
  EngineInfo info{.kind = EngineKind::kPodman, .path = engine_, .name = "podman"};
  const auto then = Clock::now();
  ASSERT_TRUE(WriteProbe(File(), *key, info, then));
  EXPECT_TRUE(ReadProbe(File(), *key, then + kProbeCacheMaxAge - std::chrono::seconds(1)));
  EXPECT_FALSE(ReadProbe(File(), *key, then + kProbeCacheMaxAge + std::chrono::seconds(1)));
  EXPECT_FALSE(ReadProbe(File(), *key, then - std::chrono::seconds(5)));
}

TEST_F(ProbeCacheTest, AFailedProbeIsNotStoredAndForgetRemovesTheEntry) {
  WriteEngine("echo 'Error: cannot connect' >&2; exit 125");
  auto failed = ProbeEngineCached(engine_, cache_);
  ASSERT_FALSE(failed);
  EXPECT_EQ(failed.error().code, ErrorCode::kUnsupported);
  EXPECT_NE(failed.error().message.find("cannot connect"), std::string::npos);
  EXPECT_FALSE(fs::exists(File()));
  EXPECT_FALSE(ProbeEngineCached(engine_, cache_));
  EXPECT_EQ(Probes(), 2);

  WriteEngine("echo 'cgroupfs v1 false'");
  ASSERT_TRUE(ProbeEngineCached(engine_, cache_));
  EXPECT_TRUE(fs::exists(File()));
  ForgetProbe(cache_, engine_);
  EXPECT_FALSE(fs::exists(File()));
  ASSERT_TRUE(ProbeEngineCached(engine_, cache_));
  EXPECT_EQ(Probes(), 4);
}

}  // namespace
}  // namespace skillrt::container
