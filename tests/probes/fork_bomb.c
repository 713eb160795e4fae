/* fork_bomb [N]: fork(2) up to N children (default and maximum 100000) that each sleep until
 * killed, stopping at the first failure. Reports how many forks succeeded and the errno of
 * the failure, then kills and reaps every child. Succeeds when all N forks succeeded, so a
 * small N is a safe positive control. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("fork_bomb", "[N]");
  long long n = argc == 2 ? probe_parse_ll(argv[1]) : 100000;
  if (n <= 0 || n > 100000) return probe_usage("fork_bomb", "[N] (1..100000)");
  pid_t* children = calloc((size_t)n, sizeof(pid_t));
  if (children == NULL) return probe_usage("fork_bomb", "[N]: out of memory");
  struct probe_json j;
  pj_begin(&j, "fork_bomb");
  pj_int(&j, "target", n);
  long long forked = 0;
  int err = 0;
  const pid_t parent = getpid();
  for (; forked < n; ++forked) {
    pid_t pid = fork();
    if (pid < 0) {
      err = errno;
      break;
    }
    if (pid == 0) {
      /* The child dies with the probe even if the probe is killed before it reaps. */
      prctl(PR_SET_PDEATHSIG, SIGKILL);
      if (getppid() != parent) _exit(0);
      for (;;) pause();
    }
    children[forked] = pid;
  }
  for (long long i = 0; i < forked; ++i) kill(children[i], SIGKILL);
  for (long long i = 0; i < forked; ++i) waitpid(children[i], NULL, 0);
  free(children);
  pj_int(&j, "forked", forked);
  return pj_finish(&j, forked == n, err);
}
