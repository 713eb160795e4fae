// Memory probe: grows linear memory with memory.grow, 1 MiB at a time, until it reaches
// TARGET_MB (argument; default: without bound) or the host refuses, then prints
//   {"start_kb": S, "target_mb": T, "grown_mb": G, "refused": true|false, "total_kb": M}
// where S and M are the initial and final size of linear memory. `grow TARGET trap` traps after a refusal, as a
// program whose allocation failed would abort.
#include <stdlib.h>

#include "probe.h"

enum { kPage = 65536, kStepPages = 16 };  // 16 pages of 64 KiB: 1 MiB per memory.grow.

int main(int argc, char** argv) {
  const unsigned long target = argc > 1 ? strtoul(argv[1], NULL, 10) : 0;
  const int trap = argc > 2 && strcmp(argv[2], "trap") == 0;
  const unsigned long start_pages = __builtin_wasm_memory_size(0);
  unsigned long grown_mb = 0;
  int refused = 0;
  while (target == 0 || grown_mb < target) {
    if (__builtin_wasm_memory_grow(0, kStepPages) == (size_t)-1) {
      refused = 1;
      break;
    }
    ++grown_mb;
  }
  const unsigned long total_pages = __builtin_wasm_memory_size(0);
  printf("{\"start_kb\": %lu, \"target_mb\": %lu, \"grown_mb\": %lu, \"refused\": %s, "
         "\"total_kb\": %lu}\n",
         start_pages * kPage >> 10, target, grown_mb, refused ? "true" : "false",
         total_pages * kPage >> 10);
  fflush(stdout);
  if (refused && trap) __builtin_trap();
  return 0;
}
