// number-stats: descriptive statistics of a list of numbers, as a WASI command.
// Reads one JSON object on stdin, prints one JSON object on stdout; see ../SKILL.md.
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

enum { kMaxInputBytes = 16 << 20, kMaxPercentiles = 100 };

typedef struct {
  double* values;
  size_t count;
  size_t capacity;
} Numbers;

static void Add(Numbers* numbers, double value) {
  if (numbers->count == numbers->capacity) {
    numbers->capacity = numbers->capacity ? numbers->capacity * 2 : 64;
    numbers->values = realloc(numbers->values, numbers->capacity * sizeof(double));
    if (!numbers->values) abort();
  }
  numbers->values[numbers->count++] = value;
}

// Prints {"error": message} on stdout and the message on stderr; returns the exit status 1.
static int Fail(const char* message) {
  JsonBuffer out = {0};
  JsonAppendRaw(&out, "{\"error\": ");
  JsonAppendString(&out, message, strlen(message));
  JsonAppendRaw(&out, "}\n");
  fputs(out.data, stdout);
  fprintf(stderr, "number-stats: %s\n", message);
  free(out.data);
  return 1;
}

// Reads all of `file` into a NUL-terminated buffer of at most kMaxInputBytes.
static char* ReadAll(FILE* file, size_t* size) {
  size_t capacity = 4096, n = 0;
  char* data = malloc(capacity);
  if (!data) abort();
  for (;;) {
    if (n + 1 == capacity) {
      if (capacity > kMaxInputBytes) {
        free(data);
        return NULL;
      }
      capacity *= 2;
      data = realloc(data, capacity);
      if (!data) abort();
    }
    const size_t got = fread(data + n, 1, capacity - n - 1, file);
    n += got;
    if (got == 0) break;
  }
  data[n] = '\0';
  *size = n;
  return data;
}

// Reads numbers separated by whitespace or commas from `path` into `numbers`.
static int ReadNumberFile(const char* path, Numbers* numbers, char* error, size_t error_size) {
  FILE* file = fopen(path, "r");
  if (!file) {
    snprintf(error, error_size, "path: cannot open '%s': %s", path, strerror(errno));
    return 0;
  }
  size_t size = 0;
  char* text = ReadAll(file, &size);
  fclose(file);
  if (!text) {
    snprintf(error, error_size, "path: '%s' is larger than %d bytes", path, kMaxInputBytes);
    return 0;
  }
  int ok = 1;
  size_t line = 1;
  for (char* p = text; *p;) {
    if (*p == ' ' || *p == '\t' || *p == '\r' || *p == ',' || *p == '\n') {
      line += *p == '\n';
      ++p;
      continue;
    }
    char* end = NULL;
    const double value = strtod(p, &end);
    if (end == p || !isfinite(value)) {
      snprintf(error, error_size, "path: '%s' line %zu: not a number", path, line);
      ok = 0;
      break;
    }
    Add(numbers, value);
    p = end;
  }
  free(text);
  return ok;
}

static int Compare(const void* a, const void* b) {
  const double x = *(const double*)a, y = *(const double*)b;
  return (x > y) - (x < y);
}

// The p-th percentile (0-100) of sorted `v` by linear interpolation between closest ranks.
static double Percentile(const double* v, size_t n, double p) {
  const double rank = p / 100.0 * (double)(n - 1);
  const size_t low = (size_t)floor(rank);
  const size_t high = low + 1 < n ? low + 1 : low;
  return v[low] + (v[high] - v[low]) * (rank - (double)low);
}

static void Member(JsonBuffer* out, const char* key, double value, int* first) {
  if (!*first) JsonAppendRaw(out, ", ");
  *first = 0;
  JsonAppendString(out, key, strlen(key));
  JsonAppendRaw(out, ": ");
  JsonAppendNumber(out, value);
}

int main(void) {
  size_t size = 0;
  char* text = ReadAll(stdin, &size);
  if (!text) return Fail("input is larger than 16 MiB");
  char error[256];
  JsonValue* input = JsonParse(text, size, error, sizeof error);
  free(text);
  if (!input) {
    char message[300];
    snprintf(message, sizeof message, "input: invalid JSON at %s", error);
    return Fail(message);
  }
  if (input->type != kJsonObject) return Fail("input: expected an object");

  Numbers numbers = {0};
  const JsonValue* list = JsonGet(input, "numbers");
  const JsonValue* path = JsonGet(input, "path");
  if (list) {
    if (list->type != kJsonArray) return Fail("numbers: expected an array of numbers");
    for (size_t i = 0; i < list->count; ++i) {
      if (list->items[i]->type != kJsonNumber) {
        snprintf(error, sizeof error, "numbers[%zu]: expected a number", i);
        return Fail(error);
      }
      Add(&numbers, list->items[i]->number);
    }
  }
  if (path) {
    if (path->type != kJsonString) return Fail("path: expected a string");
    if (!ReadNumberFile(path->string, &numbers, error, sizeof error)) return Fail(error);
  }
  if (!list && !path) return Fail("input: give 'numbers' (an array) or 'path' (a file)");
  if (numbers.count == 0) return Fail("numbers: no numbers given");

  double percentiles[kMaxPercentiles] = {25, 50, 75};
  size_t percentile_count = 3;
  const JsonValue* wanted = JsonGet(input, "percentiles");
  if (wanted) {
    if (wanted->type != kJsonArray || wanted->count > kMaxPercentiles) {
      return Fail("percentiles: expected an array of at most 100 numbers");
    }
    percentile_count = wanted->count;
    for (size_t i = 0; i < wanted->count; ++i) {
      const JsonValue* p = wanted->items[i];
      if (p->type != kJsonNumber || p->number < 0 || p->number > 100) {
        snprintf(error, sizeof error, "percentiles[%zu]: expected a number from 0 to 100", i);
        return Fail(error);
      }
      percentiles[i] = p->number;
    }
  }

  const size_t n = numbers.count;
  double* v = numbers.values;
  qsort(v, n, sizeof *v, Compare);
  // Kahan summation keeps the sum exact to the last bit for typical inputs.
  double sum = 0, carry = 0;
  for (size_t i = 0; i < n; ++i) {
    const double y = v[i] - carry, t = sum + y;
    carry = (t - sum) - y;
    sum = t;
  }
  const double mean = sum / (double)n;
  double squares = 0;  // Sum of squared deviations, in a second pass for accuracy.
  for (size_t i = 0; i < n; ++i) squares += (v[i] - mean) * (v[i] - mean);

  JsonBuffer out = {0};
  int first = 1;
  JsonAppendRaw(&out, "{");
  Member(&out, "count", (double)n, &first);
  Member(&out, "sum", sum, &first);
  Member(&out, "mean", mean, &first);
  Member(&out, "median", Percentile(v, n, 50), &first);
  Member(&out, "min", v[0], &first);
  Member(&out, "max", v[n - 1], &first);
  Member(&out, "range", v[n - 1] - v[0], &first);
  // Sample variance and standard deviation (n - 1); undefined for a single value.
  Member(&out, "variance", n > 1 ? squares / (double)(n - 1) : NAN, &first);
  Member(&out, "stddev", n > 1 ? sqrt(squares / (double)(n - 1)) : NAN, &first);
  JsonAppendRaw(&out, ", \"percentiles\": {");
  first = 1;
  for (size_t i = 0; i < percentile_count; ++i) {
    char key[32];
    JsonBuffer number = {0};
    JsonAppendNumber(&number, percentiles[i]);
    snprintf(key, sizeof key, "%s", number.data);
    free(number.data);
    Member(&out, key, Percentile(v, n, percentiles[i]), &first);
  }
  JsonAppendRaw(&out, "}}\n");
  fputs(out.data, stdout);
  free(out.data);
  free(v);
  JsonFree(input);
  return 0;
}
