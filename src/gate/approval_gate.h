// The approval flow of one Engine: stored approvals, session approvals, the approver, denial
// counting and abort (docs/approvals.md, "Deciding").
#ifndef SKILLRT_GATE_APPROVAL_GATE_H_
#define SKILLRT_GATE_APPROVAL_GATE_H_

#include <filesystem>
#include <map>
#include <mutex>
#include <set>
#include <string>

#include "skillrt/approval.h"
#include "skillrt/error.h"

namespace skillrt {

/// How one approval request was answered.
struct ApprovalOutcome {
  ApprovalDecision decision = ApprovalDecision::kDeny;
  /// Who answered: "stored" (approvals.json), "session" (an earlier approval or abort in this
  /// Engine), "none" (no approver: denied), or the approver's name ("callback", "tty").
  std::string via = {};
  std::string message = {};  ///< Why, in one line, for a refusal's Outcome::message.
};

/// Thread-safe. The approver is called with no lock but `approver_mu_` held, so requests
/// reach it one at a time.
class ApprovalGate {
 public:
  /// `home` holds approvals.json; `approver` may be empty (no approver: every ask is denied).
  ApprovalGate(std::filesystem::path home, ApprovalCallback approver, std::string approver_name);

  /// Answers `request`, in this order: a session that was aborted refuses (kAbort); a key
  /// approved earlier in the session or stored in approvals.json is approved without asking;
  /// no approver denies; else the approver decides. kApproveSession and kApproveAlways add the
  /// key to the session, kApproveAlways also to the store; the kDenialsBeforeAbort-th kDeny of
  /// a key, and kAbort, abort the session. Errors: the store's (kValidation, kIo): nothing is
  /// approved when the store cannot be read or written.
  Result<ApprovalOutcome> Resolve(ApprovalRequest request);

  /// True once the session was aborted.
  bool aborted() const;

 private:
  ApprovalStore store_;
  ApprovalCallback approver_;
  std::string approver_name_;
  std::mutex approver_mu_;  // Held while the approver runs: one request at a time.
  mutable std::mutex mu_;   // Guards the fields below.
  std::set<std::string> session_;
  std::map<std::string, int> denials_;
  bool aborted_ = false;
};

}  // namespace skillrt

#endif  // SKILLRT_GATE_APPROVAL_GATE_H_
