/* inherited_fd: look for open file descriptors beyond 0-2 (fcntl(F_GETFD) on 3..1023) and
 * report each with what /proc/self/fd says it refers to. Succeeds when any is open, i.e. a
 * descriptor leaked into this process. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  (void)argv;
  if (argc != 1) return probe_usage("inherited_fd", "");
  struct probe_json j;
  pj_begin(&j, "inherited_fd");
  pj_key(&j, "fds");
  pj_raw(&j, "[", 1);
  int count = 0;
  for (int fd = 3; fd < 1024; ++fd) {
    if (fcntl(fd, F_GETFD) < 0) continue;
    char link[64];
    char target[512];
    snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
    ssize_t n = readlink(link, target, sizeof(target) - 1);
    target[n > 0 ? n : 0] = '\0';
    if (count++ > 0) pj_raw(&j, ",", 1);
    pj_rawf(&j, "{\"fd\":%d,\"target\":", fd);
    pj_string(&j, target);
    pj_raw(&j, "}", 1);
  }
  pj_raw(&j, "]", 1);
  pj_int(&j, "count", count);
  return pj_finish(&j, count > 0, count > 0 ? 0 : EBADF);
}
