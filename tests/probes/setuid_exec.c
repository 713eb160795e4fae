/* setuid_exec PATH [ARGS...]: execv(2) PATH (a setuid-root program, typically a setuid copy of
 * whoami_uid) in place of this process, so that PATH's own report is the output. If the
 * exec itself fails, reports its errno and exits 1. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc < 2) return probe_usage("setuid_exec", "PATH [ARGS...]");
  execv(argv[1], argv + 1);
  int err = errno;
  struct probe_json j;
  pj_begin(&j, "setuid_exec");
  pj_str(&j, "target", argv[1]);
  return pj_finish(&j, 0, err);
}
