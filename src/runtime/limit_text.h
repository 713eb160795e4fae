// How every runtime reports that a run reached one of its limits: the name in
// Outcome::limits_hit and the message, so that the same limit reads the same in every runtime.
#ifndef SKILLRT_RUNTIME_LIMIT_TEXT_H_
#define SKILLRT_RUNTIME_LIMIT_TEXT_H_

#include <string>
#include <string_view>

#include "skillrt/manifest.h"
#include "skillrt/outcome.h"

namespace skillrt {

/// "wall-clock limit of 5000 ms reached" and the like, for `limit` one of "wall_time",
/// "cpu_time", "memory", "file_size" and "output" (per stream), with the value from `limits`;
/// "<limit> limit reached" for any other name. Pure; thread-safe.
std::string LimitReachedText(std::string_view limit, const Limits& limits);

/// Adds `limit` to outcome.limits_hit and sets outcome.message to LimitReachedText followed by
/// `detail` (what the runtime did about it, e.g. "; the container was killed and removed").
void MarkLimitReached(Outcome& outcome, std::string_view limit, const Limits& limits,
                      std::string_view detail = {});

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_LIMIT_TEXT_H_
