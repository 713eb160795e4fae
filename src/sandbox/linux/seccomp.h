// The seccomp filter: system calls a skill never needs and that widen the kernel's attack
// surface or escape the other layers are refused (seccomp(2), seccomp_rule_add(3)).
#ifndef SKILLRT_SANDBOX_LINUX_SECCOMP_H_
#define SKILLRT_SANDBOX_LINUX_SECCOMP_H_

#include <linux/filter.h>

#include <filesystem>
#include <string>
#include <vector>

#include "skillrt/error.h"

namespace skillrt::seccomp {

/// A compiled classic-BPF program ready for SECCOMP_SET_MODE_FILTER.
struct Program {
  std::vector<sock_filter> instructions;
};

/// Same instructions, in order.
bool operator==(const Program& a, const Program& b);

/// Loads libseccomp, where the build loads it at its first call rather than at start-up
/// (seccomp_library.cc), once per process; later calls return the first call's result.
/// Thread-safe. kUnsupported naming the library when it cannot be loaded.
Result<void> LoadLibrary();

/// The sandbox's filter (AF_UNIX socket pairs and AF_INET/AF_INET6 TCP sockets, whose reach
/// the network namespace bounds; no set-user-ID or set-group-ID file modes), made once per
/// process. With a `cache_dir`, the program kept there for this build, libseccomp and kernel
/// is used when it can be trusted (seccomp_cache.h); otherwise it is compiled and kept there
/// for the next process. The first call decides; later calls return the same program whatever
/// they pass. Thread-safe. kSandbox if libseccomp fails; LoadLibrary's error when it cannot
/// be loaded.
Result<const Program*> Filter(const std::filesystem::path& cache_dir = {});

/// Compiles the filter with libseccomp and exports it as BPF, every time (Filter keeps the
/// result). kSandbox if libseccomp fails.
Result<Program> Compile();

/// The names of the system calls the filter refuses outright (any arguments), for docs and
/// tests.
std::vector<std::string> DeniedSyscalls();

/// Child side: installs the program for the calling thread, inherited by every descendant.
/// REQUIRES: no_new_privs set. On failure reports on `err_fd` and exits.
void Install(const sock_filter* instructions, size_t count, int err_fd);

}  // namespace skillrt::seccomp

#endif  // SKILLRT_SANDBOX_LINUX_SECCOMP_H_
