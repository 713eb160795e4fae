/* stat_path PATH: lstat(2) PATH. Succeeds when the path exists and is visible; reports its
 * type, mode, owner and size. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <sys/stat.h>

static const char* TypeName(mode_t mode) {
  if (S_ISREG(mode)) return "file";
  if (S_ISDIR(mode)) return "dir";
  if (S_ISLNK(mode)) return "symlink";
  if (S_ISCHR(mode)) return "char";
  if (S_ISBLK(mode)) return "block";
  if (S_ISFIFO(mode)) return "fifo";
  if (S_ISSOCK(mode)) return "socket";
  return "other";
}

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("stat_path", "PATH");
  struct probe_json j;
  pj_begin(&j, "stat_path");
  pj_str(&j, "target", argv[1]);
  struct stat st;
  if (lstat(argv[1], &st) != 0) return pj_finish(&j, 0, errno);
  pj_str(&j, "type", TypeName(st.st_mode));
  pj_int(&j, "mode", st.st_mode & 07777);
  pj_int(&j, "uid", st.st_uid);
  pj_int(&j, "gid", st.st_gid);
  pj_int(&j, "size", st.st_size);
  return pj_finish(&j, 1, 0);
}
