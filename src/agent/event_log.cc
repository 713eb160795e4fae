// Writing the log: one write(2) per event on an O_APPEND descriptor, so a reader following
// the file (`skillrt runs tail`) never sees half a line unless the writer died inside it.
#include "agent/event_log.h"

#include <fcntl.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <ctime>

namespace skillrt::agent {

Result<std::string> NewAgentRunId() {
  unsigned char random[6];
  if (::getrandom(random, sizeof(random), 0) != static_cast<ssize_t>(sizeof(random))) {
    return FailErrno(ErrorCode::kIo, "getrandom", errno);
  }
  const std::time_t now = std::time(nullptr);
  std::tm tm{};
  ::gmtime_r(&now, &tm);
  char id[64];
  std::snprintf(id, sizeof(id), "agent-%04d%02d%02dT%02d%02d%02d-%02x%02x%02x%02x%02x%02x",
                tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                random[0], random[1], random[2], random[3], random[4], random[5]);
  return std::string(id);
}

std::string Rfc3339Now() {
  const auto now = std::chrono::system_clock::now();
  const std::time_t seconds = std::chrono::system_clock::to_time_t(now);
  const auto micros = std::chrono::duration_cast<std::chrono::microseconds>(
                          now.time_since_epoch()).count() % 1'000'000;
  std::tm tm{};
  ::gmtime_r(&seconds, &tm);
  char text[64];
  std::snprintf(text, sizeof(text), "%04d-%02d-%02dT%02d:%02d:%02d.%06lldZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<long long>(micros));
  return text;
}

Result<std::unique_ptr<EventLog>> EventLog::Create(const std::filesystem::path& runs_dir,
                                                   const std::string& run_id,
                                                   AgentEventSink sink) {
  // The runs directory is shared with the engine's journal of runs in flight (<id>.json files);
  // an agent run is a directory whose name starts with "agent-", so the two never meet.
  if (::mkdir(runs_dir.c_str(), 0700) != 0 && errno != EEXIST) {
    return FailErrno(ErrorCode::kIo, "mkdir(" + runs_dir.string() + ")", errno);
  }
  const std::filesystem::path dir = runs_dir / run_id;
  if (::mkdir(dir.c_str(), 0700) != 0) {
    if (errno == EEXIST) {
      return Fail(ErrorCode::kConflict, "an agent run " + run_id + " exists already");
    }
    return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", errno);
  }
  std::filesystem::path path = dir / "events.jsonl";
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_APPEND | O_CLOEXEC, 0600));
  if (!fd) return FailErrno(ErrorCode::kIo, "open(" + path.string() + ")", errno);
  return std::unique_ptr<EventLog>(
      new EventLog(std::move(path), std::move(fd), run_id, std::move(sink)));
}

void EventLog::Write(std::string_view type, nlohmann::json fields) {
  std::lock_guard lock(mu_);
  nlohmann::json event = {{"v", kAgentEventsVersion},
                          {"agent_run", run_id_},
                          {"seq", ++seq_},
                          {"time", Rfc3339Now()},
                          {"type", type}};
  for (auto& [key, value] : fields.items()) event[key] = std::move(value);
  std::string line =
      event.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
  size_t done = 0;
  while (done < line.size()) {
    const ssize_t n = ::write(fd_.get(), line.data() + done, line.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ++write_errors_;
      break;
    }
    done += static_cast<size_t>(n);
  }
  if (sink_) sink_(event);
}

}  // namespace skillrt::agent
