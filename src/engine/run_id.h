// Run identifiers: unique, sortable by start time, safe as a file or cgroup name.
#ifndef SKILLRT_ENGINE_RUN_ID_H_
#define SKILLRT_ENGINE_RUN_ID_H_

#include <string>
#include <string_view>

#include "skillrt/error.h"

namespace skillrt {

/// Returns a new run id "YYYYMMDDTHHMMSS-<16 hex>": the UTC start second followed by 64 bits
/// from getrandom(2), so ids sort by time and never collide in practice. Contains only
/// [0-9A-Za-z-]. Thread-safe. kIo if getrandom(2) fails (see getrandom(2)).
Result<std::string> NewRunId();

/// True when `id` is non-empty, at most 64 characters and only [A-Za-z0-9_-], i.e. usable
/// as a path component and a cgroup name without quoting.
bool IsValidRunId(std::string_view id);

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_RUN_ID_H_
