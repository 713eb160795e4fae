// Reading agent runs back: the list, one run's events, and the conversation replayed as text
// (`skillrt runs list|show|tail|replay`, the service's /v1/agent-runs, docs/agent.md).
#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cctype>
#include <fstream>

#include "skillrt/agent.h"
#include "skillrt/fd.h"

namespace skillrt {

using nlohmann::json;

namespace {

bool IsEnd(const std::string& type) {
  return type == "finished" || type == "failed" || type == "cancelled";
}

std::vector<std::string> RunIds(const std::filesystem::path& home) {
  std::vector<std::string> ids;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(home / "runs", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.starts_with("agent-") && entry.is_directory(ec) &&
        std::filesystem::exists(entry.path() / "events.jsonl", ec)) {
      ids.push_back(name);
    }
  }
  std::sort(ids.begin(), ids.end());  // Ids start with their start time.
  return ids;
}

std::vector<json> ReadLines(const std::filesystem::path& path) {
  std::vector<json> events;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    json event = json::parse(line, nullptr, /*allow_exceptions=*/false);
    if (event.is_object()) events.push_back(std::move(event));  // A torn line is skipped.
  }
  return events;
}

std::string Str(const json& event, const char* key) {
  auto it = event.find(key);
  if (it == event.end()) return {};
  return it->is_string() ? it->get<std::string>() : it->dump();
}

// A count written by the agent; 0 when absent or not a count (a log edited by hand).
uint64_t Count(const json& object, const char* key) {
  auto it = object.find(key);
  if (it == object.end() || !it->is_number_integer()) return 0;
  return it->is_number_unsigned() ? it->get<uint64_t>()
                                  : static_cast<uint64_t>(std::max<int64_t>(0, it->get<int64_t>()));
}

std::string Indent(const std::string& text, const std::string& prefix) {
  std::string out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t end = text.find('\n', start);
    if (end == std::string::npos) end = text.size();
    out += prefix + text.substr(start, end - start) + "\n";
    start = end + 1;
  }
  return out;
}

}  // namespace

std::filesystem::path AgentEventsPath(const std::filesystem::path& home,
                                      std::string_view run_id) {
  return home / "runs" / std::string(run_id) / "events.jsonl";
}

bool IsValidAgentRunId(std::string_view id) {
  if (!id.starts_with("agent-") || id.size() <= 6 || id.size() > 64) return false;
  for (char ch : id) {
    if (!std::isalnum(static_cast<unsigned char>(ch)) && ch != '-' && ch != '_') return false;
  }
  return true;
}

AgentRunSummary SummarizeAgentRun(std::string_view run_id, const std::vector<json>& events) {
  AgentRunSummary run{.run_id = std::string(run_id), .status = "unfinished"};
  run.events = events.size();
  if (events.empty()) return run;
  run.started = Str(events.front(), "time");
  run.model = Str(events.front(), "model");
  std::string task = Str(events.front(), "task");
  task = task.substr(0, task.find('\n'));
  if (task.size() > 80) task = task.substr(0, 77) + "...";
  run.task = task;
  for (const json& event : events) {
    const std::string type = Str(event, "type");
    if (type == "model_request") ++run.turns;
    else if (type == "tool_call") ++run.tool_calls;
    else if (type == "model_response") {
      auto usage = event.find("usage");
      if (usage != event.end() && usage->is_object()) {
        run.usage.input_tokens += Count(*usage, "input_tokens");
        run.usage.output_tokens += Count(*usage, "output_tokens");
      }
    }
  }
  const std::string last = Str(events.back(), "type");
  if (IsEnd(last)) {
    run.status = last;
    run.reason = Str(events.back(), "reason");
  }
  return run;
}

std::vector<AgentRunSummary> ListAgentRuns(const std::filesystem::path& home) {
  std::vector<AgentRunSummary> runs;
  for (const std::string& id : RunIds(home)) {
    runs.push_back(SummarizeAgentRun(id, ReadLines(AgentEventsPath(home, id))));
  }
  return runs;
}

Result<std::string> ResolveAgentRunId(const std::filesystem::path& home,
                                      std::string_view run_id) {
  const std::vector<std::string> ids = RunIds(home);
  if (run_id == "last") {
    if (ids.empty()) return Fail(ErrorCode::kNotFound, "there are no agent runs");
    return ids.back();
  }
  std::vector<std::string> matches;
  for (const std::string& id : ids) {
    if (id == run_id) return id;
    if (id.starts_with(run_id) || id.substr(6).starts_with(run_id)) matches.push_back(id);
  }
  if (matches.empty()) {
    return Fail(ErrorCode::kNotFound, "no agent run '" + std::string(run_id) + "'");
  }
  if (matches.size() > 1) {
    return Fail(ErrorCode::kInvalidArgument, "'" + std::string(run_id) + "' names " +
                                                 std::to_string(matches.size()) +
                                                 " agent runs; give more of the id");
  }
  return matches.front();
}

Result<std::vector<json>> ReadAgentEvents(const std::filesystem::path& home,
                                          std::string_view run_id) {
  auto id = ResolveAgentRunId(home, run_id);
  if (!id) return std::unexpected(id.error());
  return ReadLines(AgentEventsPath(home, *id));
}

// Following a log while it is written: the writer appends each event with one write(2)
// (event_log.cc), so a reader that keeps the bytes after the last newline for its next read
// never parses half an event.
struct AgentEventFollower::Impl {
  std::string run_id;
  std::filesystem::path path;
  UniqueFd fd;
  std::string pending;  // Bytes after the last newline read: a line still being written.
  bool ended = false;
};

AgentEventFollower::AgentEventFollower(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
AgentEventFollower::~AgentEventFollower() = default;
AgentEventFollower::AgentEventFollower(AgentEventFollower&&) noexcept = default;
AgentEventFollower& AgentEventFollower::operator=(AgentEventFollower&&) noexcept = default;

Result<AgentEventFollower> AgentEventFollower::Open(const std::filesystem::path& home,
                                                    std::string_view run_id) {
  auto id = ResolveAgentRunId(home, run_id);
  if (!id) return std::unexpected(id.error());
  auto impl = std::make_unique<Impl>();
  impl->run_id = *id;
  impl->path = AgentEventsPath(home, *id);
  impl->fd.Reset(::open(impl->path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW));
  if (!impl->fd) return FailErrno(ErrorCode::kIo, "open(" + impl->path.string() + ")", errno);
  return AgentEventFollower(std::move(impl));
}

Result<std::vector<nlohmann::json>> AgentEventFollower::ReadNew() {
  Impl& s = *impl_;
  char buffer[64 * 1024];
  for (;;) {
    const ssize_t n = ::read(s.fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, "read(" + s.path.string() + ")", errno);
    if (n == 0) break;  // At the end for now; the writer may append more.
    s.pending.append(buffer, static_cast<size_t>(n));
  }
  std::vector<nlohmann::json> events;
  size_t start = 0, newline;
  while ((newline = s.pending.find('\n', start)) != std::string::npos) {
    auto event = nlohmann::json::parse(std::string_view(s.pending).substr(start, newline - start),
                                       nullptr, /*allow_exceptions=*/false);
    start = newline + 1;
    if (!event.is_object()) continue;  // A torn line of a writer that was killed.
    if (IsEnd(Str(event, "type"))) s.ended = true;
    events.push_back(std::move(event));
  }
  s.pending.erase(0, start);
  return events;
}

bool AgentEventFollower::ended() const { return impl_->ended; }

const std::string& AgentEventFollower::run_id() const { return impl_->run_id; }

std::string ReplayAgentRun(const std::vector<json>& events) {
  std::string out;
  for (const json& event : events) {
    const std::string type = Str(event, "type");
    if (type == "started") {
      out += "run " + Str(event, "agent_run") + "  model " + Str(event, "model") + " (" +
             Str(event, "protocol") + ")  " + Str(event, "time") + "\n";
      out += Indent(Str(event, "task"), "user> ");
    } else if (type == "model_response") {
      const std::string text = Str(event, "text");
      if (!text.empty()) out += Indent(text, "model> ");
      for (const json& call : event.value("tool_calls", json::array())) {
        out += "model> calls " + Str(call, "name") + " " + Str(call, "arguments") + "  [" +
               Str(call, "id") + "]\n";
      }
    } else if (type == "model_retry") {
      out += "   ... model request retried (HTTP " + Str(event, "http_status") + ", after " +
             Str(event, "delay_ms") + " ms)\n";
    } else if (type == "approval_requested") {
      out += "   ? approval asked for " + Str(event, "tool_call_id") + " (key " +
             Str(event, "approval_key").substr(0, 12) + ")\n";
    } else if (type == "approval_decided") {
      out += "   ? " + Str(event, "decision") + " via " + Str(event, "via") + "\n";
    } else if (type == "tool_result") {
      std::string head = "tool " + Str(event, "name") + " [" + Str(event, "tool_call_id") + "]";
      if (event.contains("status")) {
        head += ": " + Str(event, "status") + ", " + Str(event, "duration_ms") + " ms";
      }
      if (event.value("is_error", false)) head += " (error)";
      out += head + "\n";
      std::string text = Str(event, "text");
      if (text.size() > 600) text = text.substr(0, 600) + " ...";
      out += Indent(text, "   | ");
    } else if (type == "finished") {
      out += "finished: " + Str(event, "turns") + " turns, " + Str(event, "tool_calls") +
             " tool calls, " + Str(event, "duration_ms") + " ms\n";
    } else if (type == "failed" || type == "cancelled") {
      out += type + ": " + Str(event, "reason") + "\n";
    }
  }
  return out;
}

}  // namespace skillrt
