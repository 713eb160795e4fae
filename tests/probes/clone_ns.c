/* clone_ns [FLAGS]: the raw clone(2) system call with CLONE_NEW* flags (comma-separated
 * names as for unshare_try; default "mnt") plus SIGCHLD; the child exits at once. Succeeds
 * when the child was created. Covers filters that check clone's flags but not unshare's. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <signal.h>
#include <sys/syscall.h>
#include <sys/wait.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("clone_ns", "[FLAGS]");
  const char* names = argc == 2 ? argv[1] : "mnt";
  long flags = probe_parse_ns_flags(names);
  if (flags <= 0) return probe_usage("clone_ns", "[user,mnt,net,pid,ipc,uts,cgroup]");
  struct probe_json j;
  pj_begin(&j, "clone_ns");
  pj_str(&j, "target", names);
  /* x86-64 argument order: flags, stack, parent_tid, child_tid, tls. A NULL stack makes the
   * child run on a copy of the parent's stack, like fork(2). */
  long pid = syscall(SYS_clone, flags | SIGCHLD, 0, 0, 0, 0);
  if (pid < 0) return pj_finish(&j, 0, errno);
  if (pid == 0) _exit(0);
  waitpid((pid_t)pid, NULL, 0);
  return pj_finish(&j, 1, 0);
}
