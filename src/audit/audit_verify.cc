// Verification of the audit log's hash chain and head (VerifyAuditLog in
// include/skillrt/audit.h; docs/audit.md, "Verification").
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <optional>
#include <string>

#include "audit/audit_chain.h"
#include "audit/canonical_json.h"
#include "skillrt/audit.h"
#include "skillrt/fd.h"

namespace skillrt {
namespace {

// Checks the lines of one log in order; stops at the first bad one.
class ChainChecker {
 public:
  ChainChecker(std::optional<audit::ChainState> head, std::optional<AuditPin> pin)
      : head_(std::move(head)), pin_(std::move(pin)) {
    result_.ok = true;
  }

  // Checks line number `line_no`; false once a bad record was found.
  bool Check(size_t line_no, const std::string& text, bool terminated) {
    uint64_t expected = state_.seq + 1;
    if (!terminated) {
      return Bad(AuditProblem::kMalformed, line_no, expected,
                 "no newline at the end of the line (an incomplete write, or an edit)");
    }
    if (text.empty()) return Bad(AuditProblem::kMalformed, line_no, expected, "empty line");
    nlohmann::json record;
    try {
      record = nlohmann::json::parse(text);
    } catch (const nlohmann::json::parse_error& e) {
      return Bad(AuditProblem::kMalformed, line_no, expected,
                 "malformed JSON at byte " + std::to_string(e.byte) + " (record edited)");
    } catch (const nlohmann::json::exception& e) {  // E.g. a number beyond a double's range.
      return Bad(AuditProblem::kMalformed, line_no, expected, "malformed JSON (record edited)");
    }
    if (!record.is_object()) {
      return Bad(AuditProblem::kMalformed, line_no, expected, "not a JSON object");
    }
    if (!record.contains("seq") && !record.contains("prev") && !record.contains("hash")) {
      return Bad(AuditProblem::kUnchained, line_no, expected,
                 "unchained record (no seq, prev or hash: written before the log was chained)");
    }
    // Until its hash checks out, a record's own seq is not to be trusted: name the seq this
    // line should have. After that, an intact record out of place is named by its own seq.
    auto fields = audit::ReadChainFields(record);
    if (!fields) {
      return Bad(AuditProblem::kMalformed, line_no, expected,
                 "seq, prev or hash missing or of the wrong type (record edited)");
    }
    if (text != CanonicalJson(record)) {
      return Bad(AuditProblem::kNotCanonical, line_no, expected,
                 "not in canonical form (record edited)");
    }
    if (audit::RecordHash(record) != fields->hash) {
      return Bad(AuditProblem::kBadHash, line_no, expected, "hash mismatch (record edited)");
    }
    const uint64_t seq = fields->seq;
    if (fields->prev != state_.hash) {
      return Bad(AuditProblem::kPrevMismatch, line_no, seq,
                 "prev does not match the hash of the record before (a record deleted, "
                 "inserted or reordered)");
    }
    if (fields->seq != expected) {
      return Bad(AuditProblem::kSeqGap, line_no, seq,
                 "seq gap: expected seq " + std::to_string(expected));
    }
    if (auto note = record.find("head_mismatch"); note != record.end()) {
      std::string said = note->is_object() ? "seq " + note->value("seq", nlohmann::json()).dump()
                                           : note->dump();
      return Bad(AuditProblem::kHeadMismatch, line_no, seq,
                 "appended when the head file disagreed with the log (head: " + said +
                 "; log: seq " + std::to_string(state_.seq) +
                 "): records were deleted from the end, or the head was edited");
    }
    state_ = {.seq = fields->seq, .hash = fields->hash};
    ++result_.records;
    if (head_ && head_->seq == state_.seq) head_hash_seen_ = state_.hash;
    if (pin_ && pin_->seq == state_.seq) pin_hash_seen_ = state_.hash;
    last_line_ = line_no;
    return true;
  }

  // After the last line: does the log end where its head says?
  void CheckHead(const std::optional<Error>& head_error, const std::string& head_name) {
    if (!result_.ok) return;
    if (head_error) {
      Bad(AuditProblem::kHeadMismatch, last_line_, state_.seq, head_error->message);
      return;
    }
    if (!head_) {
      if (state_.seq > 0) {
        Bad(AuditProblem::kHeadMismatch, last_line_, state_.seq,
            head_name + " is missing, so the end of the log cannot be confirmed");
      }
      return;
    }
    if (head_->seq > state_.seq) {
      Bad(AuditProblem::kHeadMismatch, last_line_ + 1, state_.seq + 1,
          "missing: " + head_name + " records seq " + std::to_string(head_->seq) +
              " but the log ends at seq " + std::to_string(state_.seq) +
              " (records deleted from the end)");
    } else if (head_hash_seen_ != head_->hash) {
      Bad(AuditProblem::kHeadMismatch, head_->seq, head_->seq,
          "hash differs from " + head_name + " (the log replaced, or the head edited)");
    } else if (head_->seq + 1 == state_.seq) {
      // The chain verified up to here, so the last record links to the head's: its head
      // update did not happen. Not tampering (whoever could add a record could also have
      // written the head); the next append completes it.
      result_.interrupted_append = true;
      result_.message = "record seq " + std::to_string(state_.seq) + " is not yet covered by " +
                        head_name + " (an interrupted append, e.g. a full disk); the next "
                        "append completes it";
    } else if (head_->seq < state_.seq) {
      Bad(AuditProblem::kHeadMismatch, head_->seq + 1, head_->seq + 1,
          "not covered by " + head_name + ", which ends at seq " + std::to_string(head_->seq) +
              " (an interrupted append, or the head edited)");
    }
  }

  // After CheckHead: does the log still hold the pinned record?
  void CheckPin() {
    if (!result_.ok || !pin_) return;
    if (pin_->seq > state_.seq) {
      Bad(AuditProblem::kHeadMismatch, last_line_ + 1, state_.seq + 1,
          "missing: the pinned head records seq " + std::to_string(pin_->seq) +
              " but the log ends at seq " + std::to_string(state_.seq) +
              " (records deleted, or the log replaced)");
    } else if (pin_hash_seen_ != pin_->hash) {
      Bad(AuditProblem::kHeadMismatch, pin_->seq, pin_->seq,
          "hash differs from the pinned head (the log replaced)");
    }
  }

  AuditVerification Finish() {
    result_.head_seq = state_.seq;
    result_.head_hash = state_.hash;
    return std::move(result_);
  }

 private:
  bool Bad(AuditProblem problem, size_t line_no, uint64_t seq, const std::string& what) {
    result_.ok = false;
    result_.problem = problem;
    result_.line = line_no;
    result_.seq = seq;
    result_.message = "record seq " + std::to_string(seq) + ": " + what;
    return false;
  }

  std::optional<audit::ChainState> head_;
  audit::ChainState state_;
  std::optional<AuditPin> pin_;
  std::string head_hash_seen_{kAuditGenesisHash};  // The hash of record head_->seq.
  std::string pin_hash_seen_{kAuditGenesisHash};   // The hash of record pin_->seq.
  size_t last_line_ = 0;
  AuditVerification result_;
};

}  // namespace

std::string_view AuditProblemName(AuditProblem problem) {
  switch (problem) {
    case AuditProblem::kNone: return "none";
    case AuditProblem::kMalformed: return "malformed";
    case AuditProblem::kUnchained: return "unchained";
    case AuditProblem::kNotCanonical: return "not_canonical";
    case AuditProblem::kBadHash: return "bad_hash";
    case AuditProblem::kPrevMismatch: return "prev_mismatch";
    case AuditProblem::kSeqGap: return "seq_gap";
    case AuditProblem::kHeadMismatch: return "head_mismatch";
  }
  return "unknown";
}

std::filesystem::path AuditHeadPath(const std::filesystem::path& file) {
  std::filesystem::path head = file;
  head.replace_extension(".head");
  return head;
}

Result<AuditVerification> VerifyAuditLog(const std::filesystem::path& file,
                                         const std::optional<AuditPin>& pin) {
  std::filesystem::path head_path = AuditHeadPath(file);
  std::string head_name = head_path.filename().string();
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd && errno != ENOENT) {
    return FailErrno(ErrorCode::kIo, "open(" + file.string() + ")", errno);
  }
  audit::FileLock lock(fd.get());
  if (fd) {
    if (auto locked = lock.Lock(LOCK_SH, file.string()); !locked) {
      return std::unexpected(locked.error());
    }
  }
  auto head = audit::ReadHead(head_path);
  if (!head && head.error().code == ErrorCode::kIo) return std::unexpected(head.error());
  if (!fd) {
    if (head && !*head) {
      return Fail(ErrorCode::kNotFound, "no audit log at " + file.string());
    }
    // The head is there, the log is not: the log was deleted.
    return AuditVerification{.ok = false,
                             .line = 1,
                             .seq = 1,
                             .problem = AuditProblem::kHeadMismatch,
                             .message = "record seq 1: missing: the log does not exist but " +
                                        head_name + " does (the log deleted)"};
  }

  ChainChecker checker(head ? *head : std::nullopt, pin);
  std::array<char, 64 * 1024> buf;
  std::string line;
  size_t line_no = 0;
  bool going = true;
  while (going) {
    ssize_t got = ::read(fd.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (got == 0) break;
    for (ssize_t i = 0; i < got && going; ++i) {
      if (buf[static_cast<size_t>(i)] == '\n') {
        going = checker.Check(++line_no, line, /*terminated=*/true);
        line.clear();
      } else {
        line += buf[static_cast<size_t>(i)];
      }
    }
  }
  if (going && !line.empty()) going = checker.Check(++line_no, line, /*terminated=*/false);
  checker.CheckHead(head ? std::nullopt : std::optional<Error>(head.error()), head_name);
  checker.CheckPin();
  return checker.Finish();
}

Result<std::optional<AuditPin>> ReadAuditHead(const std::filesystem::path& head_file) {
  auto head = audit::ReadHead(head_file);
  if (!head) return std::unexpected(head.error());
  if (!*head) return std::optional<AuditPin>();
  return std::optional<AuditPin>(AuditPin{.seq = (*head)->seq, .hash = (*head)->hash});
}

}  // namespace skillrt
