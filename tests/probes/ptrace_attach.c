/* ptrace_attach PID: PTRACE_SEIZE the process PID (ptrace(2)), then detach. Succeeds when the
 * tracer attached; the target is not stopped by PTRACE_SEIZE and is left running. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <sys/ptrace.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("ptrace_attach", "PID");
  long long pid = probe_parse_ll(argv[1]);
  if (pid <= 0) return probe_usage("ptrace_attach", "PID");
  struct probe_json j;
  pj_begin(&j, "ptrace_attach");
  pj_int(&j, "target", pid);
  if (ptrace(PTRACE_SEIZE, (pid_t)pid, 0, 0) != 0) return pj_finish(&j, 0, errno);
  ptrace(PTRACE_DETACH, (pid_t)pid, 0, 0);
  return pj_finish(&j, 1, 0);
}
