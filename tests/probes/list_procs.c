/* list_procs [PID]: list the numeric entries of /proc (the processes this process can see)
 * as "pids". With PID, succeeds when /proc/PID is among them (e.g. a host process that the
 * sandbox must not see); without, succeeds when /proc could be listed at all. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <ctype.h>
#include <dirent.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("list_procs", "[PID]");
  long long wanted = argc == 2 ? probe_parse_ll(argv[1]) : -1;
  if (argc == 2 && wanted <= 0) return probe_usage("list_procs", "[PID]");
  struct probe_json j;
  pj_begin(&j, "list_procs");
  if (wanted > 0) pj_int(&j, "target", wanted);
  pj_int(&j, "self", getpid());
  DIR* dir = opendir("/proc");
  if (dir == NULL) return pj_finish(&j, 0, errno);
  pj_key(&j, "pids");
  pj_raw(&j, "[", 1);
  int count = 0;
  int found = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (!isdigit((unsigned char)e->d_name[0])) continue;
    long long pid = probe_parse_ll(e->d_name);
    if (pid < 0) continue;
    if (count++ > 0) pj_raw(&j, ",", 1);
    pj_rawf(&j, "%lld", pid);
    if (pid == wanted) found = 1;
  }
  pj_raw(&j, "]", 1);
  closedir(dir);
  pj_int(&j, "count", count);
  if (wanted > 0) return pj_finish(&j, found, found ? 0 : ESRCH);
  return pj_finish(&j, 1, 0);
}
