/* loopback_echo [ADDR]: listen on ADDR (default 127.0.0.1) on a port the kernel picks, connect
 * to it from the same process, accept, and send one byte across. Succeeds when the byte
 * arrived: a server and a client on the loopback of the probe's own network namespace. */
#include "probe.h" /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("loopback_echo", "[ADDR]");
  const char* addr = argc == 2 ? argv[1] : "127.0.0.1";
  struct sockaddr_storage ss;
  socklen_t len = probe_parse_addr(addr, "0", &ss);
  if (len == 0) return probe_usage("loopback_echo", "[ADDR]");
  struct probe_json j;
  pj_begin(&j, "loopback_echo");
  pj_str(&j, "target", addr);
  int server = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (server < 0) {
    int err = errno;
    pj_str(&j, "stage", "socket");
    return pj_finish(&j, 0, err);
  }
  if (bind(server, (struct sockaddr*)&ss, len) != 0 || listen(server, 4) != 0) {
    int err = errno;
    pj_str(&j, "stage", "listen");
    return pj_finish(&j, 0, err);
  }
  socklen_t bound_len = sizeof(ss);
  getsockname(server, (struct sockaddr*)&ss, &bound_len);
  int client = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
  /* The backlog holds the connection until accept(2), so one thread suffices. */
  if (client < 0 || connect(client, (struct sockaddr*)&ss, bound_len) != 0) {
    int err = errno;
    pj_str(&j, "stage", "connect");
    return pj_finish(&j, 0, err);
  }
  int conn = accept4(server, NULL, NULL, SOCK_CLOEXEC);
  char byte = 'x', got = 0;
  if (conn < 0 || write(client, &byte, 1) != 1 || read(conn, &got, 1) != 1 || got != 'x') {
    int err = errno ? errno : EIO;
    pj_str(&j, "stage", "transfer");
    return pj_finish(&j, 0, err);
  }
  int port = ss.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6*)&ss)->sin6_port)
                                      : ntohs(((struct sockaddr_in*)&ss)->sin_port);
  pj_int(&j, "port", port);
  return pj_finish(&j, 1, 0);
}
