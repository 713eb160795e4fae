// Sleep probe: a component (world `sleeper` of tests/wasm/components/wit/probes.wit) that waits
// in the host for the number of milliseconds its input gives ({"sleep_ms": N}), through
// wasi:clocks/monotonic-clock subscribe-duration and wasi:io/poll's pollable.block, then
// returns {"slept_ms": N}. A host must end the call at its wall-clock limit all the same.
//
// Canonical ABI by hand: subscribe-duration takes a u64 and returns an own<pollable> handle
// (i32); block takes that handle as a borrow; [resource-drop]pollable releases it.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "json.h"

__attribute__((import_module("wasi:clocks/monotonic-clock@0.2.0"),
               import_name("subscribe-duration"))) extern int32_t
SubscribeDuration(int64_t nanoseconds);
__attribute__((import_module("wasi:io/poll@0.2.0"), import_name("[method]pollable.block")))
extern void PollableBlock(int32_t handle);
__attribute__((import_module("wasi:io/poll@0.2.0"), import_name("[resource-drop]pollable")))
extern void PollableDrop(int32_t handle);

__attribute__((export_name("cabi_realloc"))) void* CabiRealloc(void* old, size_t old_size,
                                                                size_t align, size_t new_size) {
  (void)old_size;
  if (new_size == 0) return (void*)align;  // Never dereferenced.
  void* ptr = realloc(old, new_size);
  if (!ptr) __builtin_trap();
  return ptr;
}

static struct {
  uint8_t discriminant;
  uint8_t padding[3];
  const char* ptr;
  size_t len;
} return_area;

__attribute__((export_name("run"))) void* Run(char* input, size_t size) {
  char error[128];
  JsonValue* root = JsonParse(input, size, error, sizeof error);
  const JsonValue* ms = root ? JsonGet(root, "sleep_ms") : NULL;
  if (size > 0) free(input);
  if (!ms || ms->type != kJsonNumber || ms->number < 0) {
    JsonFree(root);
    static const char kBad[] = "input must be {\"sleep_ms\": N}";
    return_area.discriminant = 1;
    return_area.ptr = kBad;
    return_area.len = sizeof kBad - 1;
    return &return_area;
  }
  const int32_t pollable = SubscribeDuration((int64_t)ms->number * 1000000);
  PollableBlock(pollable);
  PollableDrop(pollable);
  JsonFree(root);
  static const char kDone[] = "{\"slept\": true}";
  return_area.discriminant = 0;
  return_area.ptr = kDone;
  return_area.len = sizeof kDone - 1;
  return &return_area;
}

__attribute__((export_name("cabi_post_run"))) void CabiPostRun(void* ret) { (void)ret; }
