/* tcp_listen PORT [ADDR]: bind a TCP socket to ADDR:PORT (default ADDR 0.0.0.0; PORT 0 picks
 * a free port) and listen(2) on it. Succeeds when listening; reports the bound port. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return probe_usage("tcp_listen", "PORT [ADDR]");
  const char* addr = argc == 3 ? argv[2] : "0.0.0.0";
  struct sockaddr_storage ss;
  socklen_t len = probe_parse_addr(addr, argv[1], &ss);
  if (len == 0) return probe_usage("tcp_listen", "PORT [ADDR]");
  struct probe_json j;
  pj_begin(&j, "tcp_listen");
  pj_str(&j, "target", addr);
  int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    pj_str(&j, "stage", "socket");
    return pj_finish(&j, 0, err);
  }
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  if (bind(fd, (struct sockaddr*)&ss, len) != 0) {
    int err = errno;
    pj_str(&j, "stage", "bind");
    return pj_finish(&j, 0, err);
  }
  if (listen(fd, 16) != 0) {
    int err = errno;
    pj_str(&j, "stage", "listen");
    return pj_finish(&j, 0, err);
  }
  struct sockaddr_storage bound;
  socklen_t bound_len = sizeof(bound);
  getsockname(fd, (struct sockaddr*)&bound, &bound_len);
  int port = bound.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6*)&bound)->sin6_port)
                                         : ntohs(((struct sockaddr_in*)&bound)->sin_port);
  pj_int(&j, "port", port);
  close(fd);
  return pj_finish(&j, 1, 0);
}
