// Raw system call wrappers for calls that glibc 2.36 does not wrap, and helpers that are
// safe to use in the child between clone and execve (no allocation, no locks, no errno
// translation beyond returning it).
#ifndef SKILLRT_SANDBOX_LINUX_SYS_H_
#define SKILLRT_SANDBOX_LINUX_SYS_H_

#include <errno.h>
#include <linux/sched.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/syscall.h>
#include <unistd.h>

namespace skillrt::sys {

/// clone3(2). With `args->stack == 0` the child continues on a copy of the caller's stack,
/// like fork(2), and the call returns 0 in the child.
inline long Clone3(struct clone_args* args) {
  return syscall(SYS_clone3, args, sizeof(*args));
}

/// pivot_root(2).
inline int PivotRoot(const char* new_root, const char* put_old) {
  return static_cast<int>(syscall(SYS_pivot_root, new_root, put_old));
}

/// pidfd_send_signal(2).
inline int PidfdSendSignal(int pidfd, int sig) {
  return static_cast<int>(syscall(SYS_pidfd_send_signal, pidfd, sig, nullptr, 0));
}

/// close_range(2).
inline int CloseRange(unsigned first, unsigned last) {
  return static_cast<int>(syscall(SYS_close_range, first, last, 0));
}

/// Async-signal-safe length of a C string.
inline size_t StrLen(const char* s) {
  size_t n = 0;
  while (s[n] != '\0') ++n;
  return n;
}

/// Async-signal-safe copy of `src` into `dst[cap]`, always NUL-terminated; returns the end.
inline char* StrCopy(char* dst, size_t cap, const char* src) {
  size_t i = 0;
  for (; src[i] != '\0' && i + 1 < cap; ++i) dst[i] = src[i];
  dst[i] = '\0';
  return dst + i;
}

/// Async-signal-safe "/proc/self/fd/<fd>" into `buf` (at least 32 bytes).
inline const char* FdPath(char* buf, int fd) {
  char digits[12];
  int n = 0;
  unsigned v = static_cast<unsigned>(fd);
  do {
    digits[n++] = static_cast<char>('0' + v % 10);
    v /= 10;
  } while (v != 0);
  char* p = StrCopy(buf, 32, "/proc/self/fd/");
  while (n > 0) *p++ = digits[--n];
  *p = '\0';
  return buf;
}

/// Writes all of `data` to `fd`, retrying on EINTR and short writes. Returns 0 or -errno.
inline int WriteAll(int fd, const void* data, size_t len) {
  const char* p = static_cast<const char*>(data);
  while (len > 0) {
    ssize_t n = ::write(fd, p, len);
    if (n < 0) {
      if (errno == EINTR) continue;
      return -errno;
    }
    p += n;
    len -= static_cast<size_t>(n);
  }
  return 0;
}

}  // namespace skillrt::sys

#endif  // SKILLRT_SANDBOX_LINUX_SYS_H_
