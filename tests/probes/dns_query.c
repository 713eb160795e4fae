/* dns_query RESOLVER [NAME] [PORT] [TIMEOUT_MS]: send a DNS query (RFC 1035 section 4, type A,
 * recursion desired) for NAME (default "example.com") over UDP to the numeric address RESOLVER
 * on PORT (default 53) and wait up to TIMEOUT_MS (default 2000) for a reply with the same
 * id. Succeeds when a reply arrives, whatever its rcode (the answer proves egress). */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <poll.h>

/* Encodes NAME as DNS labels into `out`; returns the length or 0 if it does not fit. */
static size_t EncodeName(const char* name, unsigned char* out, size_t cap) {
  size_t len = 0;
  const char* p = name;
  while (*p) {
    const char* dot = strchr(p, '.');
    size_t label = dot ? (size_t)(dot - p) : strlen(p);
    if (label == 0 || label > 63 || len + label + 2 > cap) return 0;
    out[len++] = (unsigned char)label;
    memcpy(out + len, p, label);
    len += label;
    p += label;
    if (*p == '.') ++p;
  }
  out[len++] = 0;
  return len;
}

int main(int argc, char** argv) {
  static const char kUsage[] = "RESOLVER [NAME] [PORT] [TIMEOUT_MS]";
  if (argc < 2 || argc > 5) return probe_usage("dns_query", kUsage);
  const char* name = argc >= 3 ? argv[2] : "example.com";
  const char* port = argc >= 4 ? argv[3] : "53";
  long long timeout_ms = argc >= 5 ? probe_parse_ll(argv[4]) : 2000;
  struct sockaddr_storage ss;
  socklen_t len = probe_parse_addr(argv[1], port, &ss);
  if (len == 0 || timeout_ms < 0) return probe_usage("dns_query", kUsage);

  unsigned char query[512];
  const uint16_t id = (uint16_t)(getpid() ^ 0x5a5a);
  /* Header: id, flags RD, QDCOUNT 1, ANCOUNT/NSCOUNT/ARCOUNT 0. */
  unsigned char header[12] = {id >> 8, id & 0xff, 0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 0};
  memcpy(query, header, sizeof(header));
  size_t qlen = EncodeName(name, query + 12, sizeof(query) - 12 - 4);
  if (qlen == 0) return probe_usage("dns_query", kUsage);
  qlen += 12;
  query[qlen++] = 0;  /* QTYPE A */
  query[qlen++] = 1;
  query[qlen++] = 0;  /* QCLASS IN */
  query[qlen++] = 1;

  struct probe_json j;
  pj_begin(&j, "dns_query");
  pj_str(&j, "target", argv[1]);
  pj_str(&j, "name", name);
  int fd = socket(ss.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) {
    int err = errno;
    pj_str(&j, "stage", "socket");
    return pj_finish(&j, 0, err);
  }
  if (sendto(fd, query, qlen, 0, (struct sockaddr*)&ss, len) < 0) {
    int err = errno;
    pj_str(&j, "stage", "sendto");
    return pj_finish(&j, 0, err);
  }
  pj_str(&j, "stage", "recv");
  struct pollfd p = {.fd = fd, .events = POLLIN};
  for (;;) {
    int r = poll(&p, 1, (int)timeout_ms);
    if (r == 0) return pj_finish(&j, 0, ETIMEDOUT);
    if (r < 0) return pj_finish(&j, 0, errno);
    unsigned char reply[1500];
    ssize_t n = recv(fd, reply, sizeof(reply), 0);
    if (n < 0) return pj_finish(&j, 0, errno);
    if (n >= 12 && reply[0] == (id >> 8) && reply[1] == (id & 0xff)) {
      pj_int(&j, "rcode", reply[3] & 0x0f);
      pj_int(&j, "answers", (reply[6] << 8) | reply[7]);
      pj_int(&j, "bytes", n);
      close(fd);
      return pj_finish(&j, 1, 0);
    }
  }
}
