#include "sandbox/linux/contain.h"

#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <utility>

#include "sandbox/linux/child.h"
#include "sandbox/linux/netns.h"
#include "sandbox/linux/seccomp.h"
#include "sandbox/linux/sys.h"
#include "sandbox/linux/userns.h"

namespace skillrt::sandbox {
namespace {

// Signal state survives execve: ignored signals stay ignored and blocked ones stay blocked
// (signal(7)). The skill starts with the defaults, whatever the embedding program set.
void ResetSignals() {
  struct sigaction dfl = {};
  dfl.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) {
    if (sig != SIGKILL && sig != SIGSTOP) ::sigaction(sig, &dfl, nullptr);
  }
  sigset_t none;
  ::sigemptyset(&none);
  ::sigprocmask(SIG_SETMASK, &none, nullptr);
}

void MoveFd(int from, int to, int err_fd) {
  if (from == to) {
    // Keep it across execve.
    if (::fcntl(to, F_SETFD, 0) != 0) ChildFail(err_fd, "fcntl(stdio)", errno);
  } else if (::dup2(from, to) < 0) {
    ChildFail(err_fd, "dup2(stdio)", errno);
  }
}

// Closes every descriptor above 2 except those in `boot`. Async-signal-safe.
void CloseAllBut(const ChildBoot& boot) {
  int keep[7 + kMaxCgroupFds];
  int n = 0;
  for (int fd : {boot.stdin_fd, boot.stdout_fd, boot.stderr_fd, boot.sync_fd, boot.err_fd,
                 boot.net_fd, boot.held_waiter_fd}) {
    if (fd >= 0) keep[n++] = fd;
  }
  for (int i = 0; i < boot.cgroup_tasks_count; ++i) keep[n++] = boot.cgroup_tasks_fds[i];
  for (int i = 1; i < n; ++i) {  // Insertion sort: a handful of entries.
    for (int j = i; j > 0 && keep[j - 1] > keep[j]; --j) std::swap(keep[j - 1], keep[j]);
  }
  unsigned next = 3;
  for (int i = 0; i < n; ++i) {
    const unsigned fd = static_cast<unsigned>(keep[i]);
    if (fd < next) continue;
    if (fd > next) sys::CloseRange(next, fd - 1);
    next = fd + 1;
  }
  sys::CloseRange(next, ~0u);
}

// Re-arms the parent-death signal after setresuid/setresgid cleared it, then makes sure the
// supervisor did not die in between (the signal would have been missed): it holds the sync
// pipe's write end for the whole run, so a hang-up on the read end means it is gone.
void ArmParentDeath(int sync_fd, int err_fd) {
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(err_fd, "prctl(PR_SET_PDEATHSIG)", errno);
  struct pollfd p = {.fd = sync_fd, .events = POLLIN, .revents = 0};
  if (::poll(&p, 1, 0) < 0) ChildFail(err_fd, "poll(sync pipe)", errno);
  if (p.revents & (POLLHUP | POLLERR)) ::_exit(kChildFailureExit);
}

}  // namespace

[[noreturn]] void ChildFail(int err_fd, const char* what, int err, bool exec) {
  ChildFailure failure;
  failure.err = err;
  failure.exec = exec;
  sys::StrCopy(failure.what, sizeof(failure.what), what);
  (void)sys::WriteAll(err_fd, &failure, sizeof(failure));
  ::_exit(kChildFailureExit);
}

[[noreturn]] void ChildFailCall(int err_fd, const char* call, const char* arg, int err,
                                bool exec) {
  char what[sizeof(ChildFailure::what)];
  char* p = sys::StrCopy(what, sizeof(what), call);
  p = sys::StrCopy(p, sizeof(what) - static_cast<size_t>(p - what), "(");
  p = sys::StrCopy(p, sizeof(what) - static_cast<size_t>(p - what), arg);
  sys::StrCopy(p, sizeof(what) - static_cast<size_t>(p - what), ")");
  ChildFail(err_fd, what, err, exec);
}

[[noreturn]] void Contain(const ChildBoot& boot) {
  int err_fd = boot.err_fd;
  // Descriptors the cloning process had open (other runs' pipes among them) are not ours: hold
  // none of them while waiting, or those runs would not see end-of-file on their output.
  CloseAllBut(boot);
  // Die with the supervisor; as pid 1 of the namespace, that takes every process with it.
  // Armed now for the wait below, and again after the last credential change, which clears
  // it (prctl(2), PR_SET_PDEATHSIG).
  if (::prctl(PR_SET_PDEATHSIG, SIGKILL) != 0) ChildFail(err_fd, "prctl(PR_SET_PDEATHSIG)", errno);
  // Wait until the supervisor has written the id maps and published the run. EOF means it
  // gave up (or died before PDEATHSIG was armed).
  char go = 0;
  while (::read(boot.sync_fd, &go, 1) != 1) {
    if (errno != EINTR) ::_exit(kChildFailureExit);
  }
  const ChildSpec& spec = **boot.spec;
  ResetSignals();
  MoveFd(boot.stdin_fd, 0, err_fd);
  MoveFd(boot.stdout_fd, 1, err_fd);
  MoveFd(boot.stderr_fd, 2, err_fd);

  // Join the run's v1 cgroups before anything else can fork: every later process inherits
  // them. (On v2 clone3 placed us there already.)
  for (int i = 0; i < boot.cgroup_tasks_count; ++i) {
    if (::write(boot.cgroup_tasks_fds[i], "0", 1) != 1) {
      ChildFail(err_fd, "write(cgroup tasks, 0)", errno);
    }
  }
  // Namespaces: the cgroup namespace is entered only now, rooted at the run's cgroup.
  if (boot.new_cgroup_ns && ::unshare(CLONE_NEWCGROUP) != 0) {
    ChildFail(err_fd, "unshare(CLONE_NEWCGROUP)", errno);
  }
  // A new session has no controlling terminal: the caller's terminal cannot be reached.
  if (::setsid() < 0) ChildFail(err_fd, "setsid", errno);
  if (::sethostname("skillrt", 7) != 0) ChildFail(err_fd, "sethostname", errno);
  // The network namespace has its loopback and nothing else: the skill may listen and connect
  // there, and nothing beyond it exists. With egress, the proxy's listener on it goes to the
  // supervisor, whose proxy thread accepts there and connects out from the host's namespace.
  // Both need the namespace's capabilities, which are dropped below.
  netns::BringUpLoopback(err_fd);
  if (spec.proxy_port != 0) netns::HandOverListener(spec.proxy_port, boot.net_fd, err_fd);
  // The workspace's ID-mapped tree, sent by the supervisor before it released us.
  const int handed =
      mount::NeedsHandedTree(spec.root) ? mount::ReceiveHandedTree(boot.net_fd, err_fd) : -1;
  // A prepared interpreter keeps the channel as its control descriptor, and a held sandbox's
  // waiter waits on it for its release: moved above every number the steps below assign (as
  // is the waiter's memfd), and onto kKeptChannelFd before seccomp.
  const bool held = spec.hold_for_release;
  if (held && boot.held_waiter_fd < 0) ChildFail(err_fd, "held sandbox without its waiter", EINVAL);
  const bool need_channel = spec.keep_channel || held;
  const int channel = need_channel ? ::fcntl(boot.net_fd, F_DUPFD_CLOEXEC, kHeldWaiterFd + 1) : -1;
  if (need_channel && channel < 0) ChildFail(err_fd, "fcntl(channel)", errno);
  const int waiter = held ? ::fcntl(boot.held_waiter_fd, F_DUPFD_CLOEXEC, kHeldWaiterFd + 1) : -1;
  if (held && waiter < 0) ChildFail(err_fd, "fcntl(held waiter)", errno);
  ::close(boot.net_fd);

  // The root: sources are opened with the supervisor's host credentials, then the child
  // becomes the skill's user (mapped, so the new root's files get an owner) and builds it.
  int sources[mount::kMaxSources];
  mount::OpenSources(spec.root, handed, sources, err_fd);
  userns::SwitchIds(boot.clear_groups, err_fd);
  ArmParentDeath(boot.sync_fd, err_fd);
  mount::BuildRoot(spec.root, sources, err_fd);
  if (::chdir(spec.cwd) != 0) ChildFailCall(err_fd, "chdir", spec.cwd, errno);

  rlimit::Apply(spec.rlimits, spec.rlimit_count, err_fd);
  userns::DropCapabilities(boot.cap_last, err_fd);
  // No execve can grant privileges from here on (setuid bits, file capabilities), which is
  // also what Landlock and seccomp require of an unprivileged caller.
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    ChildFail(err_fd, "prctl(PR_SET_NO_NEW_PRIVS)", errno);
  }
  if (spec.landlock != nullptr) landlock::Restrict(*spec.landlock, err_fd);

  // Only 0-2 and the error pipe survive (and a kept channel); the error pipe closes itself
  // on execve, except into a held sandbox's waiter, which reports its own execve there.
  if (err_fd != 3) {
    if (::dup3(err_fd, 3, held ? 0 : O_CLOEXEC) < 0) ChildFail(err_fd, "dup3(error pipe)", errno);
    err_fd = 3;
  } else if (held && ::fcntl(3, F_SETFD, 0) != 0) {
    ChildFail(err_fd, "fcntl(error pipe)", errno);
  }
  if (channel >= 0 && ::dup3(channel, kKeptChannelFd, 0) < 0) {
    ChildFail(err_fd, "dup3(channel)", errno);
  }
  if (waiter >= 0 && ::dup3(waiter, kHeldWaiterFd, O_CLOEXEC) < 0) {
    ChildFail(err_fd, "dup3(held waiter)", errno);
  }
  const unsigned first_closed = waiter >= 0 ? kHeldWaiterFd + 1 : channel >= 0 ? kKeptChannelFd + 1 : 4;
  if (sys::CloseRange(first_closed, ~0u) != 0) ChildFail(err_fd, "close_range", errno);

  // Last, because it refuses calls the steps above make (mount, unshare).
  seccomp::Install(spec.seccomp, spec.seccomp_count, err_fd);
  // Held: the sandbox is complete; its waiter, which holds none of this process's memory,
  // waits for the run it was prepared for and then executes the program.
  if (held) {
    ::execveat(kHeldWaiterFd, "", spec.argv, spec.envp, AT_EMPTY_PATH);
    ChildFailCall(err_fd, "execveat", "held waiter", errno);
  }
  ::execve(spec.exec_path, spec.argv, spec.envp);
  ChildFailCall(err_fd, "execve", spec.exec_path, errno, /*exec=*/true);
}

}  // namespace skillrt::sandbox
