// Trap probe: `unreachable` executes the unreachable instruction, `abort` calls abort(),
// `divzero` divides an integer by zero, `oob` loads beyond linear memory; `exit N` is the
// control: it prints {"exit": N} and exits with status N through proc_exit.
#include <stdlib.h>

#include "probe.h"

int main(int argc, char** argv) {
  const char* mode = argc > 1 ? argv[1] : "";
  fprintf(stderr, "trap: %s\n", mode);
  if (strcmp(mode, "unreachable") == 0) __builtin_trap();
  if (strcmp(mode, "abort") == 0) abort();
  if (strcmp(mode, "divzero") == 0) {
    volatile int numerator = 7, zero = 0;
    printf("%d\n", numerator / zero);
    return 0;
  }
  if (strcmp(mode, "oob") == 0) {
    volatile unsigned* beyond = (unsigned*)(__builtin_wasm_memory_size(0) * 65536 + 16);
    printf("%u\n", *beyond);
    return 0;
  }
  if (strcmp(mode, "exit") == 0 && argc > 2) {
    const int code = atoi(argv[2]);
    printf("{\"exit\": %d}\n", code);
    fflush(stdout);
    exit(code);
  }
  fprintf(stderr, "trap: unknown mode '%s'\n", mode);
  return 2;
}
