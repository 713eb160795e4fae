/* list_dir PATH: opendir(3) PATH and print the names it holds (without "." and "..") as the
 * array "entries". Succeeds when the directory could be read. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <dirent.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("list_dir", "PATH");
  struct probe_json j;
  pj_begin(&j, "list_dir");
  pj_str(&j, "target", argv[1]);
  DIR* dir = opendir(argv[1]);
  if (dir == NULL) return pj_finish(&j, 0, errno);
  pj_key(&j, "entries");
  pj_raw(&j, "[", 1);
  int count = 0;
  errno = 0;
  struct dirent* e;
  while ((e = readdir(dir)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0) continue;
    if (count++ > 0) pj_raw(&j, ",", 1);
    pj_string(&j, e->d_name);
  }
  int err = errno;
  pj_raw(&j, "]", 1);
  closedir(dir);
  pj_int(&j, "count", count);
  return pj_finish(&j, err == 0, err);
}
