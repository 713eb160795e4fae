// Times one-query embeddings through a build of libskillrt_search_ml.so, for comparing two
// builds (two inference libraries) with no other part of skillrt in the way.
//
// Usage: embed_compare LIB MODEL_DIR RUNTIME QUERIES N OUT
//   LIB        a libskillrt_search_ml.so
//   MODEL_DIR  its model directory
//   RUNTIME    the ONNX Runtime library for the current ABI (skillrt_ml_embedder_new with three
//              arguments), or "-" for the earlier two-argument ABI (candle)
//   QUERIES    a file of queries, one per line; the first N are embedded one at a time
//   OUT        where the vectors go (N x 384 floats), to compare two builds' vectors
// Prints the first embedding's wall time, then p50/p90 of CPU time (CLOCK_PROCESS_CPUTIME_ID)
// and of wall time per query. Build: cc -O2 -o embed_compare embed_compare.c -ldl
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

typedef void* (*new2_t)(const char*, char**);
typedef void* (*new3_t)(const char*, const char*, char**);
typedef int (*embed_t)(void*, const char* const*, const size_t*, size_t, float*, char**);

enum { kDim = 384, kMaxQueries = 2000, kMaxLine = 8192 };

static double Ms(clockid_t clock) {
  struct timespec t;
  clock_gettime(clock, &t);
  return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int Compare(const void* a, const void* b) {
  double x = *(const double*)a, y = *(const double*)b;
  return x < y ? -1 : x > y;
}

int main(int argc, char** argv) {
  if (argc != 7) {
    fprintf(stderr, "usage: %s LIB MODEL_DIR RUNTIME|- QUERIES N OUT\n", argv[0]);
    return 2;
  }
  void* lib = dlopen(argv[1], RTLD_NOW);
  if (lib == NULL) {
    fprintf(stderr, "%s\n", dlerror());
    return 1;
  }
  char* err = NULL;
  void* e = strcmp(argv[3], "-") == 0
                ? ((new2_t)dlsym(lib, "skillrt_ml_embedder_new"))(argv[2], &err)
                : ((new3_t)dlsym(lib, "skillrt_ml_embedder_new"))(argv[2], argv[3], &err);
  if (e == NULL) {
    fprintf(stderr, "embedder: %s\n", err != NULL ? err : "?");
    return 1;
  }
  embed_t embed = (embed_t)dlsym(lib, "skillrt_ml_embed");
  FILE* in = fopen(argv[4], "r");
  FILE* out = fopen(argv[6], "wb");
  if (in == NULL || out == NULL) {
    fprintf(stderr, "cannot open %s or %s\n", argv[4], argv[6]);
    return 1;
  }
  int n = atoi(argv[5]);
  if (n < 1 || n > kMaxQueries) n = kMaxQueries;
  static char lines[kMaxQueries][kMaxLine];
  int count = 0;
  while (count < n && fgets(lines[count], kMaxLine, in) != NULL) {
    lines[count][strcspn(lines[count], "\n")] = '\0';
    ++count;
  }
  if (count == 0) {
    fprintf(stderr, "no queries in %s\n", argv[4]);
    return 1;
  }
  float v[kDim];
  const char* warm = "load the model";
  size_t warm_len = strlen(warm);
  double t0 = Ms(CLOCK_MONOTONIC);
  if (embed(e, &warm, &warm_len, 1, v, &err) != 0) {
    fprintf(stderr, "embed: %s\n", err != NULL ? err : "?");
    return 1;
  }
  printf("first embedding: %.0f ms\n", Ms(CLOCK_MONOTONIC) - t0);
  double* wall = malloc(sizeof(double) * (size_t)count);
  double* cpu = malloc(sizeof(double) * (size_t)count);
  for (int i = 0; i < count; ++i) {
    const char* q = lines[i];
    size_t len = strlen(q);
    double w0 = Ms(CLOCK_MONOTONIC), c0 = Ms(CLOCK_PROCESS_CPUTIME_ID);
    if (embed(e, &q, &len, 1, v, &err) != 0) {
      fprintf(stderr, "embed: %s\n", err != NULL ? err : "?");
      return 1;
    }
    wall[i] = Ms(CLOCK_MONOTONIC) - w0;
    cpu[i] = Ms(CLOCK_PROCESS_CPUTIME_ID) - c0;
    fwrite(v, sizeof(float), kDim, out);
  }
  qsort(wall, (size_t)count, sizeof(double), Compare);
  qsort(cpu, (size_t)count, sizeof(double), Compare);
  printf("%d queries: CPU p50 %.2f ms, p90 %.2f ms; wall p50 %.2f ms, p90 %.2f ms\n", count,
         cpu[count / 2], cpu[count * 9 / 10], wall[count / 2], wall[count * 9 / 10]);
  fclose(out);
  return 0;
}
