/* unshare_try FLAGS: unshare(2) the namespaces named in the comma-separated FLAGS
 * (user,mnt,net,pid,ipc,uts,cgroup,time). Succeeds when the call succeeded. Only this probe
 * process is moved, so running it on the host is harmless. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("unshare_try", "user,mnt,net,pid,ipc,uts,cgroup,time");
  long flags = probe_parse_ns_flags(argv[1]);
  if (flags <= 0) return probe_usage("unshare_try", "user,mnt,net,pid,ipc,uts,cgroup,time");
  struct probe_json j;
  pj_begin(&j, "unshare_try");
  pj_str(&j, "target", argv[1]);
  if (unshare((int)flags) != 0) return pj_finish(&j, 0, errno);
  return pj_finish(&j, 1, 0);
}
