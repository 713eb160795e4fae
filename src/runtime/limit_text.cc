#include "runtime/limit_text.h"

namespace skillrt {

std::string LimitReachedText(std::string_view limit, const Limits& limits) {
  if (limit == "wall_time") {
    return "wall-clock limit of " + std::to_string(limits.wall_time.count()) + " ms reached";
  }
  if (limit == "cpu_time") {
    return "CPU time limit of " + std::to_string(limits.cpu_time.count()) + " ms reached";
  }
  if (limit == "memory") {
    return "memory limit of " + std::to_string(limits.memory_max_bytes >> 20) + " MiB reached";
  }
  if (limit == "file_size") {
    return "file size limit of " + std::to_string(limits.file_size_max_bytes) + " bytes reached";
  }
  if (limit == "output") {
    return "output limit of " + std::to_string(limits.output_max_bytes) +
           " bytes per stream exceeded";
  }
  return std::string(limit) + " limit reached";
}

void MarkLimitReached(Outcome& outcome, std::string_view limit, const Limits& limits,
                      std::string_view detail) {
  outcome.limits_hit.emplace_back(limit);
  outcome.message = LimitReachedText(limit, limits);
  outcome.message += detail;
}

}  // namespace skillrt
