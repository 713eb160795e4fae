/* unix_connect PATH: connect(2) to the Unix stream socket at PATH, as a client of a host
 * service would. Succeeds when the connection is made. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <sys/socket.h>
#include <sys/un.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("unix_connect", "PATH");
  struct probe_json j;
  pj_begin(&j, "unix_connect");
  pj_str(&j, "target", argv[1]);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return pj_finish(&j, 0, errno);
  struct sockaddr_un addr;
  memset(&addr, 0, sizeof(addr));
  addr.sun_family = AF_UNIX;
  strncpy(addr.sun_path, argv[1], sizeof(addr.sun_path) - 1);
  int ok = connect(fd, (struct sockaddr*)&addr, sizeof(addr)) == 0;
  int err = ok ? 0 : errno;
  close(fd);
  return pj_finish(&j, ok, err);
}
