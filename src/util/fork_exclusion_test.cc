#include "util/fork_exclusion.h"

#include <gtest/gtest.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

namespace skillrt::fork_exclusion {
namespace {

constexpr size_t kLen = 4 * 4096;

void* MapPages() {
  void* p = mmap(nullptr, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  EXPECT_NE(p, MAP_FAILED) << std::strerror(errno);
  std::memset(p, 0x5a, kLen);  // Resident, so a copy-on-write copy would be made.
  return p;
}

Range RangeOf(void* p, size_t len = kLen) {
  return {reinterpret_cast<uintptr_t>(p), reinterpret_cast<uintptr_t>(p) + len};
}

// Forks after ApplyBeforeClone, as the sandbox's spawn does; returns which of `a` and `b` the
// child had mapped (msync(2) fails with ENOMEM on an unmapped range): bit 0 for a, bit 1 for b.
int MappedInChild(void* a, void* b) {
  ApplyBeforeClone();
  const pid_t pid = fork();
  if (pid == 0) {
    int bits = 0;
    if (msync(a, kLen, MS_ASYNC) == 0) bits |= 1;
    if (msync(b, kLen, MS_ASYNC) == 0) bits |= 2;
    _exit(bits);
  }
  int status = 0;
  EXPECT_EQ(waitpid(pid, &status, 0), pid);
  EXPECT_TRUE(WIFEXITED(status));
  return WEXITSTATUS(status);
}

TEST(ForkExclusionTest, ARegisteredRangeIsNotInTheChild) {
  void* excluded = MapPages();
  void* kept = MapPages();  // The positive control: an ordinary mapping is copied.
  Register(RangeOf(excluded));
  EXPECT_EQ(MappedInChild(excluded, kept), 2);
  // The parent's own mapping is untouched.
  EXPECT_EQ(static_cast<unsigned char*>(excluded)[kLen - 1], 0x5a);
  Unregister(RangeOf(excluded));
  munmap(excluded, kLen);
  munmap(kept, kLen);
}

TEST(ForkExclusionTest, AMappingRemadeInsideARangeIsExcludedAgain) {
  void* region = MapPages();
  void* kept = MapPages();
  Register(RangeOf(region));
  ApplyBeforeClone();
  // What Wasmtime does when it maps a module's memory image over a pool slot: a new mapping
  // with MAP_FIXED, which does not carry the old one's MADV_DONTFORK.
  void* remade = mmap(region, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                      -1, 0);
  ASSERT_EQ(remade, region);
  std::memset(remade, 1, kLen);
  EXPECT_EQ(MappedInChild(region, kept), 2);
  Unregister(RangeOf(region));
  munmap(region, kLen);
  munmap(kept, kLen);
}

TEST(ForkExclusionTest, AnUnregisteredRangeIsLeftAlone) {
  void* a = MapPages();
  void* b = MapPages();
  const size_t before = Registered().size();
  Register(RangeOf(a));
  EXPECT_EQ(Registered().size(), before + 1);
  Unregister(RangeOf(a));
  EXPECT_EQ(Registered().size(), before);
  // Unmapped and mapped again by someone else at the same place: copied as usual.
  munmap(a, kLen);
  void* again = mmap(a, kLen, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED,
                     -1, 0);
  ASSERT_EQ(again, a);
  std::memset(again, 2, kLen);
  EXPECT_EQ(MappedInChild(a, b), 3);
  munmap(a, kLen);
  munmap(b, kLen);
}

TEST(ForkExclusionTest, MappingsListsThisProcesssMappings) {
  void* a = MapPages();
  bool found = false;
  for (const Range& r : Mappings()) {
    if (r.begin <= reinterpret_cast<uintptr_t>(a) && reinterpret_cast<uintptr_t>(a) + kLen <= r.end)
      found = true;
  }
  EXPECT_TRUE(found);
  munmap(a, kLen);
}

}  // namespace
}  // namespace skillrt::fork_exclusion
