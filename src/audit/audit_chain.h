// The audit log's hash chain: the pieces Append and VerifyAuditLog share
// (include/skillrt/audit.h, docs/audit.md).
#ifndef SKILLRT_AUDIT_AUDIT_CHAIN_H_
#define SKILLRT_AUDIT_AUDIT_CHAIN_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "skillrt/audit.h"
#include "skillrt/error.h"

namespace skillrt::audit {

/// Holds flock(2) on a descriptor it does not own, for its lifetime. Not thread-safe.
class FileLock {
 public:
  explicit FileLock(int fd) : fd_(fd) {}
  ~FileLock();
  FileLock(const FileLock&) = delete;
  FileLock& operator=(const FileLock&) = delete;

  /// Blocks until the lock is held: `operation` is LOCK_EX or LOCK_SH. Errors: kIo naming
  /// `path`.
  Result<void> Lock(int operation, const std::string& path);

 private:
  int fd_;  // Not owned.
  bool locked_ = false;
};

/// Where the chain stands: the last record's seq and hash; {0, genesis} before any record.
struct ChainState {
  uint64_t seq = 0;
  std::string hash{kAuditGenesisHash};
  bool operator==(const ChainState&) const = default;
};

/// The chain fields of a parsed record when it has all three with the right types (`seq` a
/// positive integer, `prev` and `hash` strings); else nullopt.
struct ChainFields {
  uint64_t seq = 0;
  std::string prev;
  std::string hash;
};
std::optional<ChainFields> ReadChainFields(const nlohmann::json& record);

/// ReadChainFields(nlohmann::json::parse(line)), nullopt also when `line` is not JSON, without
/// building the record: only the three top-level members are kept (the last of each name, as
/// parse() keeps). For the log's last line, read on every append.
std::optional<ChainFields> ReadChainFieldsOfLine(std::string_view line);

/// True when the log ends one record past its head and that record chains onto it
/// (`log.seq == head.seq + 1` and the record's `prev` is `head.hash`): an append whose head
/// update did not happen (a full disk, a crash between the two writes), not tampering; the
/// next append completes it. `last_line` is the log's last line (the record at `log`).
bool IsInterruptedAppend(const ChainState& head, const ChainState& log, std::string_view last_line);

/// sha256 (lower-case hex) of the canonical JSON (RFC 8785) of `record` without its "hash".
std::string RecordHash(const nlohmann::json& record);

/// The last line of the file open as `fd` whose size is `size` bytes, without its newline,
/// read backwards with pread(2) (a few KiB, more only for a longer line). Sets `*terminated`
/// to whether the file ends with a newline. Errors: kIo.
Result<std::string> ReadLastLine(int fd, off_t size, const std::string& path, bool* terminated);

/// The head file's state, or nullopt when it does not exist. Errors: kParse (not a head
/// file: names the file), kIo.
Result<std::optional<ChainState>> ReadHead(const std::filesystem::path& head);

/// The head file's size: its JSON text, spaces, and a newline.
inline constexpr size_t kHeadBytes = 128;

/// Writes `state` into the head file in place, as kHeadBytes bytes (made mode 0600 if
/// missing; a symbolic link is refused). Readers must hold the log's lock (shared) to see
/// the whole of it. REQUIRES: the caller holds the log's exclusive lock. Errors: kIo.
Result<void> WriteHead(const std::filesystem::path& head, const ChainState& state);

}  // namespace skillrt::audit

#endif  // SKILLRT_AUDIT_AUDIT_CHAIN_H_
