#include "util/fork_exclusion.h"

#include <sys/mman.h>

#include <algorithm>
#include <cinttypes>
#include <cstdio>
#include <cstring>
#include <mutex>

namespace skillrt::fork_exclusion {
namespace {

std::mutex& Mu() {
  static std::mutex mu;
  return mu;
}

// Guarded by Mu(). A few entries (one or two per WebAssembly runtime), so a vector.
std::vector<Range>& Ranges() {
  static std::vector<Range> ranges;
  return ranges;
}

}  // namespace

void Register(Range range) {
  if (range.end <= range.begin) return;
  std::lock_guard lock(Mu());
  Ranges().push_back(range);
}

void Unregister(Range range) {
  std::lock_guard lock(Mu());
  auto& ranges = Ranges();
  auto it = std::find_if(ranges.begin(), ranges.end(), [&](const Range& r) {
    return r.begin == range.begin && r.end == range.end;
  });
  if (it != ranges.end()) ranges.erase(it);
}

void ApplyBeforeClone() {
  // Held across the madvise calls, so that Unregister (before the owner unmaps) waits for them.
  std::lock_guard lock(Mu());
  for (const Range& r : Ranges()) {
    (void)madvise(reinterpret_cast<void*>(r.begin), r.end - r.begin, MADV_DONTFORK);
  }
}

std::vector<Range> Registered() {
  std::lock_guard lock(Mu());
  return Ranges();
}

std::vector<Range> Mappings() {
  std::vector<Range> out;
  FILE* maps = std::fopen("/proc/self/maps", "re");
  if (maps == nullptr) return out;
  char line[512];
  while (std::fgets(line, sizeof line, maps) != nullptr) {
    Range r;
    if (std::sscanf(line, "%" SCNxPTR "-%" SCNxPTR, &r.begin, &r.end) == 2) out.push_back(r);
    // A line longer than the buffer (a long path) continues on the next read: skip its rest.
    while (std::strchr(line, '\n') == nullptr && std::fgets(line, sizeof line, maps) != nullptr) {
    }
  }
  std::fclose(maps);
  return out;
}

}  // namespace skillrt::fork_exclusion
