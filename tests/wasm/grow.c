// Memory probe: grows linear memory with memory.grow, STEP_PAGES pages of 64 KiB at a time
// (default 16: 1 MiB), until it has grown by TARGET_MB (default 0: without bound) or the host
// refuses, then prints
//   {"start_kb": S, "target_mb": T, "grown_kb": G, "refused": true|false, "total_kb": M}
// where S and M are the initial and final size of linear memory.
// Usage: grow [TARGET_MB [STEP_PAGES [trap]]]; `trap` traps after a refusal, as a program whose
// allocation failed would abort.
#include <stdlib.h>

#include "probe.h"

enum { kPage = 65536 };

int main(int argc, char** argv) {
  const unsigned long target_mb = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  const unsigned long step = argc > 2 ? strtoul(argv[2], NULL, 10) : 16;
  const int trap = argc > 3 && strcmp(argv[3], "trap") == 0;
  if (step == 0) {
    fputs("grow: STEP_PAGES must be positive\n", stderr);
    return 2;
  }
  const unsigned long start_pages = __builtin_wasm_memory_size(0);
  unsigned long grown_pages = 0;
  int refused = 0;
  while (target_mb == 0 || grown_pages * kPage < (target_mb << 20)) {
    if (__builtin_wasm_memory_grow(0, step) == (size_t)-1) {
      refused = 1;
      break;
    }
    grown_pages += step;
  }
  const unsigned long total_pages = __builtin_wasm_memory_size(0);
  printf("{\"start_kb\": %lu, \"target_mb\": %lu, \"grown_kb\": %lu, \"refused\": %s, "
         "\"total_kb\": %lu}\n",
         start_pages * kPage >> 10, target_mb, grown_pages * kPage >> 10,
         refused ? "true" : "false", total_pages * kPage >> 10);
  fflush(stdout);
  if (refused && trap) __builtin_trap();
  return 0;
}
