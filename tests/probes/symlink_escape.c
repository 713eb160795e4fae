/* symlink_escape TARGET [LINK]: create the symlink LINK (default /tmp/escape-link) pointing
 * to TARGET, then open and read through it. Succeeds when data of TARGET could be read via
 * the link. "stage" says which step failed: "symlink" or "open"/"read". */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return probe_usage("symlink_escape", "TARGET [LINK]");
  const char* link_path = argc == 3 ? argv[2] : "/tmp/escape-link";
  struct probe_json j;
  pj_begin(&j, "symlink_escape");
  pj_str(&j, "target", argv[1]);
  pj_str(&j, "link", link_path);
  unlink(link_path);
  if (symlink(argv[1], link_path) != 0) {
    int err = errno;
    pj_str(&j, "stage", "symlink");
    return pj_finish(&j, 0, err);
  }
  int fd = open(link_path, O_RDONLY | O_CLOEXEC);
  int err = errno;
  unlink(link_path);
  if (fd < 0) {
    pj_str(&j, "stage", "open");
    return pj_finish(&j, 0, err);
  }
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  err = errno;
  close(fd);
  if (n < 0) {
    pj_str(&j, "stage", "read");
    return pj_finish(&j, 0, err);
  }
  buf[n] = '\0';
  pj_int(&j, "bytes", n);
  pj_str(&j, "head", buf);
  return pj_finish(&j, 1, 0);
}
