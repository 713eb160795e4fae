// The limits of a run as a table: each field's manifest key, unit and upper bound, and how to
// read and write it in Limits. One definition for the manifest's [limits], the policy's
// [ceilings] and every comparison between the two.
#ifndef SKILLRT_SKILL_LIMIT_FIELDS_H_
#define SKILLRT_SKILL_LIMIT_FIELDS_H_

#include <array>
#include <cstdint>
#include <string_view>

#include "skillrt/manifest.h"

namespace skillrt {

/// One field of Limits in the units the manifest spells it in.
struct LimitField {
  std::string_view key;   ///< Manifest key: "wall_time_ms", "memory_mb", ...
  std::string_view unit;  ///< "ms", "MiB", "KiB" or "" (a count).
  int64_t max;            ///< Largest value a manifest may give, in `unit`.
  /// The field's value in `unit` (rounded down).
  uint64_t (*get)(const Limits&);
  /// Sets the field from a value in `unit`. REQUIRES: 0 < value <= max.
  void (*set)(Limits&, uint64_t value);
};

/// Every field of Limits, in manifest order. Pure data; thread-safe.
const std::array<LimitField, 8>& LimitFields();

}  // namespace skillrt

#endif  // SKILLRT_SKILL_LIMIT_FIELDS_H_
