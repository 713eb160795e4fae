// The approval flow (src/gate/approval_gate.h).
#include "gate/approval_gate.h"

#include <exception>
#include <utility>

namespace skillrt {

ApprovalGate::ApprovalGate(std::filesystem::path home, ApprovalCallback approver,
                           std::string approver_name, std::chrono::milliseconds wait,
                           bool repeated_denial_aborts)
    : store_(std::move(home)),
      repeated_denial_aborts_(repeated_denial_aborts),
      approver_(std::move(approver)),
      approver_name_(std::move(approver_name)),
      wait_(wait) {}

bool ApprovalGate::aborted() const {
  std::lock_guard lock(mu_);
  return aborted_;
}

std::optional<ApprovalOutcome> ApprovalGate::FromSession(ApprovalRequest& request) {
  std::lock_guard lock(mu_);
  if (aborted_) {
    return ApprovalOutcome{.decision = ApprovalDecision::kAbort,
                           .via = "session",
                           .message = "approvals were aborted earlier in this session"};
  }
  if (session_.contains(request.key)) {
    return ApprovalOutcome{.decision = ApprovalDecision::kApproveSession, .via = "session"};
  }
  if (refused_.contains(request.key)) {
    return ApprovalOutcome{.decision = ApprovalDecision::kDeny,
                           .via = "session",
                           .message = "denied " + std::to_string(kDenialsBeforeAbort) +
                                      " times earlier: this call is not asked about again"};
  }
  request.previous_denials = denials_.contains(request.key) ? denials_.at(request.key) : 0;
  return std::nullopt;
}

Result<ApprovalOutcome> ApprovalGate::Resolve(
    const std::string& run_id, ApprovalRequest request, const CancelToken* cancel,
    const std::function<void(std::chrono::milliseconds)>& asking) {
  if (auto known = FromSession(request)) return *known;
  auto stored = store_.Contains(request.key);
  if (!stored) return std::unexpected(stored.error());
  if (*stored) {
    return ApprovalOutcome{.decision = ApprovalDecision::kApproveAlways, .via = "stored"};
  }
  if (!approver_ && wait_.count() <= 0) {
    return ApprovalOutcome{.decision = ApprovalDecision::kDeny,
                           .via = "none",
                           .message = "no approver is available (no controlling terminal, no callback); "
                                      "approve it at a terminal or allow it with a policy rule "
                                      "(docs/policy.md)"};
  }
  if (!approver_) return Wait(run_id, request, cancel, asking);

  std::lock_guard one_at_a_time(approver_mu_);
  // Another thread may have answered the same key while this one waited.
  if (auto known = FromSession(request)) return *known;
  if (asking) asking(std::chrono::milliseconds(0));
  ApprovalDecision decision = ApprovalDecision::kDeny;
  try {
    decision = approver_(request);
  } catch (const std::exception&) {
    decision = ApprovalDecision::kDeny;  // An approver that fails has not approved.
  } catch (...) {
    decision = ApprovalDecision::kDeny;
  }
  return Record(request, decision, approver_name_, "");
}

Result<ApprovalOutcome> ApprovalGate::Wait(
    const std::string& run_id, const ApprovalRequest& request, const CancelToken* cancel,
    const std::function<void(std::chrono::milliseconds)>& asking) {
  const auto now = std::chrono::system_clock::now();
  std::unique_lock lock(mu_);
  auto waiter = waiting_.insert(
      waiting_.end(),
      Waiter{.info = {.run_id = run_id, .request = request, .since = now, .deadline = now + wait_}});
  // Listed as pending before anyone is told it is asked, so that an answer always finds it.
  lock.unlock();
  if (asking) asking(wait_);
  uint64_t wake_on_cancel = 0;
  if (cancel != nullptr) {
    wake_on_cancel = cancel->OnCancel([this] {
      std::lock_guard wake(mu_);
      answered_cv_.notify_all();
    });
  }
  lock.lock();
  const bool answered = answered_cv_.wait_until(lock, waiter->info.deadline, [&] {
    return waiter->decision.has_value() || (cancel != nullptr && cancel->cancelled());
  });
  Waiter done = std::move(*waiter);
  waiting_.erase(waiter);
  lock.unlock();
  if (cancel != nullptr) cancel->Forget(wake_on_cancel);
  if (done.decision) return Record(request, *done.decision, done.via, done.message);
  if (answered) {
    return ApprovalOutcome{.decision = ApprovalDecision::kDeny,
                           .via = "cancelled",
                           .message = "the run was cancelled while it waited for approval",
                           .asked = true};
  }
  return ApprovalOutcome{.decision = ApprovalDecision::kDeny,
                         .via = "timeout",
                         .message = "not answered within " + std::to_string(wait_.count()) +
                                    " ms",
                         .asked = true};
}

Result<size_t> ApprovalGate::Answer(std::string_view run_id_or_key, ApprovalDecision decision,
                                    std::string via, std::string message) {
  if (via.empty()) return Fail(ErrorCode::kInvalidArgument, "approval: `via` must name who answered");
  size_t answered = 0;
  {
    std::lock_guard lock(mu_);
    bool by_run = false;
    for (const Waiter& waiter : waiting_) by_run |= waiter.info.run_id == run_id_or_key;
    std::set<std::string> keys;
    for (Waiter& waiter : waiting_) {
      const bool named = by_run ? waiter.info.run_id == run_id_or_key
                                : waiter.info.request.key == run_id_or_key;
      if (!named || waiter.decision) continue;
      waiter.decision = decision;
      waiter.via = via;
      waiter.message = message;
      keys.insert(waiter.info.request.key);
      ++answered;
    }
    // An approval for the session covers every pending request with the same key.
    if (decision == ApprovalDecision::kApproveSession ||
        decision == ApprovalDecision::kApproveAlways) {
      for (Waiter& waiter : waiting_) {
        if (waiter.decision || !keys.contains(waiter.info.request.key)) continue;
        waiter.decision = ApprovalDecision::kApproveSession;
        waiter.via = "session";
        ++answered;
      }
    }
  }
  if (answered == 0) {
    return Fail(ErrorCode::kNotFound, "no approval is pending for run or key '" +
                                          std::string(run_id_or_key) + "'");
  }
  answered_cv_.notify_all();
  return answered;
}

std::vector<WaitingApproval> ApprovalGate::Pending() const {
  std::lock_guard lock(mu_);
  std::vector<WaitingApproval> out;
  for (const Waiter& waiter : waiting_) {
    if (!waiter.decision) out.push_back(waiter.info);
  }
  return out;
}

Result<ApprovalOutcome> ApprovalGate::Record(const ApprovalRequest& request,
                                             ApprovalDecision decision, std::string via,
                                             std::string message) {
  ApprovalOutcome outcome{.decision = decision, .via = via, .asked = true};
  if (decision == ApprovalDecision::kApproveAlways) {
    if (auto ok = store_.Add(request, via); !ok) {
      return std::unexpected(Error::Make(ok.error().code,
                                         "approval could not be stored: " + ok.error().message));
    }
  }
  std::lock_guard lock(mu_);
  const std::string why = message.empty() ? "" : ": " + message;
  switch (decision) {
    case ApprovalDecision::kApproveOnce:
      break;
    case ApprovalDecision::kApproveSession:
    case ApprovalDecision::kApproveAlways:
      session_.insert(request.key);
      break;
    case ApprovalDecision::kDeny:
      if (++denials_[request.key] >= kDenialsBeforeAbort && !repeated_denial_aborts_) {
        refused_.insert(request.key);
        outcome.message = "denied by the approver (" + via + ")" + why + "; denied " +
                          std::to_string(kDenialsBeforeAbort) +
                          " times: this call is not asked about again";
      } else if (denials_[request.key] >= kDenialsBeforeAbort) {
        aborted_ = true;
        outcome.decision = ApprovalDecision::kAbort;
        outcome.message = "denied " + std::to_string(kDenialsBeforeAbort) +
                          " times: approvals aborted for this session";
      } else {
        outcome.message = "denied by the approver (" + via + ")" + why;
      }
      break;
    case ApprovalDecision::kAbort:
      aborted_ = true;
      outcome.message = "aborted by the approver (" + via + ")" + why;
      break;
  }
  return outcome;
}

}  // namespace skillrt
