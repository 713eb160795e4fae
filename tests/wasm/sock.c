// Socket probe. WASI preview 1 has no call that creates a socket or resolves a name; its only
// socket calls act on descriptors the host handed over. This probe tries each of them on
// every descriptor the guest can name (stdio, the preopens, unused numbers) and prints
//   {"attempts": [{"call": "sock_accept", "fd": 0, "errno": "ENOTSOCK"}, ...], "any_ok": false}
// A host that gave the guest a socket would show up as an attempt without an errno.
#include <wasi/api.h>

#include "probe.h"

static int first = 1, any_ok = 0;

static void Report(const char* call, int fd, __wasi_errno_t e) {
  if (!first) fputs(", ", stdout);
  first = 0;
  printf("{\"call\": \"%s\", \"fd\": %d, ", call, fd);
  PrintResult(e == 0 ? 0 : -1, e);
  putchar('}');
  if (e == 0) any_ok = 1;
}

int main(void) {
  static const int kFds[] = {0, 1, 2, 3, 4, 5, 6, 7, 100, 1000};
  fputs("{\"attempts\": [", stdout);
  for (size_t i = 0; i < sizeof kFds / sizeof kFds[0]; ++i) {
    const int fd = kFds[i];
    __wasi_fd_t accepted = 0;
    Report("sock_accept", fd, __wasi_sock_accept(fd, 0, &accepted));
    char byte = 0;
    __wasi_iovec_t iov = {.buf = (uint8_t*)&byte, .buf_len = 1};
    __wasi_size_t n = 0;
    __wasi_roflags_t roflags = 0;
    if (fd != 0) Report("sock_recv", fd, __wasi_sock_recv(fd, &iov, 1, 0, &n, &roflags));
    __wasi_ciovec_t ciov = {.buf = (const uint8_t*)"x", .buf_len = 1};
    if (fd > 2) Report("sock_send", fd, __wasi_sock_send(fd, &ciov, 1, 0, &n));
    Report("sock_shutdown", fd, __wasi_sock_shutdown(fd, __WASI_SDFLAGS_RD | __WASI_SDFLAGS_WR));
  }
  printf("], \"any_ok\": %s}\n", any_ok ? "true" : "false");
  return 0;
}
