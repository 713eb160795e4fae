// Environment probe: prints {"vars": {NAME: value or null, ...}, "names": [every variable]}
// for the names given as arguments: what getenv() sees and what the whole environment holds.
#include <stdlib.h>

#include "probe.h"

extern char** environ;

int main(int argc, char** argv) {
  fputs("{\"vars\": {", stdout);
  for (int i = 1; i < argc; ++i) {
    if (i > 1) fputs(", ", stdout);
    PrintKey(argv[i]);
    const char* value = getenv(argv[i]);
    if (value) {
      PrintJsonCString(value);
    } else {
      fputs("null", stdout);
    }
  }
  fputs("}, \"names\": [", stdout);
  for (char** e = environ; e && *e; ++e) {
    if (e != environ) fputs(", ", stdout);
    const char* eq = strchr(*e, '=');
    PrintJsonString(*e, eq ? (size_t)(eq - *e) : strlen(*e));
  }
  fputs("]}\n", stdout);
  return 0;
}
