// Interrupting WASI calls that wait in the kernel (host_wait.h).
#include "wasm/host_wait.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "skillrt/fd.h"

namespace skillrt::wasm {
namespace {

// A real-time signal near the top of the range: glibc and the usual libraries take theirs
// from SIGRTMIN upwards.
int InterruptSignal() { return SIGRTMAX - 2; }

// The system calls through which a WASI file operation can wait without end: opening a FIFO
// or a device. Reads and writes are not among them (wasmtime-wasi uses pread/pwrite, which
// FIFOs and terminals refuse with ESPIPE), and signalling tokio's own threads while they read
// or write their wake-up descriptors would make those calls fail.
constexpr long kOpenCalls[] = {
#ifdef SYS_open
    SYS_open,
#endif
    SYS_openat,
#ifdef SYS_openat2
    SYS_openat2,
#else
    437,  // openat2(2), Linux 5.6; the same number on every architecture.
#endif
};

void DoNothing(int) {}

std::once_flag install_once;
bool installed = false;

// The contents of a small /proc file (up to 255 bytes), or "" when it cannot be read.
std::string ReadSmall(const std::string& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return "";
  char buffer[256];
  const ssize_t n = ::read(fd.get(), buffer, sizeof buffer - 1);
  return n > 0 ? std::string(buffer, static_cast<size_t>(n)) : "";
}

bool InOpenCall(const std::string& syscall_line) {
  // "<nr> <arg0> ... <sp> <pc>" while blocked in a system call; "running" or "-1 ..." if not.
  char* end = nullptr;
  const long nr = std::strtol(syscall_line.c_str(), &end, 10);
  if (end == syscall_line.c_str()) return false;
  for (long call : kOpenCalls) {
    if (nr == call) return true;
  }
  return false;
}

}  // namespace

bool InstallHostWaitInterrupt() {
  std::call_once(install_once, [] {
    struct sigaction old = {};
    if (::sigaction(InterruptSignal(), nullptr, &old) != 0) return;
    if ((old.sa_flags & SA_SIGINFO) != 0 || old.sa_handler != SIG_DFL) return;
    struct sigaction action = {};
    action.sa_handler = DoNothing;
    ::sigemptyset(&action.sa_mask);
    action.sa_flags = 0;  // No SA_RESTART: the interrupted call fails with EINTR.
    installed = ::sigaction(InterruptSignal(), &action, nullptr) == 0;
  });
  return installed;
}

int InterruptHostWaits() {
  if (!InstallHostWaitInterrupt()) return 0;
  std::unique_ptr<DIR, int (*)(DIR*)> tasks(::opendir("/proc/self/task"), ::closedir);
  if (!tasks) return 0;
  const pid_t pid = ::getpid();
  int signalled = 0;
  while (const struct dirent* entry = ::readdir(tasks.get())) {
    char* end = nullptr;
    const long tid = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0') continue;
    const std::string dir = std::string("/proc/self/task/") + entry->d_name;
    // tokio names its threads "tokio-rt-worker" (1.4x and later; "tokio-runtime-worker",
    // shortened by the kernel to 15 bytes, before).
    if (!ReadSmall(dir + "/comm").starts_with("tokio-r")) continue;
    if (!InOpenCall(ReadSmall(dir + "/syscall"))) continue;
    if (::syscall(SYS_tgkill, pid, tid, InterruptSignal()) == 0) ++signalled;
  }
  return signalled;
}

}  // namespace skillrt::wasm
