/* output_flood BYTES: write BYTES bytes ('A'...'Z' repeating, a newline every 64) to stdout
 * as fast as possible. Because stdout carries the flood, the report goes to STDERR. Succeeds
 * when every byte was written; a closed pipe gives EPIPE (SIGPIPE is ignored). */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <signal.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("output_flood", "BYTES");
  long long total = probe_parse_ll(argv[1]);
  if (total < 0) return probe_usage("output_flood", "BYTES");
  signal(SIGPIPE, SIG_IGN);
  static char chunk[65536];
  for (size_t i = 0; i < sizeof(chunk); ++i) chunk[i] = (i % 64 == 63) ? '\n' : 'A' + i % 26;
  long long written = 0;
  int err = 0;
  while (written < total) {
    size_t want = total - written < (long long)sizeof(chunk) ? (size_t)(total - written)
                                                             : sizeof(chunk);
    ssize_t n = write(1, chunk, want);
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    written += n;
  }
  struct probe_json j;
  pj_begin(&j, "output_flood");
  pj_int(&j, "target", total);
  pj_int(&j, "written", written);
  pj_bool(&j, "ok", written == total);
  if (err) pj_str(&j, "errno", probe_errno_name(err));
  pj_raw(&j, "}\n", 2);
  write(2, j.buf, j.len);
  return written == total ? kProbeSucceeded : kProbeBlocked;
}
