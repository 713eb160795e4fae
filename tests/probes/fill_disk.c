/* fill_disk PATH MB: write MB mebibytes of zeros to the new file PATH in 1 MiB writes, then
 * fsync. Succeeds when all of it was written. Passing RLIMIT_FSIZE raises SIGXFSZ (which by
 * default kills the probe before it reports) or, if ignored, EFBIG; a full tmpfs gives ENOSPC. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  if (argc != 3) return probe_usage("fill_disk", "PATH MB");
  long long mb = probe_parse_ll(argv[2]);
  if (mb < 0) return probe_usage("fill_disk", "PATH MB");
  struct probe_json j;
  pj_begin(&j, "fill_disk");
  pj_str(&j, "target", argv[1]);
  pj_int(&j, "mb", mb);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return pj_finish(&j, 0, errno);
  static char block[1 << 20];
  long long written = 0;
  int err = 0;
  while (written < (mb << 20)) {
    ssize_t n = write(fd, block, sizeof(block));
    if (n < 0) {
      if (errno == EINTR) continue;
      err = errno;
      break;
    }
    written += n;
  }
  if (err == 0 && fsync(fd) != 0) err = errno;
  close(fd);
  pj_int(&j, "written", written);
  return pj_finish(&j, err == 0, err);
}
