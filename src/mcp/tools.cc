// tools/list and tools/call (MCP 2025-11-25 "Tools"), and the watch over a run a tool call
// starts: progress from its events, cancellation, approvals.
#include <algorithm>
#include <map>
#include <thread>
#include <variant>

#include "mcp/request_state.h"
#include "mcp/tool_table.h"
#include "skillrt/approval.h"
#include "skillrt/instance.h"

namespace skillrt::mcp {
namespace {

using nlohmann::json;

// Cursors are the decimal offset of the next item, prefixed so that a stale or foreign
// cursor is recognised as such.
std::optional<size_t> ParseCursor(const json& cursor, std::string_view prefix) {
  if (cursor.is_null()) return 0;
  if (!cursor.is_string()) return std::nullopt;
  const std::string& text = cursor.get_ref<const std::string&>();
  if (text.rfind(prefix, 0) != 0) return std::nullopt;
  const std::string digits = text.substr(prefix.size());
  if (digits.empty() || digits.size() > 9 ||
      digits.find_first_not_of("0123456789") != std::string::npos) {
    return std::nullopt;
  }
  return std::stoul(digits);
}

std::string ProgressMessage(const RunEvent& event) {
  std::string text(event.type());
  if (const auto* output = std::get_if<OutputEvent>(&event.payload)) {
    std::string data = output->data.substr(0, 200);
    while (!data.empty() && (data.back() == '\n' || data.back() == '\r')) data.pop_back();
    text += ": " + data;
  } else if (const auto* finished = std::get_if<FinishedEvent>(&event.payload)) {
    if (finished->outcome) text += ": " + std::string(StatusName(finished->outcome->status));
  }
  return text;
}

// The form that asks a person for an approval (2025-11-25 "Elicitation", form mode).
json ApprovalForm(const ApprovalRequestedEvent& asked, const std::string& skill) {
  return {
      {"mode", "form"},
      {"message", "skillrt asks for approval: the policy wants a person to approve this call "
                  "of skill '" + skill + "' (approval key " + asked.approval_key +
                  ").\nRisk: " + std::string(RiskLevelName(asked.risk.level)) +
                  "\nWhat it may use: " + Dump(asked.request)},
      {"requestedSchema",
       {{"type", "object"},
        {"properties",
         {{"decision",
           {{"type", "string"},
            {"title", "Decision"},
            {"enum", {"approve_once", "approve_session", "deny"}},
            {"description", "approve_once runs this call; approve_session also runs the same "
                            "call again while this server runs; deny refuses it."}}}}},
        {"required", {"decision"}}}}};
}

// The decision in an ElicitResult; anything but an accepted approval is a denial.
ApprovalDecision DecisionFrom(const json& answer) {
  if (!answer.is_object() || answer.value("action", "") != "accept") return ApprovalDecision::kDeny;
  const json content = answer.value("content", json::object());
  const std::string decision = content.is_object() ? content.value("decision", "") : "";
  if (decision == "approve_once") return ApprovalDecision::kApproveOnce;
  if (decision == "approve_session") return ApprovalDecision::kApproveSession;
  return ApprovalDecision::kDeny;
}

// Puts an approval request to the client as a form elicitation on the session's channel.
ApprovalDecision Elicit(RequestContext& c, const ApprovalRequestedEvent& asked,
                        const std::string& skill) {
  auto answer = c.channel.Request("elicitation/create", ApprovalForm(asked, skill),
                                  c.server.options().elicitation_timeout);
  return answer ? DecisionFrom(*answer) : ApprovalDecision::kDeny;
}

// A stateless retry's answer to an earlier input_required: the client's elicitation result,
// counted only when the sealed requestState names this very approval key.
std::optional<ApprovalDecision> RetriedAnswer(RequestContext& c, const std::string& key) {
  const json state = c.params.value("requestState", json());
  const json responses = c.params.value("inputResponses", json::object());
  if (!state.is_string() || !responses.is_object() || !responses.contains("approval")) {
    return std::nullopt;
  }
  auto sealed = OpenApprovalState(c.server.engine().home(), state.get<std::string>());
  if (!sealed || *sealed != key) return std::nullopt;
  return DecisionFrom(responses["approval"]);
}

// How long a client has to come back with the answer to an input_required approval.
constexpr std::chrono::seconds kApprovalStateLifetime{600};

bool ClientCanElicit(const RequestContext& c) {
  return c.client_capabilities.is_object() && c.client_capabilities.contains("elicitation");
}

// Answers the approval the run waits for: the client's elicitation when the operator allowed
// it and the client can, else a refusal that names the key and how a person approves it.
void AnswerApproval(RequestContext& c, RunHandle& run, const ApprovalRequestedEvent& asked,
                    const std::string& skill, std::string* refusal, json* input_required) {
  if (c.server.options().elicit_approvals && ClientCanElicit(c) && c.stateless) {
    // 2026-07-28: no request to the client mid-call; the answer comes with a retry that
    // carries the sealed state back (input_required, "Multi round-trip requests").
    if (auto answer = RetriedAnswer(c, asked.approval_key)) {
      (void)c.server.engine().Approve(run.run_id(), *answer, "mcp-elicitation:" + c.client_name,
                                      IsApproved(*answer) ? "" : "declined through the client");
      return;
    }
    auto state = SealApprovalState(c.server.engine().home(), asked.approval_key,
                                   kApprovalStateLifetime);
    if (state) {
      *input_required = {
          {"resultType", "input_required"},
          {"inputRequests",
           {{"approval", {{"method", "elicitation/create"}, {"params", ApprovalForm(asked, skill)}}}}},
          {"requestState", *state}};
      // Not a denial (it would count toward aborting): the call is asked again on the retry.
      run.Cancel("approval asked of the client (input_required)");
      return;
    }
  }
  if (c.server.options().elicit_approvals && ClientCanElicit(c) && !c.stateless) {
    const ApprovalDecision decision = Elicit(c, asked, skill);
    (void)c.server.engine().Approve(run.run_id(), decision, "mcp-elicitation:" + c.client_name,
                                    IsApproved(decision) ? "" : "declined through the client");
    return;
  }
  *refusal = "This call needs a person's approval (approval key " + asked.approval_key +
             "). Approval through an MCP client is " +
             (c.server.options().elicit_approvals ? "allowed but this client cannot elicit"
                                                   : "not enabled on this server") +
             ". A person approves it by adding a policy rule that allows it "
             "(docs/policy.md), by running the same call with `skillrt run` at a terminal and "
             "answering 'always' (stored in approvals.json under this key), or by starting the "
             "server with `skillrt mcp --elicit-approvals`.";
  (void)c.server.engine().Approve(run.run_id(), ApprovalDecision::kDeny, "mcp",
                                  "no approver reachable through the MCP client");
}

}  // namespace

json ToolError(std::string text) {
  return {{"content", {{{"type", "text"}, {"text", std::move(text)}}}}, {"isError", true}};
}

std::shared_ptr<const Server::ToolTable> Server::tools() const {
  std::lock_guard lock(tools_mu_);
  if (!tools_) tools_ = BuildTools();
  return tools_;
}

std::shared_ptr<const Server::ToolTable> Server::BuildTools() const {
  auto table = std::make_shared<ToolTable>();
  for (const BuiltinTool& tool : BuiltinTools()) {
    table->definitions.push_back(
        {{"name", tool.name},
         {"title", tool.title},
         {"description", tool.description},
         {"inputSchema", json::parse(tool.input_schema)},
         {"annotations",
          {{"title", tool.title},
           {"readOnlyHint", tool.read_only},
           // run and exec reach what the skill's manifest grants: not known to be harmless.
           {"destructiveHint", !tool.read_only},
           {"idempotentHint", tool.read_only},
           {"openWorldHint", !tool.read_only}}}});
    if (tool.output_schema != nullptr) {
      table->definitions.back()["outputSchema"] = json::parse(tool.output_schema);
    }
  }
  auto instances = ReadInstanceFile(InstanceFilePath(engine_.home()));
  const InstanceFile* file = instances ? &*instances : nullptr;
  std::optional<ToolSet> skills;
  if (!options_.expose_skills.empty()) {
    // "TOOL=SKILL" names the tool; "SKILL" keeps the tool name the skill gives.
    std::map<std::string, std::string> aliases;  // Selector -> tool name.
    std::vector<std::string> selectors;
    for (const std::string& entry : options_.expose_skills) {
      const size_t eq = entry.find('=');
      if (eq == std::string::npos) {
        selectors.push_back(entry);
      } else if (IsValidToolName(entry.substr(0, eq))) {
        selectors.push_back(entry.substr(eq + 1));
        aliases[entry.substr(eq + 1)] = entry.substr(0, eq);
      }
    }
    auto built = BuildToolSet(engine_.registry(), file, {.only = selectors});
    if (built) {
      for (ToolEntry& tool : built->tools) {
        if (auto it = aliases.find(tool.Selector()); it != aliases.end()) tool.name = it->second;
      }
      std::sort(built->tools.begin(), built->tools.end(),
                [](const ToolEntry& a, const ToolEntry& b) { return a.name < b.name; });
      skills = std::move(*built);
    }
  } else if (options_.expose_all_max > 0) {
    auto built = BuildToolSet(engine_.registry(), file, {});
    if (built && built->tools.size() <= options_.expose_all_max) skills = std::move(*built);
  }
  if (skills) {
    // A skill whose tool name equals a built-in's is reachable through run_skill only.
    std::erase_if(skills->tools, [](const ToolEntry& t) {
      for (const BuiltinTool& b : BuiltinTools()) {
        if (b.name == t.name) return true;
      }
      return false;
    });
    for (const ToolEntry& t : skills->tools) {
      table->definitions.push_back(ToolDefinition(t, ToolFormat::kMcp));
    }
    table->skills = std::move(*skills);
  }
  return table;
}

RpcResult ToolsList(RequestContext& c) {
  auto table = c.server.tools();
  auto offset = ParseCursor(c.params.value("cursor", json()), "t:");
  if (!offset || *offset > table->definitions.size()) {
    return RpcFail(kInvalidParams, "invalid cursor");
  }
  const size_t page = std::max<size_t>(c.server.options().page_size, 1);
  const size_t end = std::min(table->definitions.size(), *offset + page);
  json tools = json::array();
  for (size_t i = *offset; i < end; ++i) tools.push_back(table->definitions[i]);
  json result = {{"tools", std::move(tools)}};
  if (end < table->definitions.size()) result["nextCursor"] = "t:" + std::to_string(end);
  return result;
}

RpcResult ToolsCall(RequestContext& c) {
  const json name = c.params.value("name", json());
  if (!name.is_string()) return RpcFail(kInvalidParams, "tools/call needs a tool name");
  json arguments = c.params.value("arguments", json::object());
  if (arguments.is_null()) arguments = json::object();
  if (!arguments.is_object()) return RpcFail(kInvalidParams, "arguments must be an object");
  if (!c.session.Track(c.request_key)) {
    return RpcFail(kInvalidRequest, "a request with this id is already in flight");
  }
  struct Untrack {
    RequestContext& c;
    ~Untrack() { c.session.Untrack(c.request_key); }
  } untrack{c};
  for (const BuiltinTool& tool : BuiltinTools()) {
    if (tool.name == name.get<std::string>()) return tool.call(c, arguments);
  }
  auto table = c.server.tools();
  const ToolEntry* skill = table->skills.Find(name.get<std::string>());
  if (skill == nullptr) {
    // 2025-11-25 "Error Handling": an unknown tool is a protocol error.
    return RpcFail(kInvalidParams, "unknown tool: " + name.get<std::string>());
  }
  return RunAndWatch(c, RunRequest{.skill = skill->Selector(), .input = arguments});
}

RpcResult RunAndWatch(RequestContext& c, std::variant<RunRequest, ExecRequest> request) {
  const std::string skill =
      std::visit([](const auto& r) { return r.skill; }, request);
  Result<RunHandle> started = std::visit(
      [&](auto& r) { return c.server.engine().Start(std::move(r)); }, request);
  if (!started) return ToolError("error: " + started.error().ToString());
  RunHandle run = *started;
  c.session.Attach(c.request_key, run);
  c.Log("info", {{"run_id", run.run_id()}, {"skill", skill}, {"event", "started"}});
  std::string refusal;
  json input_required;
  uint64_t after = 0;
  double progress = 0;
  for (bool finished = false; !finished;) {
    EventBatch batch = run.ReadEvents(after, 64, std::chrono::milliseconds(250));
    for (const RunEvent& event : batch.events) {
      after = event.seq;
      c.Log("debug", {{"run_id", run.run_id()}, {"event", ProgressMessage(event)}});
      if (const auto* asked = std::get_if<ApprovalRequestedEvent>(&event.payload)) {
        AnswerApproval(c, run, *asked, skill, &refusal, &input_required);
      }
      if (c.progress_token) {
        c.channel.Send(NotificationMessage("notifications/progress",
                                           {{"progressToken", *c.progress_token},
                                            {"progress", ++progress},
                                            {"message", ProgressMessage(event)}}));
      }
    }
    finished = batch.finished || run.done();
    if (!finished && !c.channel.Alive()) run.Cancel("the MCP client went away");
  }
  Result<Outcome> outcome = run.Wait();
  if (!input_required.is_null()) return input_required;
  if (!outcome) return ToolError("error: " + outcome.error().ToString());
  ToolCallResult result =
      ToolResultFromOutcome(*outcome, c.server.options().output_budget_bytes);
  std::string text = refusal.empty() ? result.text : refusal + "\n" + result.text;
  c.Log(outcome->status == Status::kOk ? "info" : "warning",
        {{"run_id", outcome->run_id}, {"skill", skill}, {"status", StatusName(outcome->status)}});
  return json{{"content", {{{"type", "text"}, {"text", text}}}},
              {"structuredContent", std::move(result.structured)},
              {"isError", result.is_error}};
}

}  // namespace skillrt::mcp
