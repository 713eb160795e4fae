// The seccomp filter: system calls a skill never needs and that widen the kernel's attack
// surface or escape the other layers are refused (seccomp(2), seccomp_rule_add(3)).
#ifndef SKILLRT_SANDBOX_LINUX_SECCOMP_H_
#define SKILLRT_SANDBOX_LINUX_SECCOMP_H_

#include <linux/filter.h>

#include <string>
#include <vector>

#include "skillrt/error.h"

namespace skillrt::seccomp {

/// A compiled classic-BPF program ready for SECCOMP_SET_MODE_FILTER.
struct Program {
  std::vector<sock_filter> instructions;
};

/// The sandbox's filter (AF_UNIX socket pairs and AF_INET/AF_INET6 TCP sockets, whose reach
/// the network namespace bounds; no set-user-ID or set-group-ID file modes), compiled once per
/// process with libseccomp and exported as BPF. Thread-safe. kSandbox if libseccomp fails.
Result<const Program*> Filter();

/// The names of the system calls the filter refuses outright (any arguments), for docs and
/// tests.
std::vector<std::string> DeniedSyscalls();

/// Child side: installs the program for the calling thread, inherited by every descendant.
/// REQUIRES: no_new_privs set. On failure reports on `err_fd` and exits.
void Install(const sock_filter* instructions, size_t count, int err_fd);

}  // namespace skillrt::seccomp

#endif  // SKILLRT_SANDBOX_LINUX_SECCOMP_H_
