// Stack probe: recurses DEPTH calls deep (argument; "inf" for without bound) and prints
// {"depth": DEPTH}. The call goes through a volatile function pointer so that the compiler can
// neither turn the recursion into a loop nor keep frames in the shadow stack: every level is
// a frame on the wasm stack, which the host caps.
#include <stdlib.h>

#include "probe.h"

static unsigned long Down(unsigned long n);
static unsigned long (*volatile down)(unsigned long) = Down;

static unsigned long Down(unsigned long n) { return n == 0 ? 0 : down(n - 1) + 1; }

int main(int argc, char** argv) {
  const unsigned long depth =
      argc > 1 && strcmp(argv[1], "inf") != 0 ? strtoul(argv[1], NULL, 10) : (unsigned long)-1;
  printf("{\"depth\": %lu}\n", down(depth));
  return 0;
}
