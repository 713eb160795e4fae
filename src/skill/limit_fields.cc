// The limits of a run as a table (src/skill/limit_fields.h).
#include "skill/limit_fields.h"

#include <chrono>

namespace skillrt {
namespace {

constexpr int64_t kDayMs = 24LL * 60 * 60 * 1000;

}  // namespace

const std::array<LimitField, 8>& LimitFields() {
  using std::chrono::milliseconds;
  static const std::array<LimitField, 8> kFields = {{
      {"wall_time_ms", "ms", kDayMs,
       [](const Limits& l) { return static_cast<uint64_t>(l.wall_time.count()); },
       [](Limits& l, uint64_t v) { l.wall_time = milliseconds(v); }},
      {"cpu_time_ms", "ms", kDayMs,
       [](const Limits& l) { return static_cast<uint64_t>(l.cpu_time.count()); },
       [](Limits& l, uint64_t v) { l.cpu_time = milliseconds(v); }},
      {"memory_mb", "MiB", 65536, [](const Limits& l) { return l.memory_max_bytes >> 20; },
       [](Limits& l, uint64_t v) { l.memory_max_bytes = v << 20; }},
      {"processes", "", 4096, [](const Limits& l) { return uint64_t{l.pids_max}; },
       [](Limits& l, uint64_t v) { l.pids_max = static_cast<uint32_t>(v); }},
      {"output_kb", "KiB", 1048576, [](const Limits& l) { return l.output_max_bytes >> 10; },
       [](Limits& l, uint64_t v) { l.output_max_bytes = v << 10; }},
      {"file_size_mb", "MiB", 1048576,
       [](const Limits& l) { return l.file_size_max_bytes >> 20; },
       [](Limits& l, uint64_t v) { l.file_size_max_bytes = v << 20; }},
      {"scratch_mb", "MiB", 65536, [](const Limits& l) { return l.scratch_max_bytes >> 20; },
       [](Limits& l, uint64_t v) { l.scratch_max_bytes = v << 20; }},
      {"open_files", "", 65536, [](const Limits& l) { return uint64_t{l.open_files_max}; },
       [](Limits& l, uint64_t v) { l.open_files_max = static_cast<uint32_t>(v); }},
  }};
  return kFields;
}

}  // namespace skillrt
