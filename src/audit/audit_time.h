// Times in audit records and in audit queries: RFC 3339 timestamps and relative ages.
#ifndef SKILLRT_AUDIT_AUDIT_TIME_H_
#define SKILLRT_AUDIT_AUDIT_TIME_H_

#include <chrono>
#include <optional>
#include <string_view>

#include "skillrt/error.h"

namespace skillrt::audit {

using TimePoint = std::chrono::system_clock::time_point;

/// Parses an RFC 3339 date-time (section 5.6: `2026-11-29T16:41:26.123456Z`,
/// `2026-11-29t18:41:26+02:00`; up to nanosecond fractions; a space for the `T` as section 5.6
/// allows) or a full-date (`2026-11-29`, meaning its midnight UTC). Leap seconds (`:60`) are
/// read as the next second. nullopt for anything else, including impossible dates. Pure.
std::optional<TimePoint> ParseRfc3339(std::string_view text);

/// A time bound given on the command line: an RFC 3339 date-time or full-date, or an age
/// before `now`: a non-negative integer followed by `s`, `m`, `h`, `d` or `w` (`90s`, `30m`,
/// `1h`, `2d`, `1w`). Errors: kInvalidArgument quoting `text` and the accepted forms.
Result<TimePoint> ParseTimeBound(std::string_view text, TimePoint now);

}  // namespace skillrt::audit

#endif  // SKILLRT_AUDIT_AUDIT_TIME_H_
