/* cpu_spin SECONDS: busy-loop until this process has used SECONDS (may be fractional) of CPU
 * time (CLOCK_PROCESS_CPUTIME_ID). Succeeds when it got there; RLIMIT_CPU or a CPU-time kill
 * ends it with SIGXCPU/SIGKILL before it reports. */
#include "probe.h"  /* First: it defines _GNU_SOURCE. */

#include <time.h>

static double CpuSeconds(void) {
  struct timespec ts;
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char** argv) {
  if (argc != 2) return probe_usage("cpu_spin", "SECONDS");
  char* end = NULL;
  double seconds = strtod(argv[1], &end);
  if (end == argv[1] || *end != '\0' || seconds < 0) return probe_usage("cpu_spin", "SECONDS");
  volatile unsigned long long spins = 0;
  while (CpuSeconds() < seconds) {
    for (int i = 0; i < 100000; ++i) spins = spins + 1;
  }
  struct probe_json j;
  pj_begin(&j, "cpu_spin");
  pj_str(&j, "target", argv[1]);
  pj_int(&j, "cpu_ms", (long long)(CpuSeconds() * 1000));
  return pj_finish(&j, 1, 0);
}
