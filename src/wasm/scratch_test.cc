// The scratch spaces of WebAssembly calls (scratch.h): what the measuring walk counts, what
// the kernel refuses in a tmpfs scratch, and that both leave nothing behind. Each evasion is
// also tried against what it evades (a walk by full paths, a removal by full paths), so that a
// pass proves the mechanism and not a tree too small to matter.
#include "wasm/scratch.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <filesystem>
#include <string>

#include "test_util.h"

namespace skillrt::wasm {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::TempDir;

constexpr uint64_t kMiB = 1 << 20;

UniqueFd OpenDir(const fs::path& path) {
  return UniqueFd(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
}

// Writes `bytes` of non-zero data to the open file `fd`.
void Fill(int fd, uint64_t bytes) {
  const std::string chunk(64 << 10, 'x');
  for (uint64_t done = 0; done < bytes;) {
    const size_t n = std::min<uint64_t>(chunk.size(), bytes - done);
    ASSERT_EQ(::write(fd, chunk.data(), n), static_cast<ssize_t>(n));
    done += n;
  }
}

// Makes `levels` nested directories named `name` below `root` (through descriptors, as a guest
// does), writes `bytes` to a file at the bottom, and returns the host path's length.
size_t MakeDeepTree(int root, size_t levels, const std::string& name, uint64_t bytes) {
  UniqueFd dir(::fcntl(root, F_DUPFD_CLOEXEC, 0));
  size_t path_length = 0;
  for (size_t i = 0; i < levels; ++i) {
    EXPECT_EQ(::mkdirat(dir.get(), name.c_str(), 0700), 0) << i;
    UniqueFd next(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    EXPECT_TRUE(next.valid()) << i;
    dir = std::move(next);
    path_length += name.size() + 1;
  }
  UniqueFd file(::openat(dir.get(), "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  EXPECT_TRUE(file.valid());
  Fill(file.get(), bytes);
  return path_length + 5;
}

// What the walk by full paths counted (the mechanism the descriptor walk replaces).
uint64_t BytesByPaths(const fs::path& dir) {
  uint64_t total = 0;
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec);
       !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
    struct stat st;
    if (::lstat(it->path().c_str(), &st) == 0) total += static_cast<uint64_t>(st.st_blocks) * 512;
  }
  return total;
}

TEST(ScratchMeasureTest, ATreeBeyondPathMaxIsCounted) {
  TempDir tmp;
  UniqueFd root = OpenDir(tmp.path());
  const size_t length = MakeDeepTree(root.get(), 24, std::string(250, 'd'), 4 * kMiB);
  ASSERT_GT(tmp.path().string().size() + length, size_t{PATH_MAX});

  const TreeUsage usage = MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX);
  EXPECT_GE(usage.bytes, 4 * kMiB);
  EXPECT_EQ(usage.inodes, 25u);
  EXPECT_FALSE(usage.too_deep);
  // Positive control: a walk by full paths misses the file (its path is too long to name).
  EXPECT_LT(BytesByPaths(tmp.path()), 4 * kMiB);
}

TEST(ScratchMeasureTest, SparseFilesCountTheirBlocksAndHardLinksCountOnce) {
  TempDir tmp;
  UniqueFd root = OpenDir(tmp.path());
  {
    UniqueFd sparse(::openat(root.get(), "sparse", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    ASSERT_EQ(::ftruncate(sparse.get(), 1ll << 30), 0);  // 1 GiB, all hole.
    UniqueFd dense(::openat(root.get(), "dense", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    Fill(dense.get(), 2 * kMiB);
  }
  for (int i = 0; i < 10; ++i) {
    const std::string link = "link" + std::to_string(i);
    ASSERT_EQ(::linkat(root.get(), "dense", root.get(), link.c_str(), 0), 0);
  }
  const TreeUsage usage = MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX);
  // The dense file once, the sparse one for its (no) blocks: the disk holds 2 MiB.
  EXPECT_GE(usage.bytes, 2 * kMiB);
  EXPECT_LT(usage.bytes, 3 * kMiB);
  EXPECT_EQ(usage.inodes, 2u);
}

TEST(ScratchMeasureTest, EmptyFilesCountAsInodesAndTheWalkStopsAtTheLimits) {
  TempDir tmp;
  UniqueFd root = OpenDir(tmp.path());
  for (int i = 0; i < 300; ++i) {
    const std::string name = "f" + std::to_string(i);
    UniqueFd(::openat(root.get(), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  }
  EXPECT_EQ(MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX).inodes, 300u);
  // Past the inode bound the walk stops: its count is just over the bound.
  EXPECT_EQ(MeasureTreeAt(root.get(), UINT64_MAX, 100).inodes, 101u);
}

TEST(ScratchMeasureTest, ATreeDeeperThanTheWalkFollowsIsTooDeep) {
  TempDir tmp;
  UniqueFd root = OpenDir(tmp.path());
  MakeDeepTree(root.get(), kScratchMaxDepth + 2, "d", 0);
  EXPECT_TRUE(MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX).too_deep);
  // Control: one level less than the bound is walked to its end.
  TempDir shallow;
  UniqueFd shallow_root = OpenDir(shallow.path());
  MakeDeepTree(shallow_root.get(), kScratchMaxDepth - 1, "d", 0);
  const TreeUsage usage = MeasureTreeAt(shallow_root.get(), UINT64_MAX, UINT64_MAX);
  EXPECT_FALSE(usage.too_deep);
  EXPECT_EQ(usage.inodes, kScratchMaxDepth);
}

TEST(ScratchMeasureTest, AFileUnlinkedWhileOpenIsStillCounted) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "scratch";
  fs::create_directories(dir);
  UniqueFd root = OpenDir(dir);
  struct stat st;
  ASSERT_EQ(::fstat(root.get(), &st), 0);
  UniqueFd hidden(::openat(root.get(), "hidden", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  Fill(hidden.get(), 2 * kMiB);
  ASSERT_EQ(::unlinkat(root.get(), "hidden", 0), 0);
  // The walk cannot see it; the descriptor scan can.
  EXPECT_LT(MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX).bytes, 2 * kMiB);
  EXPECT_GE(OpenUnlinkedBytes(st.st_dev, dir.string()), 2 * kMiB);
  // An unlinked file elsewhere is someone else's.
  const fs::path other_dir = tmp.path() / "other";
  fs::create_directories(other_dir);
  UniqueFd other(::open((other_dir / "f").c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  Fill(other.get(), kMiB);
  ASSERT_EQ(::unlink((other_dir / "f").c_str()), 0);
  EXPECT_LT(OpenUnlinkedBytes(st.st_dev, dir.string()), 3 * kMiB);
  hidden.Reset();
  EXPECT_LT(OpenUnlinkedBytes(st.st_dev, dir.string()), kMiB);
}

TEST(ScratchRemoveTest, RemovesATreeBeyondPathMax) {
  TempDir tmp;
  const fs::path dir = tmp.path() / "scratch";
  fs::create_directories(dir);
  UniqueFd root = OpenDir(dir);
  MakeDeepTree(root.get(), 24, std::string(250, 'd'), kMiB);
  UniqueFd(::openat(root.get(), "top", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  EXPECT_FALSE(fs::is_empty(dir));
  EXPECT_TRUE(RemoveTreeContentsAt(root.get()));
  EXPECT_TRUE(fs::is_empty(dir));
  // Twice through the same descriptor: the second walk starts from the first entry again.
  UniqueFd(::openat(root.get(), "again", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  EXPECT_TRUE(RemoveTreeContentsAt(root.get()));
  EXPECT_TRUE(fs::is_empty(dir));
}

TEST(ScratchSpaceTest, ADirectoryScratchIsOverPastItsLimitAndComesBackEmpty) {
  TempDir tmp;
  auto provider = ScratchProvider::Make(ScratchKind::kDirectory, tmp.path(), 0);
  fs::path used;
  {
    auto space = provider->Acquire(4 * kMiB);
    ASSERT_TRUE(space.has_value()) << space.error().message;
    EXPECT_EQ(space->kind(), ScratchKind::kDirectory);
    used = space->preopen_path();
    EXPECT_EQ(space->Check(), ScratchCheck::kWithin);
    UniqueFd root = OpenDir(used);
    MakeDeepTree(root.get(), 24, std::string(250, 'd'), 3 * kMiB);
    EXPECT_EQ(space->Check(), ScratchCheck::kWithin);
    UniqueFd more(::openat(root.get(), "more", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    Fill(more.get(), 2 * kMiB);
    EXPECT_EQ(space->Check(), ScratchCheck::kOver);
  }
  // Handed back emptied, and reused.
  EXPECT_TRUE(fs::is_empty(used));
  auto again = provider->Acquire(4 * kMiB);
  ASSERT_TRUE(again.has_value());
  EXPECT_EQ(again->preopen_path(), used.string());
}

class TmpfsScratchTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (auto probed = ScratchProvider::ProbeTmpfs(); !probed) {
      GTEST_SKIP() << "no private tmpfs here: " << probed.error().message;
    }
  }
};

TEST_F(TmpfsScratchTest, TheKernelRefusesWritesPastTheSize) {
  auto provider = ScratchProvider::Make(ScratchKind::kTmpfs, {}, UINT64_MAX);
  auto space = provider->Acquire(2 * kMiB);
  ASSERT_TRUE(space.has_value()) << space.error().message;
  ASSERT_EQ(space->kind(), ScratchKind::kTmpfs);
  UniqueFd root = OpenDir(space->preopen_path());
  ASSERT_TRUE(root.valid()) << space->preopen_path();
  // Beyond PATH_MAX, as the attack did; the write stops at the size.
  UniqueFd dir(::fcntl(root.get(), F_DUPFD_CLOEXEC, 0));
  const std::string name(250, 'd');
  for (int i = 0; i < 24; ++i) {
    ASSERT_EQ(::mkdirat(dir.get(), name.c_str(), 0700), 0);
    dir = UniqueFd(::openat(dir.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  }
  UniqueFd file(::openat(dir.get(), "data", O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  const std::string chunk(64 << 10, 'x');
  uint64_t written = 0;
  ssize_t n;
  while ((n = ::write(file.get(), chunk.data(), chunk.size())) > 0) written += n;
  EXPECT_EQ(errno, ENOSPC);
  EXPECT_LE(written, 2 * kMiB);
  EXPECT_GT(written, kMiB);
  EXPECT_EQ(space->Check(), ScratchCheck::kFull);
  // Unlinking while open frees nothing: the pages stay counted.
  ASSERT_EQ(::unlinkat(dir.get(), "data", 0), 0);
  EXPECT_EQ(space->Check(), ScratchCheck::kFull);
  file.Reset();
  EXPECT_EQ(space->Check(), ScratchCheck::kWithin);
}

TEST_F(TmpfsScratchTest, TheKernelRefusesFilesPastTheInodeLimitAndTheMountIsNowhere) {
  auto provider = ScratchProvider::Make(ScratchKind::kTmpfs, {}, UINT64_MAX);
  auto space = provider->Acquire(64 * kMiB);
  ASSERT_TRUE(space.has_value()) << space.error().message;
  UniqueFd root = OpenDir(space->preopen_path());
  uint64_t made = 0;
  for (; made < kScratchMaxInodes + 10; ++made) {
    const std::string name = "f" + std::to_string(made);
    UniqueFd fd(::openat(root.get(), name.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
    if (!fd) {
      EXPECT_EQ(errno, ENOSPC);
      break;
    }
  }
  EXPECT_EQ(made, kScratchMaxInodes);
  EXPECT_EQ(space->Check(), ScratchCheck::kFull);
  // Attached nowhere: no mount point in this process's mount table shows it.
  struct stat st;
  ASSERT_EQ(::fstat(root.get(), &st), 0);
  const std::string mountinfo = testing::ReadFile("/proc/self/mountinfo");
  const std::string dev =
      " " + std::to_string(major(st.st_dev)) + ":" + std::to_string(minor(st.st_dev)) + " ";
  EXPECT_EQ(mountinfo.find(dev), std::string::npos);
  // A limit above the tmpfs ceiling gets a directory instead.
  auto big = ScratchProvider::Make(ScratchKind::kTmpfs, {}, kMiB)->Acquire(2 * kMiB);
  ASSERT_TRUE(big.has_value());
  EXPECT_EQ(big->kind(), ScratchKind::kDirectory);
}

// Bytes written to a new file `name` in `dir` before a write fails (or `bytes` are written).
uint64_t WriteUntilFull(const std::string& dir, const char* name, uint64_t bytes) {
  UniqueFd root = OpenDir(dir);
  UniqueFd file(::openat(root.get(), name, O_WRONLY | O_CREAT | O_CLOEXEC, 0600));
  const std::string chunk(64 << 10, 'x');
  uint64_t written = 0;
  while (written < bytes) {
    const ssize_t n = ::write(file.get(), chunk.data(), chunk.size());
    if (n <= 0) break;
    written += static_cast<uint64_t>(n);
  }
  return written;
}

TEST_F(TmpfsScratchTest, AReusedTmpfsIsEmptyAndKeepsItsOwnSize) {
  auto provider = ScratchProvider::Make(ScratchKind::kTmpfs, {}, UINT64_MAX);
  std::string first_path;
  {
    auto space = provider->Acquire(kMiB);
    ASSERT_TRUE(space.has_value()) << space.error().message;
    first_path = space->preopen_path();
    EXPECT_LE(WriteUntilFull(first_path, "left", 4 * kMiB), kMiB);
  }
  {
    // Another size: not the 1 MiB one, so 2 MiB fit.
    auto bigger = provider->Acquire(4 * kMiB);
    ASSERT_TRUE(bigger.has_value());
    EXPECT_EQ(WriteUntilFull(bigger->preopen_path(), "more", 2 * kMiB), 2 * kMiB);
    // The same size: the first one again, emptied.
    auto again = provider->Acquire(kMiB);
    ASSERT_TRUE(again.has_value());
    UniqueFd root = OpenDir(again->preopen_path());
    EXPECT_EQ(MeasureTreeAt(root.get(), UINT64_MAX, UINT64_MAX).inodes, 0u);
    EXPECT_LE(WriteUntilFull(again->preopen_path(), "new", 4 * kMiB), kMiB);
  }
}

}  // namespace
}  // namespace skillrt::wasm
