#include "sandbox/linux/seccomp.h"

#include <gtest/gtest.h>

#include <algorithm>

#include "sandbox/linux/landlock.h"

namespace skillrt::seccomp {
namespace {

TEST(SeccompTest, CompilesOnce) {
  auto filter = Filter();
  ASSERT_TRUE(filter) << filter.error().ToString();
  EXPECT_GT((*filter)->instructions.size(), 50u);
  EXPECT_EQ(*Filter(), *filter);  // Cached.
}

TEST(SeccompTest, RefusesWhatTheSpecificationRequires) {
  const std::vector<std::string> denied = DeniedSyscalls();
  for (const char* name :
       {"ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root",
        "unshare", "setns", "keyctl", "add_key", "request_key", "bpf", "perf_event_open",
        "userfaultfd", "io_uring_setup", "init_module", "finit_module", "kexec_load", "reboot",
        "swapon", "acct", "open_tree", "fsopen", "move_mount"}) {
    EXPECT_NE(std::find(denied.begin(), denied.end(), name), denied.end()) << name;
  }
}

TEST(LandlockTest, AbiIsProbed) {
  const int abi = landlock::Abi();
  if (abi == 0) GTEST_SKIP() << "kernel has no Landlock";
  EXPECT_GE(abi, 1);
  EXPECT_EQ(landlock::Abi(), abi);
}

}  // namespace
}  // namespace skillrt::seccomp
