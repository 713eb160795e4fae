// The audit log: one JSON line per run and per refusal, appended under $SKILLRT_HOME, each
// line linked to the one before by a hash chain (docs/audit.md).
#ifndef SKILLRT_AUDIT_H_
#define SKILLRT_AUDIT_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt {

/// What is wrong with the first bad record of an audit log (docs/audit.md, "Verification").
enum class AuditProblem {
  kNone,          ///< Nothing: the log verified.
  kMalformed,     ///< Not a JSON object, an empty line, no final newline, or a `seq`, `prev`
                  ///< or `hash` of the wrong type or missing.
  kUnchained,     ///< A record with none of `seq`, `prev`, `hash`: written before the chain.
  kNotCanonical,  ///< The line is not the canonical JSON of the record it holds: edited.
  kBadHash,       ///< `hash` is not the sha256 of the record's content: edited.
  kPrevMismatch,  ///< `prev` is not the previous record's `hash`: deleted, inserted, reordered.
  kSeqGap,        ///< `seq` is not one more than the previous record's.
  kHeadMismatch,  ///< The log's end disagrees with its head file (records deleted from the end,
                  ///< the log replaced or the head edited), or disagreed when a record was
                  ///< appended (the record carries `head_mismatch`).
};

/// "malformed", "unchained", "not_canonical", "bad_hash", "prev_mismatch", "seq_gap",
/// "head_mismatch"; "none" for kNone.
std::string_view AuditProblemName(AuditProblem problem);

/// `prev` of the first record: 64 zeros.
inline constexpr std::string_view kAuditGenesisHash =
    "0000000000000000000000000000000000000000000000000000000000000000";

/// The result of verifying an audit log's hash chain.
struct AuditVerification {
  bool ok = false;        ///< Every record verified and the log ends where its head says.
  uint64_t records = 0;   ///< Records that verified: all of them when ok.
  uint64_t head_seq = 0;  ///< `seq` of the last verified record; 0 for none.
  std::string head_hash = std::string(kAuditGenesisHash);  ///< Its `hash`; genesis for none.
  size_t line = 0;        ///< 1-based line of the first bad record; 0 when ok.
  /// The seq the bad record should have (its position in the chain) when the record itself
  /// is damaged (kMalformed, kNotCanonical, kBadHash); else the intact record's own `seq`.
  uint64_t seq = 0;
  AuditProblem problem = AuditProblem::kNone;
  std::string message = {};  ///< E.g. "record seq 17: hash mismatch (record edited)".
  /// The log verified, but its last record is one past the head file and chained onto it:
  /// an append whose head update was interrupted (a full disk, a crash), which the next
  /// append completes. Not a sign of tampering; `message` says so.
  bool interrupted_append = false;
};

/// The head file beside the log: `file` with its extension replaced by ".head"
/// (`audit.log` -> `audit.head`). It holds the last record's `seq` and `hash`.
std::filesystem::path AuditHeadPath(const std::filesystem::path& file);

/// Checks every record of the log at `file` in order: each line is the canonical JSON
/// (RFC 8785) of a record, `seq` counts 1, 2, 3 ..., `prev` is the previous record's `hash`
/// (kAuditGenesisHash for the first) and `hash` is the sha256 of the record's canonical JSON
/// without `hash`; then that the last record matches the head file (AuditHeadPath). Stops at
/// the first bad record. Holds a shared flock(2) on the log while reading, so it sees no
/// half-finished append. Thread-safe. Errors: kNotFound when neither the log nor its head
/// exists, kIo. A log that fails verification is not an Error: see AuditVerification.
/// `pin`, when given, is a head recorded earlier somewhere the log's writers cannot reach
/// (docs/audit.md): the log must still hold record `pin->seq` with hash `pin->hash`;
/// otherwise the log was replaced or cut (kHeadMismatch).
struct AuditPin {
  uint64_t seq = 0;
  std::string hash = {};
};
Result<AuditVerification> VerifyAuditLog(const std::filesystem::path& file,
                                         const std::optional<AuditPin>& pin = std::nullopt);

/// A filter over audit records; every field that is set must match.
struct AuditQuery {
  std::optional<std::string> skill = std::nullopt;   ///< `skill` equals this.
  std::optional<std::string> status = std::nullopt;  ///< `status` equals this (ok, denied...).
  /// `event` equals this (run, refusal, approval).
  std::optional<std::string> event = std::nullopt;
  /// `time` at or after `since`, at or before `until`; records without a readable `time`
  /// never match a time bound.
  std::optional<std::chrono::system_clock::time_point> since = std::nullopt;
  std::optional<std::chrono::system_clock::time_point> until = std::nullopt;
  size_t limit = 0;  ///< Keep only the last `limit` matches; 0 keeps all.
};

/// The records of the log at `file` that match `query`, oldest first. Reads the file once,
/// under a shared flock(2). Thread-safe. Errors: kParse naming the line that is not a JSON
/// object, kNotFound when the file does not exist, kIo.
Result<std::vector<nlohmann::json>> QueryAuditLog(const std::filesystem::path& file,
                                                  const AuditQuery& query);

/// An append-only JSON-lines file whose records form a hash chain (docs/audit.md). Each
/// Append reads the last record, computes the new one's `seq`, `prev` and `hash` and writes
/// it as one line with a single write(2) on an O_APPEND descriptor, then updates the head
/// file, all while holding an exclusive flock(2) on the log; so concurrent writers (threads
/// or processes) never interleave, lose lines or fork the chain. Thread-safe.
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
  /// if the record has none, and the chain fields `seq`, `prev` and `hash`. When the last
  /// line is not a chained record the chain restarts at seq 1 from the genesis hash and the
  /// record gets a `chain_note`; when the head file disagrees with the log's last record the
  /// record gets `head_mismatch` (the head's seq and hash). kInvalidArgument when `record`
  /// is not an object or sets one of those fields itself; kIo on a failed write (the file
  /// is never left with half a line), or when the record was written but the head was not
  /// (the next Append completes such an interrupted append without flagging it: the record
  /// is one past the head and chained onto it). On ENOSPC the reserve (Reserve) is given up
  /// and the write tried once more.
  Result<void> Append(const nlohmann::json& record);

  /// Ensures `bytes` of disk are set aside beside the log (`audit.reserve`, allocated with
  /// posix_fallocate(3)) for records that must not be lost: when the disk fills up while a
  /// skill runs, Append frees the reserve to write the run's records. The engine calls it
  /// before every run and refuses to start one it could not record. Cheap when the reserve
  /// is already there (one stat(2)). Errors: kIo naming the file (ENOSPC: the disk is full).
  /// Thread-safe.
  Result<void> Reserve(uint64_t bytes = kReserveBytes);

  /// The default size of the reserve: room for a few thousand records.
  static constexpr uint64_t kReserveBytes = 1 << 20;

  /// The last `n` records, oldest first, read under a shared flock(2). kParse names the line
  /// number of a corrupt line.
  Result<std::vector<nlohmann::json>> Tail(size_t n) const;

  /// VerifyAuditLog(path()).
  Result<AuditVerification> Verify() const;

  const std::filesystem::path& path() const { return path_; }

 private:
  AuditLog(std::filesystem::path path, int fd) : path_(std::move(path)), fd_(fd) {}
  std::filesystem::path reserve_path() const;
  // Frees the reserve; true when there was one to free.
  bool ReleaseReserve();
  std::filesystem::path path_;
  int fd_ = -1;  // Owned.
};

/// Reads a chain head file (`<log>.head`, docs/audit.md "The head") as a pin for
/// VerifyAuditLog. nullopt when the file does not exist; kParse when it is not a head file;
/// kIo when it cannot be read.
Result<std::optional<AuditPin>> ReadAuditHead(const std::filesystem::path& head_file);

/// Parses a time bound of an audit query: an RFC 3339 date-time or full-date, or an age before
/// `now`: a non-negative integer followed by `s`, `m`, `h`, `d` or `w` (`90s`, `30m`, `1h`,
/// `2d`, `1w`). kInvalidArgument quoting `text` and the accepted forms. Pure.
Result<std::chrono::system_clock::time_point> ParseAuditTimeBound(
    std::string_view text, std::chrono::system_clock::time_point now);

/// Parses an RFC 3339 date-time as audit records and the service write them (RFC 3339
/// section 5.6: `2026-11-29T16:41:26.123456Z`, `2026-11-29t18:41:26+02:00`, up to nanosecond
/// fractions, a space for the `T`) or a full-date (`2026-11-29`, its midnight UTC). A leap
/// second (`:60`) is read as the next second. nullopt for anything else, impossible dates
/// included. Pure.
std::optional<std::chrono::system_clock::time_point> ParseAuditTime(std::string_view text);

}  // namespace skillrt

#endif  // SKILLRT_AUDIT_H_
