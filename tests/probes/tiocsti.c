/* tiocsti [PATH]: push the byte 'x' into a terminal's input queue with ioctl(TIOCSTI) (a
 * classic sandbox escape: the injected keystrokes are read by the shell outside). Tries
 * stdin, then PATH (default /dev/tty). Succeeds when either ioctl succeeded; reports the
 * errno of each attempt. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>
#include <sys/ioctl.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("tiocsti", "[PATH]");
  const char* path = argc == 2 ? argv[1] : "/dev/tty";
  const char c = 'x';
  struct probe_json j;
  pj_begin(&j, "tiocsti");
  pj_str(&j, "target", path);
  int ok = 0;
  int err = 0;
  if (ioctl(0, TIOCSTI, &c) == 0) {
    ok = 1;
    pj_bool(&j, "stdin", 1);
  } else {
    err = errno;
    pj_str(&j, "stdin", probe_errno_name(err));
  }
  int fd = open(path, O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) {
    if (!ok) err = errno;
    pj_str(&j, "open", probe_errno_name(errno));
  } else if (ioctl(fd, TIOCSTI, &c) == 0) {
    ok = 1;
    pj_bool(&j, "tty", 1);
  } else {
    if (!ok) err = errno;
    pj_str(&j, "tty", probe_errno_name(errno));
  }
  if (fd >= 0) close(fd);
  return pj_finish(&j, ok, err);
}
