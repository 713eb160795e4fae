/* Shared helpers of the sandbox probe programs (the C files in tests/probes/).
 *
 * A probe attempts one hostile action and prints exactly one line of JSON on stdout that says
 * what happened, e.g.
 *   {"probe":"read_file","target":"/etc/shadow","ok":false,"errno":"EACCES"}
 * It exits 0 when the action SUCCEEDED and 1 when it was BLOCKED, so the same probe is a
 * positive control outside the sandbox and a check inside it. Exit code 2 means the probe was
 * called wrongly (bad arguments). This header is included by every probe; it is not a probe
 * itself (CMake builds only the .c files). Include it first: it defines _GNU_SOURCE. */
#ifndef SKILLRT_TESTS_PROBES_PROBE_H_
#define SKILLRT_TESTS_PROBES_PROBE_H_

#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <sched.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

enum { kProbeSucceeded = 0, kProbeBlocked = 1, kProbeUsage = 2 };

/* A growable JSON line: the probe appends fields and finally prints it. */
struct probe_json {
  char buf[65536];
  size_t len;
  int truncated;
};

static inline void pj_raw(struct probe_json* j, const char* s, size_t n) {
  /* 128 bytes stay free for the closing "ok"/"errno"/"truncated" fields. */
  if (j->len + n + 128 >= sizeof(j->buf)) {
    j->truncated = 1;
    return;
  }
  memcpy(j->buf + j->len, s, n);
  j->len += n;
  j->buf[j->len] = '\0';
}

static inline void pj_rawf(struct probe_json* j, const char* fmt, ...) {
  char tmp[512];
  va_list ap;
  va_start(ap, fmt);
  int n = vsnprintf(tmp, sizeof(tmp), fmt, ap);
  va_end(ap);
  if (n > 0) pj_raw(j, tmp, (size_t)n < sizeof(tmp) ? (size_t)n : sizeof(tmp) - 1);
}

/* Appends `s` as a JSON string literal (quotes included), escaping per RFC 8259. */
static inline void pj_string(struct probe_json* j, const char* s) {
  pj_raw(j, "\"", 1);
  for (const unsigned char* p = (const unsigned char*)s; *p; ++p) {
    switch (*p) {
      case '"': pj_raw(j, "\\\"", 2); break;
      case '\\': pj_raw(j, "\\\\", 2); break;
      case '\n': pj_raw(j, "\\n", 2); break;
      case '\r': pj_raw(j, "\\r", 2); break;
      case '\t': pj_raw(j, "\\t", 2); break;
      default:
        if (*p < 0x20 || *p >= 0x7f) {
          /* Non-ASCII bytes are escaped one by one so that the line stays valid JSON even
           * when the probe reads arbitrary binary content. */
          pj_rawf(j, "\\u%04x", *p);
        } else {
          pj_raw(j, (const char*)p, 1);
        }
    }
  }
  pj_raw(j, "\"", 1);
}

/* Starts the object: {"probe":NAME */
static inline void pj_begin(struct probe_json* j, const char* probe) {
  j->len = 0;
  j->truncated = 0;
  j->buf[0] = '\0';
  pj_raw(j, "{\"probe\":", 9);
  pj_string(j, probe);
}

static inline void pj_key(struct probe_json* j, const char* key) {
  pj_raw(j, ",", 1);
  pj_string(j, key);
  pj_raw(j, ":", 1);
}

static inline void pj_str(struct probe_json* j, const char* key, const char* value) {
  pj_key(j, key);
  pj_string(j, value);
}

static inline void pj_int(struct probe_json* j, const char* key, long long value) {
  pj_key(j, key);
  pj_rawf(j, "%lld", value);
}

static inline void pj_bool(struct probe_json* j, const char* key, int value) {
  pj_key(j, key);
  pj_raw(j, value ? "true" : "false", value ? 4 : 5);
}

/* The symbolic name of an errno value ("EACCES"), or "E<number>" if glibc does not know it. */
static inline const char* probe_errno_name(int err) {
  static char fallback[32];
  const char* name = strerrorname_np(err);
  if (name) return name;
  snprintf(fallback, sizeof(fallback), "E%d", err);
  return fallback;
}

/* Adds "ok" and, when blocked, "errno"; prints the line; returns the exit code. */
static inline int pj_finish(struct probe_json* j, int ok, int err) {
  int truncated = j->truncated;
  /* The reserve kept by pj_raw guarantees that the fields below fit. */
  j->truncated = 0;
  j->len += (size_t)snprintf(j->buf + j->len, sizeof(j->buf) - j->len, ",\"ok\":%s%s%s%s}\n",
                             ok ? "true" : "false", !ok && err ? ",\"errno\":\"" : "",
                             !ok && err ? probe_errno_name(err) : "", !ok && err ? "\"" : "");
  if (truncated) {
    /* Re-open the object to flag that some fields were dropped. */
    j->len -= 2;
    j->len += (size_t)snprintf(j->buf + j->len, sizeof(j->buf) - j->len, ",\"truncated\":true}\n");
  }
  /* One write(2) so that the line is not interleaved with anything else. */
  const char* p = j->buf;
  size_t left = j->len;
  while (left > 0) {
    ssize_t n = write(1, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      break;
    }
    p += n;
    left -= (size_t)n;
  }
  return ok ? kProbeSucceeded : kProbeBlocked;
}

/* Prints a usage line on stderr and returns kProbeUsage. */
static inline int probe_usage(const char* probe, const char* args) {
  fprintf(stderr, "usage: %s %s\n", probe, args);
  return kProbeUsage;
}

/* Parses a non-negative decimal integer; returns -1 on malformed input. */
static inline long long probe_parse_ll(const char* s) {
  if (s == NULL || *s == '\0') return -1;
  char* end = NULL;
  errno = 0;
  long long v = strtoll(s, &end, 10);
  if (errno != 0 || *end != '\0' || v < 0) return -1;
  return v;
}

/* Parses a numeric IPv4 or IPv6 address and PORT into `ss`; returns the socket length, or 0
 * if HOST is not a numeric address. Names are not resolved: a static probe has no NSS. */
static inline socklen_t probe_parse_addr(const char* host, const char* port_text,
                                         struct sockaddr_storage* ss) {
  long long port = probe_parse_ll(port_text);
  if (port < 0 || port > 65535) return 0;
  memset(ss, 0, sizeof(*ss));
  struct sockaddr_in* in4 = (struct sockaddr_in*)ss;
  if (inet_pton(AF_INET, host, &in4->sin_addr) == 1) {
    in4->sin_family = AF_INET;
    in4->sin_port = htons((uint16_t)port);
    return sizeof(*in4);
  }
  struct sockaddr_in6* in6 = (struct sockaddr_in6*)ss;
  if (inet_pton(AF_INET6, host, &in6->sin6_addr) == 1) {
    in6->sin6_family = AF_INET6;
    in6->sin6_port = htons((uint16_t)port);
    return sizeof(*in6);
  }
  return 0;
}

/* Parses a comma-separated list of namespace names ("user,mnt,net,pid,ipc,uts,cgroup,time")
 * into CLONE_NEW* flags; returns -1 on an unknown name. */
static inline long probe_parse_ns_flags(const char* list) {
  static const struct {
    const char* name;
    long flag;
  } kNames[] = {{"user", CLONE_NEWUSER}, {"mnt", CLONE_NEWNS},   {"net", CLONE_NEWNET},
                {"pid", CLONE_NEWPID},   {"ipc", CLONE_NEWIPC},  {"uts", CLONE_NEWUTS},
                {"cgroup", CLONE_NEWCGROUP}, {"time", 0x00000080 /* CLONE_NEWTIME */}};
  long flags = 0;
  const char* p = list;
  while (*p) {
    const char* end = strchr(p, ',');
    size_t len = end ? (size_t)(end - p) : strlen(p);
    int found = 0;
    for (size_t i = 0; i < sizeof(kNames) / sizeof(kNames[0]); ++i) {
      if (strlen(kNames[i].name) == len && strncmp(kNames[i].name, p, len) == 0) {
        flags |= kNames[i].flag;
        found = 1;
      }
    }
    if (!found) return -1;
    p += len;
    if (*p == ',') ++p;
  }
  return flags;
}

#endif /* SKILLRT_TESTS_PROBES_PROBE_H_ */
