/* env_dump [NAME]: print the whole environment as the object "env". With NAME, succeeds when
 * NAME is set (e.g. a host secret that must not reach the sandbox); without, always succeeds. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

extern char** environ;

int main(int argc, char** argv) {
  if (argc > 2) return probe_usage("env_dump", "[NAME]");
  struct probe_json j;
  pj_begin(&j, "env_dump");
  if (argc == 2) pj_str(&j, "target", argv[1]);
  pj_key(&j, "env");
  pj_raw(&j, "{", 1);
  int count = 0;
  for (char** e = environ; *e != NULL; ++e) {
    char* eq = strchr(*e, '=');
    if (eq == NULL) continue;
    *eq = '\0';
    if (count++ > 0) pj_raw(&j, ",", 1);
    pj_string(&j, *e);
    pj_raw(&j, ":", 1);
    pj_string(&j, eq + 1);
    *eq = '=';
  }
  pj_raw(&j, "}", 1);
  if (argc == 2) {
    int present = getenv(argv[1]) != NULL;
    return pj_finish(&j, present, present ? 0 : ENOENT);
  }
  return pj_finish(&j, 1, 0);
}
