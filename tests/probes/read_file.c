/* read_file PATH: open(2) PATH read-only and read up to 4 KiB of it. Succeeds when the read
 * returns data or end of file; reports the first bytes read (escaped) as "head". Also serves
 * `..` traversal checks: read_file /skill/../../etc/shadow. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("read_file", "PATH");
  struct probe_json j;
  pj_begin(&j, "read_file");
  pj_str(&j, "target", argv[1]);
  int fd = open(argv[1], O_RDONLY | O_CLOEXEC);
  if (fd < 0) return pj_finish(&j, 0, errno);
  char buf[4096];
  ssize_t n = read(fd, buf, sizeof(buf) - 1);
  int err = errno;
  close(fd);
  if (n < 0) return pj_finish(&j, 0, err);
  buf[n] = '\0';
  pj_int(&j, "bytes", n);
  pj_str(&j, "head", buf);
  return pj_finish(&j, 1, 0);
}
