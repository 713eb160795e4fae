// Filtering the audit log's records (QueryAuditLog in include/skillrt/audit.h).
#include <errno.h>
#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <array>
#include <deque>
#include <string>

#include "audit/audit_chain.h"
#include "audit/audit_time.h"
#include "skillrt/audit.h"
#include "skillrt/fd.h"

namespace skillrt {
namespace {

bool FieldEquals(const nlohmann::json& record, const char* key,
                 const std::optional<std::string>& wanted) {
  if (!wanted) return true;
  auto it = record.find(key);
  return it != record.end() && it->is_string() && it->get_ref<const std::string&>() == *wanted;
}

bool Matches(const nlohmann::json& record, const AuditQuery& query) {
  if (!FieldEquals(record, "skill", query.skill) || !FieldEquals(record, "status", query.status) ||
      !FieldEquals(record, "event", query.event)) {
    return false;
  }
  if (!query.since && !query.until) return true;
  auto time = record.find("time");
  if (time == record.end() || !time->is_string()) return false;
  auto when = audit::ParseRfc3339(time->get_ref<const std::string&>());
  if (!when) return false;
  return (!query.since || *when >= *query.since) && (!query.until || *when <= *query.until);
}

}  // namespace

Result<std::vector<nlohmann::json>> QueryAuditLog(const std::filesystem::path& file,
                                                  const AuditQuery& query) {
  UniqueFd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return FailErrno(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "open(" + file.string() + ")", errno);
  }
  // Appends are one write(2) each under an exclusive lock: the shared lock keeps a read from
  // meeting a line that is half written.
  audit::FileLock lock(fd.get());
  if (auto locked = lock.Lock(LOCK_SH, file.string()); !locked) {
    return std::unexpected(locked.error());
  }
  std::deque<nlohmann::json> matches;
  size_t line_no = 0;
  auto take = [&](const std::string& line) -> Result<void> {
    ++line_no;
    nlohmann::json record = nlohmann::json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (record.is_discarded() || !record.is_object()) {
      return Fail(ErrorCode::kParse,
                  file.string() + ":" + std::to_string(line_no) + ": not a JSON object");
    }
    if (!Matches(record, query)) return {};
    if (query.limit > 0 && matches.size() == query.limit) matches.pop_front();
    matches.push_back(std::move(record));
    return {};
  };
  std::array<char, 64 * 1024> buf;
  std::string line;
  for (;;) {
    ssize_t got = ::read(fd.get(), buf.data(), buf.size());
    if (got < 0 && errno == EINTR) continue;
    if (got < 0) return FailErrno(ErrorCode::kIo, "read(" + file.string() + ")", errno);
    if (got == 0) break;
    for (ssize_t i = 0; i < got; ++i) {
      char c = buf[static_cast<size_t>(i)];
      if (c != '\n') {
        line += c;
        continue;
      }
      if (auto taken = take(line); !taken) return std::unexpected(taken.error());
      line.clear();
    }
  }
  if (!line.empty()) {
    if (auto taken = take(line); !taken) return std::unexpected(taken.error());
  }
  return std::vector<nlohmann::json>(std::make_move_iterator(matches.begin()),
                                     std::make_move_iterator(matches.end()));
}

}  // namespace skillrt
