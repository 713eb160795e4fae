// The approval flow of one Engine: stored approvals, session approvals, the approver or
// answers given while the run waits, denial counting and abort (docs/approvals.md,
// "Deciding").
#ifndef SKILLRT_GATE_APPROVAL_GATE_H_
#define SKILLRT_GATE_APPROVAL_GATE_H_

#include <chrono>
#include <condition_variable>
#include <filesystem>
#include <functional>
#include <list>
#include <map>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "skillrt/approval.h"
#include "skillrt/error.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// How one approval request was answered.
struct ApprovalOutcome {
  ApprovalDecision decision = ApprovalDecision::kDeny;
  /// Who answered: "stored" (approvals.json), "session" (an earlier approval or abort in this
  /// Engine), "none" (no approver: denied), "timeout" (nobody answered in time: denied),
  /// "cancelled" (the run was cancelled while it waited), the approver's name ("callback",
  /// "tty") or the `via` given to Answer.
  std::string via = {};
  std::string message = {};  ///< Why, in one line, for a refusal's Outcome::message.
  bool asked = false;        ///< An approver or Answer was asked (not stored, session, none).
};

/// A request that waits for Answer (include/skillrt/engine.h, PendingApproval).
struct WaitingApproval {
  std::string run_id;
  ApprovalRequest request;
  std::chrono::system_clock::time_point since;
  std::chrono::system_clock::time_point deadline;
};

/// Thread-safe. A synchronous approver is called with no lock but `approver_mu_` held, so
/// requests reach it one at a time; requests answered with Answer wait each on their own.
class ApprovalGate {
 public:
  /// `home` holds approvals.json; `approver` may be empty. Without an approver, a request
  /// waits up to `wait` for Answer (zero: it is denied at once, via "none").
  /// `repeated_denial_aborts`: EngineOptions::repeated_denial_aborts.
  ApprovalGate(std::filesystem::path home, ApprovalCallback approver, std::string approver_name,
               std::chrono::milliseconds wait = std::chrono::milliseconds(0),
               bool repeated_denial_aborts = true);

  /// Answers `request` of run `run_id`, in this order: a session that was aborted refuses
  /// (kAbort); a key approved earlier in the session or stored in approvals.json is approved
  /// without asking; then the synchronous approver decides; else, if the gate waits, the
  /// request is pending until Answer, the wait's end (kDeny via "timeout") or `cancel`
  /// (kDeny via "cancelled"); else it is denied (via "none"). `asking` is called (on this
  /// thread, no lock held) just before an approver or Answer is asked, with how long the
  /// request may wait (zero for a synchronous approver). kApproveSession and kApproveAlways
  /// add the key to the session, kApproveAlways also to the store; the kDenialsBeforeAbort-th
  /// kDeny of a key aborts the session (or, without `repeated_denial_aborts`, refuses that key
  /// from then on, via "session"), and kAbort aborts it (a timeout or a cancel is not a
  /// denial).
  /// Errors: the store's (kValidation, kIo): nothing is approved when the store cannot be read
  /// or written.
  Result<ApprovalOutcome> Resolve(
      const std::string& run_id, ApprovalRequest request, const CancelToken* cancel = nullptr,
      const std::function<void(std::chrono::milliseconds)>& asking = {});

  /// Answers the pending requests of the run `run_id_or_key`, or, when no run has that id,
  /// every pending request with that approval key. An approval for the session (or always)
  /// also answers the other pending requests with the same key. Returns how many were
  /// answered. kNotFound when none is pending under that name; kInvalidArgument for an
  /// empty `via`.
  Result<size_t> Answer(std::string_view run_id_or_key, ApprovalDecision decision,
                        std::string via, std::string message = {});

  /// The requests waiting for Answer, oldest first.
  std::vector<WaitingApproval> Pending() const;

  /// True once the session was aborted.
  bool aborted() const;

 private:
  struct Waiter {
    WaitingApproval info;
    std::optional<ApprovalDecision> decision = {};  // Guarded by mu_.
    std::string via = {};                           // Guarded by mu_.
    std::string message = {};                       // Guarded by mu_.
  };
  std::optional<ApprovalOutcome> FromSession(ApprovalRequest& request);  // Takes mu_.
  // Stores, counts and turns the answer into an outcome. Takes mu_.
  Result<ApprovalOutcome> Record(const ApprovalRequest& request, ApprovalDecision decision,
                                 std::string via, std::string message);
  Result<ApprovalOutcome> Wait(const std::string& run_id, const ApprovalRequest& request,
                               const CancelToken* cancel,
                               const std::function<void(std::chrono::milliseconds)>& asking);

  ApprovalStore store_;
  bool repeated_denial_aborts_;
  ApprovalCallback approver_;
  std::string approver_name_;
  std::chrono::milliseconds wait_;
  std::mutex approver_mu_;  // Held while the approver runs: one request at a time.
  mutable std::mutex mu_;   // Guards the fields below.
  std::condition_variable answered_cv_;
  std::set<std::string> session_;
  std::map<std::string, int> denials_;
  std::set<std::string> refused_;  // Keys denied kDenialsBeforeAbort times (no abort mode).
  std::list<Waiter> waiting_;
  bool aborted_ = false;
};

}  // namespace skillrt

#endif  // SKILLRT_GATE_APPROVAL_GATE_H_
