// Shared libraries loaded at their first call (lazy_library.h).
#include "util/lazy_library.h"

#include <atomic>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <string>

#include "skillrt/shared_library.h"

namespace skillrt {

Result<void> LoadLazyLibrary(const LazyLibrary& library) {
  auto opened = SharedLibrary::Open(library.file);
  if (!opened) {
    return Fail(ErrorCode::kUnsupported,
                opened.error().message + " (" + library.where_from + ")");
  }
  auto addresses = std::make_unique<void*[]>(library.count);
  for (size_t i = 0; i < library.count; ++i) {
    if (auto found = opened->Find(library.names[i], &addresses[i]); !found) {
      return Fail(ErrorCode::kUnsupported,
                  found.error().message +
                      " (the library is not the one the build generated its trampolines from)");
    }
  }
  // Another thread may be jumping through the table meanwhile: each entry is one aligned
  // pointer, read by its trampoline's single indirect jump, so it sees the resolver or the
  // function.
  for (size_t i = 0; i < library.count; ++i) {
    std::atomic_ref<void*>(library.table[i]).store(addresses[i], std::memory_order_release);
  }
  return {};
}

void* LazyResolveOrDie(const LazyLibrary& library, const Result<void>& loaded, size_t index) {
  if (!loaded || index >= library.count) {
    std::fprintf(stderr, "skillrt: %s is needed for %s and cannot be loaded: %s\n",
                 library.file, index < library.count ? library.names[index] : "a call",
                 loaded ? "unknown function" : loaded.error().message.c_str());
    std::abort();
  }
  return std::atomic_ref<void*>(library.table[index]).load(std::memory_order_acquire);
}

}  // namespace skillrt
