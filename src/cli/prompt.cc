// The interactive approver: asks the person at the controlling terminal (cli.h, TtyApprover;
// docs/approvals.md "The prompt").
#include <fcntl.h>
#include <termios.h>
#include <unistd.h>

#include <cerrno>
#include <memory>
#include <optional>
#include <string>

#include "cli/cli.h"

namespace skillrt::cli {
namespace {

constexpr int kAttempts = 3;
constexpr size_t kMaxAnswerBytes = 64;
constexpr std::string_view kQuestion =
    "Approve? [y] once, [s] for this session, [a] always (stored), [n] deny, [q] abort: ";

bool WriteTty(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

// One line from the terminal, without its newline, lower-cased and trimmed; nullopt at end of
// input or on an error. Longer lines are read to their end and returned cut.
std::optional<std::string> ReadAnswer(int fd) {
  std::string line;
  for (;;) {
    char c = 0;
    ssize_t n = ::read(fd, &c, 1);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return std::nullopt;
    if (c == '\n' || c == '\r') break;
    if (line.size() < kMaxAnswerBytes) line += c;
  }
  std::string out;
  for (char c : line) {
    if (c == ' ' || c == '\t') continue;
    out += (c >= 'A' && c <= 'Z') ? static_cast<char>(c - 'A' + 'a') : c;
  }
  return out;
}

std::optional<ApprovalDecision> ParseAnswer(const std::string& answer) {
  if (answer == "y" || answer == "yes") return ApprovalDecision::kApproveOnce;
  if (answer == "s" || answer == "session") return ApprovalDecision::kApproveSession;
  if (answer == "a" || answer == "always") return ApprovalDecision::kApproveAlways;
  if (answer == "n" || answer == "no") return ApprovalDecision::kDeny;
  if (answer == "q" || answer == "abort") return ApprovalDecision::kAbort;
  return std::nullopt;
}

ApprovalDecision Ask(int fd, const ApprovalRequest& request) {
  if (!WriteTty(fd, "\n" + FormatApprovalPrompt(request))) return ApprovalDecision::kDeny;
  // Keys pressed before the question was shown do not answer it.
  ::tcflush(fd, TCIFLUSH);
  for (int attempt = 0; attempt < kAttempts; ++attempt) {
    if (!WriteTty(fd, kQuestion)) return ApprovalDecision::kDeny;
    std::optional<std::string> answer = ReadAnswer(fd);
    if (!answer) {
      WriteTty(fd, "\nno answer: denied\n");
      return ApprovalDecision::kDeny;
    }
    if (auto decision = ParseAnswer(*answer)) {
      WriteTty(fd, "skillrt: " + std::string(ApprovalDecisionName(*decision)) + "\n");
      return *decision;
    }
  }
  WriteTty(fd, "skillrt: no valid answer: denied\n");
  return ApprovalDecision::kDeny;
}

}  // namespace

std::optional<ApprovalCallback> TtyApprover() {
  // /dev/tty is the controlling terminal whatever stdin, stdout and stderr are; a process
  // without one (a daemon, a pipeline under setsid, CI) gets ENXIO and has no approver.
  const int tty = ::open("/dev/tty", O_RDWR | O_NOCTTY | O_CLOEXEC);
  if (tty < 0) return std::nullopt;
  // Shared by the copies of the callback; closed with the last of them.
  auto fd = std::shared_ptr<const int>(new int(tty), [](const int* owned) {
    ::close(*owned);
    delete owned;
  });
  return ApprovalCallback([fd](const ApprovalRequest& request) { return Ask(*fd, request); });
}

}  // namespace skillrt::cli
