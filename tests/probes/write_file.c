/* write_file PATH [TEXT]: create (or truncate) PATH and write TEXT (default "probe\n") to it.
 * Succeeds when every byte was written and the file closed cleanly. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return probe_usage("write_file", "PATH [TEXT]");
  const char* text = argc == 3 ? argv[2] : "probe\n";
  struct probe_json j;
  pj_begin(&j, "write_file");
  pj_str(&j, "target", argv[1]);
  int fd = open(argv[1], O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return pj_finish(&j, 0, errno);
  size_t len = strlen(text);
  ssize_t n = write(fd, text, len);
  int err = errno;
  if (close(fd) != 0 && n >= 0) {
    err = errno;
    n = -1;
  }
  if (n < 0) return pj_finish(&j, 0, err);
  pj_int(&j, "bytes", n);
  return pj_finish(&j, (size_t)n == len, (size_t)n == len ? 0 : EIO);
}
