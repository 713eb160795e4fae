/* mount_try [TARGET]: mount(2) a 1 MiB tmpfs on TARGET (default /tmp), then unmount it.
 * Succeeds when the mount succeeded. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <sys/mount.h>

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("mount_try", "[TARGET]");
  const char* target = argc == 2 ? argv[1] : "/tmp";
  struct probe_json j;
  pj_begin(&j, "mount_try");
  pj_str(&j, "target", target);
  if (mount("probe", target, "tmpfs", MS_NOSUID | MS_NODEV, "size=1m") != 0) {
    return pj_finish(&j, 0, errno);
  }
  umount2(target, MNT_DETACH);
  return pj_finish(&j, 1, 0);
}
