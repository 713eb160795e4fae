// The agent loop (docs/agent.md): ask the model, run the tool calls it makes through the
// Engine, hand the results back, until it answers or a limit, a cancel or a failure ends it.
// Every step is an event in the run's log before the next step starts.
#include <map>
#include <mutex>
#include <optional>

#include "agent/agent_tools.h"
#include "agent/conversation.h"
#include "agent/event_log.h"
#include "agent/model_client.h"
#include "skillrt/agent.h"
#include "skillrt/sha256.h"

namespace skillrt {

using nlohmann::json;

namespace {

constexpr std::string_view kDefaultSystemPrompt =
    "You are an agent that completes the user's task with skills: packaged tools that run in a "
    "sandbox. Use the tools offered to find, read and run the skills you need, then answer "
    "the user in plain text. A tool result that starts with \"error:\" explains what went "
    "wrong; a call refused by the policy will not be allowed if repeated.";

// How one run ends, before it is written as its last event.
struct Ending {
  AgentStatus status;
  std::string reason;
};

}  // namespace

struct Agent::State {
  Engine& engine;
  AgentOptions options;
  std::string run_id;
  std::atomic<bool> cancel{false};
  std::mutex mu;                       // Guards `current`.
  std::optional<RunHandle> current;    // The skill run in flight.
  std::unique_ptr<agent::EventLog> log;
  bool ran = false;

  // Starts `request` through the engine, writes its events nested under the call's id, and
  // returns what the model reads.
  ToolCallResult RunSkill(const ToolCall& call, std::variant<RunRequest, ExecRequest> request,
                          const std::string& run_id);
};

ToolCallResult Agent::State::RunSkill(const ToolCall& call,
                                      std::variant<RunRequest, ExecRequest> request,
                                      const std::string& skill_run_id) {
  std::visit([&](auto& r) { r.run_id = skill_run_id; }, request);
  auto started = std::visit([&](auto& r) { return engine.Start(std::move(r)); }, request);
  if (!started) return agent::ToolErrorResult(call, started.error().ToString());
  RunHandle handle = *started;
  {
    std::lock_guard lock(mu);
    current = handle;
  }
  if (cancel.load()) handle.Cancel("agent run cancelled");
  uint64_t after = 0;
  for (;;) {
    EventBatch batch = handle.ReadEvents(after, 256, std::chrono::milliseconds(200));
    for (const RunEvent& event : batch.events) {
      after = event.seq;
      json nested = RunEventToJson(event);
      // Approvals are lifted to the agent's own events as well: they are what a person reading
      // the log looks for first.
      if (const auto* asked = std::get_if<ApprovalRequestedEvent>(&event.payload)) {
        log->Write("approval_requested", {{"tool_call_id", call.id},
                                          {"skill_run", event.run_id},
                                          {"approval_key", asked->approval_key},
                                          {"invocation", asked->invocation}});
      } else if (const auto* decided = std::get_if<ApprovalDecidedEvent>(&event.payload)) {
        log->Write("approval_decided", {{"tool_call_id", call.id},
                                        {"skill_run", event.run_id},
                                        {"decision", ApprovalDecisionName(decided->decision)},
                                        {"via", decided->via},
                                        {"message", decided->message}});
      }
      log->Write("skill_event", {{"tool_call_id", call.id}, {"event", std::move(nested)}});
    }
    if (batch.finished || (batch.events.empty() && handle.done() &&
                           handle.ReadEvents(after, 1).events.empty())) {
      break;
    }
  }
  Result<Outcome> outcome = handle.Wait();
  {
    std::lock_guard lock(mu);
    current.reset();
  }
  if (!outcome) return agent::ToolErrorResult(call, outcome.error().ToString());
  ToolCallResult result = ToolResultFromOutcome(*outcome, options.tools.output_budget_bytes);
  result.id = call.id;
  result.name = call.name;
  result.run_id = skill_run_id;
  return result;
}

Agent::Agent(Engine& engine, AgentOptions options)
    : state_(std::make_unique<State>(engine, std::move(options))) {
  state_->run_id = state_->options.run_id;
  if (state_->run_id.empty()) {
    auto id = agent::NewAgentRunId();
    state_->run_id = id ? *id : "agent-unnamed";
  }
}

Agent::~Agent() = default;

const std::string& Agent::run_id() const { return state_->run_id; }

void Agent::Cancel() {
  state_->cancel.store(true);
  std::lock_guard lock(state_->mu);
  if (state_->current) state_->current->Cancel("agent run cancelled");
}

Result<AgentResult> Agent::Run(std::string_view task) {
  State& s = *state_;
  if (s.ran) return Fail(ErrorCode::kInvalidArgument, "an Agent runs once");
  s.ran = true;
  const AgentOptions& o = s.options;
  if (task.empty()) return Fail(ErrorCode::kInvalidArgument, "the task is empty");
  if (!IsValidAgentRunId(s.run_id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "agent run id '" + s.run_id + "': expected agent- and [A-Za-z0-9_-], at most 64");
  }
  if (!o.model.base_url.starts_with("http://") && !o.model.base_url.starts_with("https://")) {
    return Fail(ErrorCode::kInvalidArgument,
                "base URL '" + o.model.base_url + "': expected http:// or https://");
  }
  {
    // Credentials in the URL (https://user:key@host) would be written to the log and quoted
    // in errors; the key goes by reference only. The URL is not quoted here for that reason.
    const std::string_view rest = std::string_view(o.model.base_url).substr(
        o.model.base_url.find("://") + 3);
    if (rest.substr(0, rest.find('/')).find('@') != std::string_view::npos) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the base URL carries credentials (user:key@host); give the key with an "
                  "api_key_ref instead");
    }
  }
  if (o.model.model.empty()) return Fail(ErrorCode::kInvalidArgument, "no model is named");
  auto key = agent::ResolveApiKey(o.model.api_key_ref);
  if (!key) return std::unexpected(key.error());
  auto toolbox = agent::Toolbox::Make(s.engine, o.tools);
  if (!toolbox) return std::unexpected(toolbox.error());
  auto log = agent::EventLog::Create(s.engine.home() / "runs", s.run_id, o.on_event);
  if (!log) return std::unexpected(log.error());
  s.log = std::move(*log);
  agent::EventLog& events = *s.log;

  AgentResult result{.run_id = s.run_id, .events_path = events.path()};
  json tool_names = json::array();
  for (const agent::ToolDef& def : toolbox->definitions()) tool_names.push_back(def.name);
  events.Write("started",
               {{"task", task},
                {"task_sha256", Sha256Hex(task)},
                {"model", o.model.model},
                {"profile", o.model.name},
                {"protocol", ProtocolName(o.model.protocol)},
                {"base_url", o.model.base_url},
                {"tools", tool_names},
                {"limits",
                 {{"max_turns", o.limits.max_turns},
                  {"max_tool_calls", o.limits.max_tool_calls},
                  {"wall_time_ms", o.limits.wall_time.count()},
                  {"max_tokens", o.limits.max_tokens},
                  {"max_identical_calls", o.limits.max_identical_calls}}}});

  agent::ModelClient client(o.model, std::move(*key));
  agent::Conversation conversation(
      o.model, o.system_prompt.empty() ? std::string(kDefaultSystemPrompt) : o.system_prompt,
      std::string(task));
  const auto start = std::chrono::steady_clock::now();
  std::map<std::string, uint32_t> identical;  // Calls by name and canonical arguments.
  std::optional<Ending> ending;

  while (!ending) {
    // The budgets, checked before each model request.
    const auto elapsed = std::chrono::steady_clock::now() - start;
    if (s.cancel.load()) {
      ending = {AgentStatus::kCancelled, "cancelled"};
    } else if (o.limits.wall_time.count() > 0 && elapsed >= o.limits.wall_time) {
      ending = {AgentStatus::kLimit, "the time budget of " +
                                         std::to_string(o.limits.wall_time.count()) +
                                         " ms ran out"};
    } else if (o.limits.max_tokens > 0 && result.usage.total() >= o.limits.max_tokens) {
      ending = {AgentStatus::kLimit, "the token budget of " +
                                         std::to_string(o.limits.max_tokens) + " was used (" +
                                         std::to_string(result.usage.total()) + ")"};
    } else if (o.limits.max_turns > 0 && result.turns >= o.limits.max_turns) {
      ending = {AgentStatus::kLimit,
                "the turn limit of " + std::to_string(o.limits.max_turns) + " was reached"};
    }
    if (ending) break;

    const uint32_t turn_no = ++result.turns;
    json body = conversation.Request(toolbox->definitions());
    events.Write("model_request", {{"turn", turn_no},
                                   {"messages", conversation.size()},
                                   {"tools", toolbox->definitions().size()}});
    auto turn = client.Complete(
        body, o.on_text ? std::function<void(std::string_view)>(o.on_text) : nullptr, s.cancel,
        [&](const agent::RetryNotice& retry) {
          events.Write("model_retry", {{"turn", turn_no},
                                       {"attempt", retry.attempt},
                                       {"http_status", retry.http_status},
                                       {"delay_ms", retry.delay.count()}});
        });
    if (!turn) {
      ending = s.cancel.load() ? Ending{AgentStatus::kCancelled, "cancelled"}
                               : Ending{AgentStatus::kFailed, turn.error().ToString()};
      break;
    }
    result.usage.input_tokens += turn->usage.input_tokens;
    result.usage.output_tokens += turn->usage.output_tokens;
    bool calls_in_text = false;
    if (turn->tool_calls.empty() && o.model.protocol == Protocol::kOpenAIChat) {
      turn->tool_calls = agent::ToolCallsInText(turn->text, toolbox->names());
      calls_in_text = !turn->tool_calls.empty();
      if (calls_in_text) turn->text.clear();  // The text was the call.
    }
    json calls = json::array();
    for (const agent::StreamedToolCall& call : turn->tool_calls) {
      calls.push_back({{"id", call.id}, {"name", call.name}, {"arguments", call.arguments}});
    }
    json response = {{"turn", turn_no},
                     {"text", turn->text},
                     {"tool_calls", calls},
                     {"stop_reason", turn->stop_reason},
                     {"usage",
                      {{"input_tokens", turn->usage.input_tokens},
                       {"output_tokens", turn->usage.output_tokens}}}};
    if (calls_in_text) response["calls_in_text"] = true;
    events.Write("model_response", std::move(response));
    if (!turn->text.empty()) result.answer = turn->text;
    if (turn->tool_calls.empty()) {
      ending = {AgentStatus::kAnswered, ""};
      break;
    }

    conversation.AddAssistant(*turn);
    std::vector<ToolCallResult> results;
    for (const agent::StreamedToolCall& streamed : turn->tool_calls) {
      ToolCall call = agent::ParseStreamedCall(streamed);
      const std::string identity =
          call.name + "\n" + (call.arguments ? call.arguments->dump() : streamed.arguments);
      if (o.limits.max_tool_calls > 0 && result.tool_calls >= o.limits.max_tool_calls) {
        ending = {AgentStatus::kLimit, "the tool call limit of " +
                                           std::to_string(o.limits.max_tool_calls) +
                                           " was reached"};
        break;
      }
      if (o.limits.max_identical_calls > 0 &&
          ++identical[identity] > o.limits.max_identical_calls) {
        ending = {AgentStatus::kLimit,
                  "the model repeated the same call to " + call.name + " more than " +
                      std::to_string(o.limits.max_identical_calls) + " times"};
        break;
      }
      ++result.tool_calls;
      events.Write("tool_call",
                   {{"tool_call_id", call.id},
                    {"name", call.name},
                    {"arguments", call.arguments ? *call.arguments : json(streamed.arguments)}});
      agent::PreparedCall prepared = toolbox->Prepare(call);
      ToolCallResult tool_result;
      if (auto* immediate = std::get_if<ToolCallResult>(&prepared)) {
        tool_result = std::move(*immediate);
      } else {
        const std::string skill_run_id = s.run_id + "-c" + std::to_string(result.tool_calls);
        std::variant<RunRequest, ExecRequest> request =
            std::holds_alternative<RunRequest>(prepared)
                ? std::variant<RunRequest, ExecRequest>(std::get<RunRequest>(std::move(prepared)))
                : std::variant<RunRequest, ExecRequest>(
                      std::get<ExecRequest>(std::move(prepared)));
        tool_result = s.RunSkill(call, std::move(request), skill_run_id);
      }
      json fields = {{"tool_call_id", call.id},
                     {"name", call.name},
                     {"is_error", tool_result.is_error},
                     {"text", tool_result.text}};
      if (!tool_result.run_id.empty()) fields["skill_run"] = tool_result.run_id;
      if (tool_result.structured.is_object()) {
        fields["status"] = tool_result.structured.value("status", json());
        fields["duration_ms"] = tool_result.structured.value("duration_ms", json());
      }
      events.Write("tool_result", std::move(fields));
      results.push_back(std::move(tool_result));
      if (s.cancel.load()) {
        ending = {AgentStatus::kCancelled, "cancelled"};
        break;
      }
      if (s.engine.approvals_aborted()) {
        ending = {AgentStatus::kFailed,
                  "the approvals were aborted (a refusal to go on, or the same call denied "
                  "repeatedly)"};
        break;
      }
    }
    if (ending) break;
    conversation.AddToolResults(results);
  }

  result.status = ending->status;
  result.reason = ending->reason;
  json end = {{"turns", result.turns},
              {"tool_calls", result.tool_calls},
              {"usage",
               {{"input_tokens", result.usage.input_tokens},
                {"output_tokens", result.usage.output_tokens}}},
              {"duration_ms", std::chrono::duration_cast<std::chrono::milliseconds>(
                                  std::chrono::steady_clock::now() - start)
                                  .count()}};
  switch (result.status) {
    case AgentStatus::kAnswered:
      end["answer"] = result.answer;
      events.Write("finished", std::move(end));
      break;
    case AgentStatus::kCancelled:
      end["reason"] = result.reason;
      events.Write("cancelled", std::move(end));
      break;
    case AgentStatus::kLimit:
    case AgentStatus::kFailed:
      end["reason"] = result.reason;
      end["status"] = AgentStatusName(result.status);
      events.Write("failed", std::move(end));
      break;
  }
  return result;
}

}  // namespace skillrt
