// CPU probe: `spin` loops forever without calling the host; `spin N` stops after N iterations
// and prints {"iterations": N} (the positive control for the wall-clock limit).
#include <stdlib.h>

#include "probe.h"

int main(int argc, char** argv) {
  const unsigned long long limit = argc > 1 ? strtoull(argv[1], NULL, 10) : 0;
  volatile unsigned long long i = 0;
  for (;;) {
    if (limit && i >= limit) break;
    i = i + 1;
  }
  printf("{\"iterations\": %llu}\n", (unsigned long long)i);
  return 0;
}
