// peer::ReadConfinement and peer::Difference against real processes: a child forked from the
// test is confined as the test is (the positive control) until it changes one thing.
#include "skillrt/peer.h"

#include <fcntl.h>
#include <sched.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <csignal>
#include <fstream>
#include <functional>
#include <iterator>
#include <string>

#include <gtest/gtest.h>

#include "skillrt/fd.h"

namespace skillrt::peer {
namespace {

UniqueFd PidfdOf(pid_t pid) { return UniqueFd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0))); }

// A child that applies `change`, says so on a pipe, and waits until the test closes the
// other pipe; its confinement is read in between.
class Child {
 public:
  explicit Child(const std::function<bool()>& change) {
    int ready[2], hold[2];
    EXPECT_EQ(::pipe2(ready, O_CLOEXEC), 0);
    EXPECT_EQ(::pipe2(hold, O_CLOEXEC), 0);
    pid_ = ::fork();
    if (pid_ == 0) {
      ::close(ready[0]);
      ::close(hold[1]);
      const char ok = change() ? 'y' : 'n';
      if (::write(ready[1], &ok, 1) != 1) ::_exit(1);
      char c;
      while (::read(hold[0], &c, 1) > 0) {
      }
      ::_exit(0);
    }
    ::close(ready[1]);
    ::close(hold[0]);
    hold_ = UniqueFd(hold[1]);
    char ok = 0;
    EXPECT_EQ(::read(ready[0], &ok, 1), 1);
    ::close(ready[0]);
    changed_ = ok == 'y';
    pidfd_ = PidfdOf(pid_);
  }
  ~Child() {
    hold_.Reset();
    int status;
    ::waitpid(pid_, &status, 0);
  }
  bool changed() const { return changed_; }
  int pidfd() const { return pidfd_.get(); }

 private:
  pid_t pid_ = -1;
  UniqueFd hold_;
  UniqueFd pidfd_;
  bool changed_ = false;
};

Confinement Self() {
  UniqueFd self = PidfdOf(::getpid());
  auto facts = ReadConfinement(self.get());
  EXPECT_TRUE(facts.has_value()) << facts.error().message;
  return facts.value_or(Confinement{});
}

TEST(PeerTest, ReadsEveryFactOfItself) {
  Confinement facts = Self();
  for (const char* name : {"ns/mnt", "ns/net", "ns/user", "ns/pid", "status/Uid",
                           "status/CapEff", "status/NoNewPrivs", "status/Seccomp", "cgroup",
                           "limits", "root", "cwd", "exe", "status/Umask"}) {
    EXPECT_TRUE(facts.contains(name)) << name;
  }
  EXPECT_EQ(facts["status/NoNewPrivs"], "0");
}

TEST(PeerTest, AnUnchangedChildIsConfinedAsItsParent) {
  Child child([] { return true; });
  auto facts = ReadConfinement(child.pidfd());
  ASSERT_TRUE(facts.has_value()) << facts.error().message;
  EXPECT_EQ(Difference(*facts, Self()), std::nullopt);
}

struct Case {
  const char* name;
  std::function<bool()> change;
  const char* fact;
};

class PeerChangeTest : public ::testing::TestWithParam<Case> {};

TEST_P(PeerChangeTest, OneChangeIsNamed) {
  const Case& c = GetParam();
  Child child(c.change);
  if (!child.changed()) GTEST_SKIP() << c.name << ": the kernel refused the change here";
  auto facts = ReadConfinement(child.pidfd());
  ASSERT_TRUE(facts.has_value()) << facts.error().message;
  auto difference = Difference(*facts, Self());
  ASSERT_TRUE(difference.has_value()) << c.name;
  EXPECT_TRUE(difference->starts_with(std::string(c.fact) + ":")) << *difference;
}

INSTANTIATE_TEST_SUITE_P(
    Changes, PeerChangeTest,
    ::testing::Values(
        Case{"no_new_privs", [] { return ::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0; },
             "status/NoNewPrivs"},
        Case{"net namespace", [] { return ::unshare(CLONE_NEWNET) == 0; }, "ns/net"},
        Case{"user namespace", [] { return ::unshare(CLONE_NEWUSER) == 0; }, "ns/user"},
        Case{"mount namespace", [] { return ::unshare(CLONE_NEWNS) == 0; }, "ns/mnt"},
        Case{"capabilities",
             [] { return ::prctl(PR_CAPBSET_DROP, 21 /* CAP_SYS_ADMIN */, 0, 0, 0) == 0; },
             "status/CapBnd"},
        Case{"umask", [] { ::umask(077); return true; }, "status/Umask"},
        Case{"working directory", [] { return ::chdir("/") == 0; }, "cwd"},
        Case{"resource limit",
             [] {
               rlimit limit = {.rlim_cur = 12345, .rlim_max = 12345};
               return ::setrlimit(RLIMIT_CORE, &limit) == 0;
             },
             "limits"}),
    [](const ::testing::TestParamInfo<Case>& info) {
      std::string name = info.param.name;
      for (char& ch : name) {
        if (ch == ' ') ch = '_';
      }
      return name;
    });

TEST(PeerTest, AChildRunningAnotherProgramIsNamedByItsExecutable) {
  const pid_t pid = ::fork();
  if (pid == 0) {
    ::execl("/bin/sleep", "sleep", "30", static_cast<char*>(nullptr));
    ::_exit(127);
  }
  ASSERT_GT(pid, 0);
  UniqueFd pidfd = PidfdOf(pid);
  // Until the exec the child is a copy of this process: wait for its new name.
  std::string comm;
  for (int i = 0; i < 500 && comm != "sleep\n"; ++i) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/comm");
    comm.assign(std::istreambuf_iterator<char>(in), {});
    if (comm != "sleep\n") ::usleep(10'000);
  }
  ASSERT_EQ(comm, "sleep\n");
  auto facts = ReadConfinement(pidfd.get());
  ::kill(pid, SIGKILL);
  int status;
  ::waitpid(pid, &status, 0);
  ASSERT_TRUE(facts.has_value()) << facts.error().message;
  auto difference = Difference(*facts, Self());
  ASSERT_TRUE(difference.has_value());
  EXPECT_TRUE(difference->starts_with("exe:")) << *difference;
}

TEST(PeerTest, AProcessThatHasExitedIsNotRead) {
  pid_t pid = ::fork();
  if (pid == 0) ::_exit(0);
  UniqueFd pidfd = PidfdOf(pid);
  ASSERT_TRUE(pidfd);
  int status;
  ASSERT_EQ(::waitpid(pid, &status, 0), pid);
  auto facts = ReadConfinement(pidfd.get());
  ASSERT_FALSE(facts.has_value());
  EXPECT_EQ(facts.error().code, ErrorCode::kNotFound) << facts.error().message;
}

TEST(PeerTest, DifferenceNamesAFactOnlyOneSideHas) {
  Confinement a = {{"ns/net", "4:1"}};
  Confinement b = {{"ns/net", "4:1"}, {"ns/time", "4:2"}};
  EXPECT_EQ(Difference(a, b), "ns/time: absent, not 4:2");
  EXPECT_EQ(Difference(b, a), "ns/time: present only in the peer");
  EXPECT_EQ(Difference(a, a), std::nullopt);
}

}  // namespace
}  // namespace skillrt::peer
