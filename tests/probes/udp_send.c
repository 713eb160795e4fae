/* udp_send HOST PORT: send one UDP datagram to the numeric address HOST:PORT. Succeeds when
 * sendto(2) accepted the datagram (UDP gives no delivery guarantee, so this is the most a
 * sender can observe). */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc != 3) return probe_usage("udp_send", "HOST PORT");
  struct sockaddr_storage ss;
  socklen_t len = probe_parse_addr(argv[1], argv[2], &ss);
  if (len == 0) return probe_usage("udp_send", "HOST PORT");
  struct probe_json j;
  pj_begin(&j, "udp_send");
  pj_str(&j, "target", argv[1]);
  pj_str(&j, "port", argv[2]);
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    pj_str(&j, "stage", "socket");
    return pj_finish(&j, 0, err);
  }
  pj_str(&j, "stage", "sendto");
  static const char kPayload[] = "skillrt udp probe";
  ssize_t n = sendto(fd, kPayload, sizeof(kPayload) - 1, 0, (struct sockaddr*)&ss, len);
  int err = errno;
  close(fd);
  if (n < 0) return pj_finish(&j, 0, err);
  pj_int(&j, "bytes", n);
  return pj_finish(&j, 1, 0);
}
