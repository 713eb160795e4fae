/* memory_bomb MB: allocate MB mebibytes in 1 MiB blocks and write to every page so that the
 * memory is really resident. Succeeds when all of it was allocated and touched; malloc
 * failing gives ENOMEM; an out-of-memory kill ends the probe with SIGKILL before it reports. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("memory_bomb", "MB");
  long long mb = probe_parse_ll(argv[1]);
  if (mb <= 0) return probe_usage("memory_bomb", "MB");
  struct probe_json j;
  pj_begin(&j, "memory_bomb");
  pj_int(&j, "target", mb);
  const long page = sysconf(_SC_PAGESIZE);
  long long touched = 0;
  for (; touched < mb; ++touched) {
    /* The blocks are deliberately leaked: the point is to hold them all at once. */
    volatile char* block = malloc(1 << 20);
    if (block == NULL) break;
    for (long off = 0; off < (1 << 20); off += page) block[off] = (char)off;
  }
  pj_int(&j, "touched_mb", touched);
  return pj_finish(&j, touched == mb, touched == mb ? 0 : ENOMEM);
}
