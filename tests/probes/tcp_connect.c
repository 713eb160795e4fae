/* tcp_connect HOST PORT [TIMEOUT_MS]: open a TCP connection to the numeric address HOST:PORT
 * (IPv4 or IPv6), waiting at most TIMEOUT_MS (default 2000). Succeeds when the connection is
 * established. "stage" says whether socket(2) or the connect failed. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>
#include <poll.h>

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) return probe_usage("tcp_connect", "HOST PORT [TIMEOUT_MS]");
  long long timeout_ms = argc == 4 ? probe_parse_ll(argv[3]) : 2000;
  struct sockaddr_storage ss;
  socklen_t len = probe_parse_addr(argv[1], argv[2], &ss);
  if (len == 0 || timeout_ms < 0) return probe_usage("tcp_connect", "HOST PORT [TIMEOUT_MS]");
  struct probe_json j;
  pj_begin(&j, "tcp_connect");
  pj_str(&j, "target", argv[1]);
  pj_str(&j, "port", argv[2]);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    pj_str(&j, "stage", "socket");
    return pj_finish(&j, 0, err);
  }
  pj_str(&j, "stage", "connect");
  if (connect(fd, (struct sockaddr*)&ss, len) != 0) {
    if (errno != EINPROGRESS) return pj_finish(&j, 0, errno);
    struct pollfd p = {.fd = fd, .events = POLLOUT};
    int r = poll(&p, 1, (int)timeout_ms);
    if (r == 0) return pj_finish(&j, 0, ETIMEDOUT);
    if (r < 0) return pj_finish(&j, 0, errno);
    int err = 0;
    socklen_t err_len = sizeof(err);
    getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &err_len);
    if (err != 0) return pj_finish(&j, 0, err);
  }
  close(fd);
  return pj_finish(&j, 1, 0);
}
