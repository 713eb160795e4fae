/* whoami_uid: report the real and effective user and group ids. Succeeds (exit 0) when the
 * effective uid is 0, i.e. the process holds root's identity: run through a setuid-root copy
 * this shows whether the setuid bit took effect. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(void) {
  struct probe_json j;
  pj_begin(&j, "whoami_uid");
  pj_int(&j, "uid", getuid());
  pj_int(&j, "euid", geteuid());
  pj_int(&j, "gid", getgid());
  pj_int(&j, "egid", getegid());
  return pj_finish(&j, geteuid() == 0, geteuid() == 0 ? 0 : EPERM);
}
