// The audit log: one JSON line per run and per refusal, appended under $SKILLRT_HOME.
#ifndef SKILLRT_AUDIT_H_
#define SKILLRT_AUDIT_H_

#include <cstddef>
#include <filesystem>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt {

/// An append-only JSON-lines file. Each Append writes one complete line with a single
/// write(2) on an O_APPEND descriptor while holding an exclusive flock(2), so concurrent
/// writers (threads or processes) never interleave or lose lines. Thread-safe.
class AuditLog {
 public:
  /// Opens (creating with mode 0600, and its directory with 0700) the log at `file`.
  static Result<AuditLog> Open(const std::filesystem::path& file);

  AuditLog(AuditLog&&) noexcept;
  AuditLog& operator=(AuditLog&&) noexcept;
  AuditLog(const AuditLog&) = delete;
  AuditLog& operator=(const AuditLog&) = delete;
  ~AuditLog();

  /// Appends `record` (an object) as one line. Adds "time" (RFC 3339, UTC, microseconds)
  /// if the record has none. kIo on a failed write; the file is never left with half a line.
  Result<void> Append(const nlohmann::json& record);

  /// The last `n` records, oldest first. kParse names the line number of a corrupt line.
  Result<std::vector<nlohmann::json>> Tail(size_t n) const;

  const std::filesystem::path& path() const { return path_; }

 private:
  AuditLog(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path path_;
  int fd_ = -1;  // Owned.
};

}  // namespace skillrt

#endif  // SKILLRT_AUDIT_H_
