// The approval flow (src/gate/approval_gate.h).
#include "gate/approval_gate.h"

#include <exception>
#include <utility>

namespace skillrt {

ApprovalGate::ApprovalGate(std::filesystem::path home, ApprovalCallback approver,
                           std::string approver_name)
    : store_(std::move(home)),
      approver_(std::move(approver)),
      approver_name_(std::move(approver_name)) {}

bool ApprovalGate::aborted() const {
  std::lock_guard lock(mu_);
  return aborted_;
}

Result<ApprovalOutcome> ApprovalGate::Resolve(ApprovalRequest request) {
  auto from_session = [&]() -> std::optional<ApprovalOutcome> {
    std::lock_guard lock(mu_);
    if (aborted_) {
      return ApprovalOutcome{.decision = ApprovalDecision::kAbort,
                             .via = "session",
                             .message = "approvals were aborted earlier in this session"};
    }
    if (session_.contains(request.key)) {
      return ApprovalOutcome{.decision = ApprovalDecision::kApproveSession, .via = "session"};
    }
    request.previous_denials = denials_.contains(request.key) ? denials_.at(request.key) : 0;
    return std::nullopt;
  };
  if (auto known = from_session()) return *known;
  auto stored = store_.Contains(request.key);
  if (!stored) return std::unexpected(stored.error());
  if (*stored) {
    return ApprovalOutcome{.decision = ApprovalDecision::kApproveAlways, .via = "stored"};
  }
  if (!approver_) {
    return ApprovalOutcome{.decision = ApprovalDecision::kDeny,
                           .via = "none",
                           .message = "no approver is available (no controlling terminal, no callback); "
                                      "approve it at a terminal or allow it with a policy rule "
                                      "(docs/policy.md)"};
  }

  std::lock_guard one_at_a_time(approver_mu_);
  // Another thread may have answered the same key while this one waited.
  if (auto known = from_session()) return *known;
  ApprovalDecision decision = ApprovalDecision::kDeny;
  try {
    decision = approver_(request);
  } catch (const std::exception&) {
    decision = ApprovalDecision::kDeny;  // An approver that fails has not approved.
  } catch (...) {
    decision = ApprovalDecision::kDeny;
  }
  ApprovalOutcome outcome{.decision = decision, .via = approver_name_};
  if (decision == ApprovalDecision::kApproveAlways) {
    if (auto ok = store_.Add(request, approver_name_); !ok) {
      return std::unexpected(Error::Make(ok.error().code,
                                         "approval could not be stored: " + ok.error().message));
    }
  }
  std::lock_guard lock(mu_);
  switch (decision) {
    case ApprovalDecision::kApproveOnce:
      break;
    case ApprovalDecision::kApproveSession:
    case ApprovalDecision::kApproveAlways:
      session_.insert(request.key);
      break;
    case ApprovalDecision::kDeny:
      if (++denials_[request.key] >= kDenialsBeforeAbort) {
        aborted_ = true;
        outcome.decision = ApprovalDecision::kAbort;
        outcome.message = "denied " + std::to_string(kDenialsBeforeAbort) +
                          " times: approvals aborted for this session";
      } else {
        outcome.message = "denied by the approver (" + approver_name_ + ")";
      }
      break;
    case ApprovalDecision::kAbort:
      aborted_ = true;
      outcome.message = "aborted by the approver (" + approver_name_ + ")";
      break;
  }
  return outcome;
}

}  // namespace skillrt
