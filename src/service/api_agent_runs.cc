// The agent runs under the engine's home (docs/agent.md, "The event log"), read-only: the
// list, one run's events, and a live stream of a run still being written. Every read goes
// through the public readers of agent.h (ListAgentRuns, ReadAgentEvents, AgentEventFollower),
// the same ones `skillrt runs` uses; an id is checked to be an agent run id, which can name no
// path, before anything is looked up.
#include <algorithm>
#include <thread>

#include "service/api.h"
#include "skillrt/agent.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

constexpr int64_t kMaxListed = 10'000;

nlohmann::json SummaryToJson(const AgentRunSummary& run) {
  nlohmann::json j = {{"run_id", run.run_id},
                      {"started", run.started.empty() ? nlohmann::json() : nlohmann::json(run.started)},
                      {"model", run.model},
                      {"task", run.task},
                      {"status", run.status},
                      {"events", run.events},
                      {"turns", run.turns},
                      {"tool_calls", run.tool_calls},
                      {"usage",
                       {{"input_tokens", run.usage.input_tokens},
                        {"output_tokens", run.usage.output_tokens}}}};
  if (!run.reason.empty()) j["reason"] = run.reason;
  return j;
}

// The run id of a path: a well-formed agent run id, and exactly one that exists (never a
// prefix, which the CLI accepts for typing convenience: a URL names one thing). Sets the error
// on `res` and returns nullopt otherwise.
std::optional<std::string> RunIdOf(const std::string& id, const std::filesystem::path& home,
                                   httplib::Response& res) {
  if (!IsValidAgentRunId(id)) {
    SetError(res, ApiError::kBadRequest,
             "'" + id.substr(0, 80) +
                 "' is not an agent run id (agent- and 1-58 of A-Z, a-z, 0-9, '-', '_')");
    return std::nullopt;
  }
  auto resolved = ResolveAgentRunId(home, id);
  if (!resolved || *resolved != id) {
    SetError(res, ApiError::kNotFound, "no agent run '" + id + "'");
    return std::nullopt;
  }
  return id;
}

// The follower as an EventSource: the events with seq > `after` (a stream resumed by seq
// skips those before), polling the file every 50 ms up to `wait` (the writer is another
// process; its appends are not signalled). Stream calls it from one thread at a time.
EventSource FromFollower(std::shared_ptr<AgentEventFollower> follower) {
  return [follower](uint64_t after, std::chrono::milliseconds wait) {
    const auto deadline = std::chrono::steady_clock::now() + wait;
    EventPage page;
    for (;;) {
      auto events = follower->ReadNew();
      if (!events) {  // The file cannot be read any more: say so, and end the stream.
        page.events.emplace_back(after + 1, nlohmann::json{{"type", "error"},
                                                           {"message", events.error().message}});
        page.finished = true;
        return page;
      }
      for (nlohmann::json& event : *events) {
        auto seq = event.find("seq");
        if (seq == event.end() || !seq->is_number_unsigned()) continue;  // Not the agent's.
        const uint64_t n = seq->get<uint64_t>();
        if (n > after) page.events.emplace_back(n, std::move(event));
      }
      page.finished = follower->ended();
      if (!page.events.empty() || page.finished || std::chrono::steady_clock::now() >= deadline) {
        return page;
      }
      std::this_thread::sleep_for(50ms);
    }
  };
}

}  // namespace

void Api::RegisterAgentRuns(HttpServer& server) {
  // The agent runs, newest first; ?limit= (default 100) bounds, ?status= filters.
  server.Get("/v1/agent-runs", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    auto limit = IntParam(req, res, "limit", 1, kMaxListed, 100);
    if (!limit) return;
    const std::string status = req.get_param_value("status");
    const std::vector<AgentRunSummary> all = ListAgentRuns(engine_.home());
    nlohmann::json runs = nlohmann::json::array();
    for (auto it = all.rbegin(); it != all.rend() && runs.size() < static_cast<size_t>(*limit);
         ++it) {
      if (!status.empty() && it->status != status) continue;
      runs.push_back(SummaryToJson(*it));
    }
    SetJson(res, {{"agent_runs", runs}, {"total", all.size()}});
  }));

  // One run: its summary, every event, and which of its skill runs this service's run table
  // holds (their pages exist: GET /v1/runs/{id}).
  server.Get(R"(/v1/agent-runs/([^/]+))", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    auto id = RunIdOf(req.matches[1].str(), engine_.home(), res);
    if (!id) return;
    auto events = ReadAgentEvents(engine_.home(), *id);
    if (!events) return SetError(res, events.error());
    nlohmann::json here = nlohmann::json::array();
    for (const nlohmann::json& event : *events) {
      auto skill_run = event.find("skill_run");
      if (event.value("type", "") == "tool_result" && skill_run != event.end() &&
          skill_run->is_string() && runs_.Find(skill_run->get<std::string>())) {
        here.push_back(*skill_run);
      }
    }
    SetJson(res, {{"summary", SummaryToJson(SummarizeAgentRun(*id, *events))},
                  {"events", *events},
                  {"service_runs", here}});
  }));

  // The run's events as they are written: SSE (or JSON Lines), resumable by seq, ending after
  // the run's last event (finished, failed, cancelled).
  server.Get(R"(/v1/agent-runs/([^/]+)/events)", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    auto id = RunIdOf(req.matches[1].str(), engine_.home(), res);
    if (!id) return;
    auto follower = AgentEventFollower::Open(engine_.home(), *id);
    if (!follower) return SetError(res, follower.error());
    Stream(req, res, FromFollower(std::make_shared<AgentEventFollower>(std::move(*follower))));
  }));
}

}  // namespace skillrt::service
