/* exec_try PATH [ARGS...]: start PATH in a child with execv(2) (its stdout redirected to
 * stderr, so this probe's report stays alone on stdout) and wait for it. Succeeds when the
 * exec succeeded, whatever PATH then did; reports PATH's exit status. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <fcntl.h>
#include <sys/wait.h>

int main(int argc, char** argv) {
  if (argc < 2) return probe_usage("exec_try", "PATH [ARGS...]");
  struct probe_json j;
  pj_begin(&j, "exec_try");
  pj_str(&j, "target", argv[1]);
  /* The child reports a failed exec through a close-on-exec pipe: a successful exec closes
   * it with nothing written. */
  int fds[2];
  if (pipe2(fds, O_CLOEXEC) != 0) return pj_finish(&j, 0, errno);
  pid_t pid = fork();
  if (pid < 0) return pj_finish(&j, 0, errno);
  if (pid == 0) {
    close(fds[0]);
    dup2(2, 1);
    execv(argv[1], argv + 1);
    int err = errno;
    write(fds[1], &err, sizeof(err));
    _exit(127);
  }
  close(fds[1]);
  int child_err = 0;
  ssize_t n;
  do {
    n = read(fds[0], &child_err, sizeof(child_err));
  } while (n < 0 && errno == EINTR);
  close(fds[0]);
  int status = 0;
  waitpid(pid, &status, 0);
  if (n == (ssize_t)sizeof(child_err)) return pj_finish(&j, 0, child_err);
  if (WIFEXITED(status)) pj_int(&j, "exit", WEXITSTATUS(status));
  if (WIFSIGNALED(status)) pj_int(&j, "signal", WTERMSIG(status));
  return pj_finish(&j, 1, 0);
}
