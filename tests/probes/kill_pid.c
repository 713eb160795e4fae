/* kill_pid PID [SIG]: send signal number SIG (default 0, which only checks permission) to
 * PID with kill(2). Succeeds when the kernel accepted the signal. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <signal.h>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) return probe_usage("kill_pid", "PID [SIG]");
  long long pid = probe_parse_ll(argv[1]);
  long long sig = argc == 3 ? probe_parse_ll(argv[2]) : 0;
  if (pid <= 0 || sig < 0 || sig > 64) return probe_usage("kill_pid", "PID [SIG]");
  struct probe_json j;
  pj_begin(&j, "kill_pid");
  pj_int(&j, "target", pid);
  pj_int(&j, "signal", sig);
  if (kill((pid_t)pid, (int)sig) != 0) return pj_finish(&j, 0, errno);
  return pj_finish(&j, 1, 0);
}
