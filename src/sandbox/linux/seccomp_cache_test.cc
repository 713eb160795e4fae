// The kept seccomp program: used only when whole, made for this build and kernel, and
// written by this user alone; every refusal has its positive control (the same file, put
// right, is used).
#include "sandbox/linux/seccomp_cache.h"

#include <sys/stat.h>
#include <unistd.h>

#include <fstream>
#include <iterator>

#include <gtest/gtest.h>

#include "test_util.h"

namespace skillrt::seccomp_cache {
namespace {

using skillrt::testing::TempDir;

class SeccompCacheTest : public ::testing::Test {
 protected:
  void SetUp() override {
    key_ = Key();
    if (key_.empty()) GTEST_SKIP() << "this test binary has no GNU build ID";
    auto compiled = seccomp::Compile();
    ASSERT_TRUE(compiled) << compiled.error().ToString();
    compiled_ = std::move(*compiled);
    dir_ = tmp_.path() / "cache" / "seccomp";
    ASSERT_TRUE(Store(dir_, key_, compiled_));
    file_ = PathFor(dir_, key_);
  }

  std::string ReadFile() {
    std::ifstream in(file_, std::ios::binary);
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  void WriteFile(const std::string& data) {
    std::ofstream(file_, std::ios::binary | std::ios::trunc) << data;
  }
  bool Loads() {
    std::optional<seccomp::Program> kept = Load(dir_, key_);
    return kept && *kept == compiled_;
  }

  TempDir tmp_;
  std::string key_;
  seccomp::Program compiled_;
  std::filesystem::path dir_;
  std::filesystem::path file_;
};

TEST_F(SeccompCacheTest, KeptProgramIsTheCompiledOne) {
  EXPECT_NE(key_.find("build="), std::string::npos) << key_;
  EXPECT_NE(key_.find("kernel="), std::string::npos) << key_;
  struct stat st {};
  ASSERT_EQ(::stat(dir_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0700u);
  ASSERT_EQ(::stat(file_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 0600u);
  EXPECT_TRUE(Loads());
}

TEST_F(SeccompCacheTest, AChangedByteIsRefused) {
  const std::string good = ReadFile();
  ASSERT_GT(good.size(), 64u);
  std::string bad = good;
  bad[bad.size() - 64] ^= 1;  // Inside the instructions: a rule's jump or value.
  WriteFile(bad);
  EXPECT_FALSE(Load(dir_, key_));
  WriteFile(good.substr(0, good.size() - 1));  // Cut short.
  EXPECT_FALSE(Load(dir_, key_));
  WriteFile(good);
  EXPECT_TRUE(Loads());
}

TEST_F(SeccompCacheTest, AnotherBuildOrKernelIsRefused) {
  EXPECT_FALSE(Load(dir_, key_ + " other"));
  // The same bytes under another key's name: the key inside still differs.
  std::filesystem::copy_file(file_, PathFor(dir_, "build=0 kernel=other"));
  EXPECT_FALSE(Load(dir_, "build=0 kernel=other"));
  EXPECT_TRUE(Loads());
}

TEST_F(SeccompCacheTest, WritableByOthersIsRefused) {
  ASSERT_EQ(::chmod(file_.c_str(), 0620), 0);
  EXPECT_FALSE(Load(dir_, key_));
  ASSERT_EQ(::chmod(file_.c_str(), 0600), 0);
  ASSERT_EQ(::chmod(dir_.c_str(), 0777), 0);
  EXPECT_FALSE(Load(dir_, key_));
  ASSERT_EQ(::chmod(dir_.c_str(), 0700), 0);
  EXPECT_TRUE(Loads());
}

TEST_F(SeccompCacheTest, OwnedByAnotherUserIsRefused) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to give the file away";
  ASSERT_EQ(::chown(file_.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(Load(dir_, key_));
  ASSERT_EQ(::chown(file_.c_str(), 0, 0), 0);
  ASSERT_EQ(::chown(dir_.c_str(), 65534, 65534), 0);
  EXPECT_FALSE(Load(dir_, key_));
  ASSERT_EQ(::chown(dir_.c_str(), 0, 0), 0);
  EXPECT_TRUE(Loads());
}

TEST_F(SeccompCacheTest, NothingIsKeptWhereItWouldNotBeTrusted) {
  const std::filesystem::path open_dir = tmp_.path() / "open";
  ASSERT_EQ(::mkdir(open_dir.c_str(), 0700), 0);
  ASSERT_EQ(::chmod(open_dir.c_str(), 0777), 0);
  EXPECT_FALSE(Store(open_dir, key_, compiled_));
  EXPECT_FALSE(std::filesystem::exists(PathFor(open_dir, key_)));
  ASSERT_EQ(::chmod(open_dir.c_str(), 0700), 0);  // Positive control.
  EXPECT_TRUE(Store(open_dir, key_, compiled_));
  EXPECT_TRUE(Load(open_dir, key_));
}

TEST_F(SeccompCacheTest, SymbolicLinksAreNotFollowed) {
  const std::filesystem::path elsewhere = tmp_.path() / "elsewhere.bpf";
  std::filesystem::rename(file_, elsewhere);
  std::filesystem::create_symlink(elsewhere, file_);
  EXPECT_FALSE(Load(dir_, key_));
  std::filesystem::remove(file_);
  std::filesystem::rename(elsewhere, file_);
  EXPECT_TRUE(Loads());
  // The directory itself through a link.
  const std::filesystem::path link = tmp_.path() / "link";
  std::filesystem::create_directory_symlink(dir_, link);
  EXPECT_FALSE(Load(link, key_));
}

}  // namespace
}  // namespace skillrt::seccomp_cache
