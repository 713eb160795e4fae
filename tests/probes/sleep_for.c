/* sleep_for SECONDS: sleep (nanosleep(2), no CPU use) for SECONDS, which may be fractional.
 * Succeeds when the whole sleep elapsed; a wall-clock kill ends it before it reports. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <time.h>

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("sleep_for", "SECONDS");
  char* end = NULL;
  double seconds = strtod(argv[1], &end);
  if (end == argv[1] || *end != '\0' || seconds < 0) return probe_usage("sleep_for", "SECONDS");
  struct timespec ts = {.tv_sec = (time_t)seconds,
                        .tv_nsec = (long)((seconds - (double)(time_t)seconds) * 1e9)};
  while (nanosleep(&ts, &ts) != 0 && errno == EINTR) {
  }
  struct probe_json j;
  pj_begin(&j, "sleep_for");
  pj_str(&j, "target", argv[1]);
  return pj_finish(&j, 1, 0);
}
