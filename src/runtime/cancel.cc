// CancelToken and the small pieces of include/skillrt/runtime.h that every runtime shares.
#include <sys/eventfd.h>
#include <unistd.h>

#include "skillrt/runtime.h"

namespace skillrt {

CancelToken::CancelToken() : fd_(::eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK)) {}

CancelToken::~CancelToken() {
  if (fd_ >= 0) ::close(fd_);
}

bool CancelToken::Cancel(std::string reason) {
  std::lock_guard running(running_mu_);
  std::vector<std::pair<uint64_t, std::function<void()>>> callbacks;
  {
    std::lock_guard lock(mu_);
    if (cancelled_.load(std::memory_order_relaxed)) return false;
    reason_ = reason.empty() ? "cancelled" : std::move(reason);
    cancelled_.store(true, std::memory_order_release);
    callbacks = std::move(callbacks_);
    callbacks_.clear();
  }
  if (fd_ >= 0) {
    const uint64_t one = 1;
    // Only fails when the counter would overflow, which one write per token cannot do.
    (void)!::write(fd_, &one, sizeof one);
  }
  for (const auto& [id, callback] : callbacks) callback();
  return true;
}

void CancelToken::Forget(uint64_t id) const {
  std::lock_guard running(running_mu_);
  std::lock_guard lock(mu_);
  std::erase_if(callbacks_, [id](const auto& entry) { return entry.first == id; });
}

std::string CancelToken::reason() const {
  std::lock_guard lock(mu_);
  return reason_;
}

uint64_t CancelToken::OnCancel(std::function<void()> callback) const {
  {
    std::lock_guard lock(mu_);
    if (!cancelled_.load(std::memory_order_relaxed)) {
      const uint64_t id = next_callback_++;
      callbacks_.emplace_back(id, std::move(callback));
      return id;
    }
  }
  callback();
  return 0;
}

std::string_view OutputStreamName(OutputStream stream) {
  return stream == OutputStream::kStdout ? "stdout" : "stderr";
}

Outcome CancelledBeforeStart(const Plan& plan, const CancelToken& token) {
  Outcome outcome;
  outcome.run_id = plan.run_id;
  outcome.skill = plan.skill_name;
  outcome.status = Status::kCancelled;
  outcome.message = token.reason() + " (before the skill started)";
  return outcome;
}

}  // namespace skillrt
