// Skills, runs, run events and approvals under /v1 (api.h, docs/openapi.json).
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "service/api.h"
#include "skillrt/instance.h"
#include "skillrt/outcome.h"
#include "skillrt/skill.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

// The request body as a JSON object whose keys are all in `known`; nullopt after setting
// the error on `res`.
std::optional<nlohmann::json> Body(const httplib::Request& req, httplib::Response& res,
                                   const std::set<std::string>& known) {
  nlohmann::json body = req.body.empty() ? nlohmann::json::object()
                                         : nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    SetError(res, ApiError::kBadRequest, "the body must be a JSON object");
    return std::nullopt;
  }
  for (const auto& [key, value] : body.items()) {
    if (!known.contains(key)) {
      SetError(res, ApiError::kBadRequest, "unknown field '" + key + "'");
      return std::nullopt;
    }
  }
  return body;
}

EventSource FromHandle(RunHandle handle) {
  return [handle](uint64_t after, std::chrono::milliseconds wait) {
    EventBatch batch = handle.ReadEvents(after, 256, wait);
    EventPage page;
    page.dropped = batch.dropped;
    page.finished = batch.finished || (batch.events.empty() && handle.done());
    for (const RunEvent& event : batch.events) page.events.emplace_back(event.seq, RunEventToJson(event));
    return page;
  };
}

nlohmann::json RunToJson(const RunHandle& handle) {
  nlohmann::json j = {{"run_id", handle.run_id()}, {"done", handle.done()},
                      {"outcome", nullptr}, {"error", nullptr},
                      {"events", "/v1/runs/" + handle.run_id() + "/events"}};
  if (handle.done()) {
    Result<Outcome> outcome = handle.Wait();
    if (outcome) j["outcome"] = OutcomeToJson(*outcome);
    else j["error"] = {{"code", ErrorCodeName(outcome.error().code)}, {"message", outcome.error().message}};
  }
  return j;
}

struct DecisionRow {
  const char* name;
  ApprovalDecision decision;
};
constexpr DecisionRow kDecisions[] = {
    {"approve", ApprovalDecision::kApproveOnce},
    {"approve_session", ApprovalDecision::kApproveSession},
    {"approve_always", ApprovalDecision::kApproveAlways},
    {"deny", ApprovalDecision::kDeny},
};

// The guard's assessment as the approval_requested event carries it (docs/events.md).
nlohmann::json RiskToJson(const RiskAssessment& risk) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const RiskReason& r : risk.reasons) {
    reasons.push_back({{"level", RiskLevelName(r.level)}, {"rule", r.rule},
                       {"reason", r.reason}, {"command", r.command}});
  }
  return {{"level", RiskLevelName(risk.level)}, {"reasons", reasons}};
}

}  // namespace

bool CheckSkillSelector(const Engine& engine, const std::string& selector,
                        httplib::Response& res) {
  auto parsed = ParseSkillSelector(selector);
  if (!parsed) {
    SetError(res, ApiError::kBadRequest, "skill: " + parsed.error().message);
    return false;
  }
  if (parsed->skill.empty() || parsed->skill.find('/') != std::string::npos ||
      parsed->skill.front() == '.') {
    SetError(res, ApiError::kBadRequest, "skill: a skill name, not a path");
    return false;
  }
  if (auto found = engine.registry().Resolve(parsed->skill); !found) {
    SetError(res, found.error());
    return false;
  }
  return true;
}

void Api::RegisterRuns(HttpServer& server) {
  server.Get("/v1/skills", Guard(Scope::kRead, [this](const httplib::Request&, httplib::Response& res) {
    auto refs = engine_.registry().List();
    if (!refs) return SetError(res, refs.error());
    nlohmann::json skills = nlohmann::json::array();
    for (const SkillRef& ref : *refs) {
      nlohmann::json item = {{"name", ref.name}};
      if (auto skill = engine_.registry().Describe(ref.name)) {
        item["description"] = skill->meta.description;
        item["runtime"] = RuntimeKindName(skill->manifest.runtime);
        item["has_entry"] = skill->manifest.entry.has_value();
      } else {
        item["error"] = skill.error().message;
      }
      skills.push_back(std::move(item));
    }
    SetJson(res, {{"skills", skills}});
  }));
  server.Get(R"(/v1/skills/([^/]+))", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    if (!CheckSkillSelector(engine_, req.matches[1].str(), res)) return;
    auto skill = engine_.registry().Describe(req.matches[1].str());
    if (!skill) return SetError(res, skill.error());
    SetJson(res, {{"name", skill->meta.name},
                  {"description", skill->meta.description},
                  {"runtime", RuntimeKindName(skill->manifest.runtime)},
                  {"has_entry", skill->manifest.entry.has_value()},
                  {"input_schema", skill->manifest.input_schema.value_or(nullptr)},
                  {"skill_md", "/v1/skills/" + skill->meta.name + "/SKILL.md"}});
  }));
  server.Get(R"(/v1/skills/([^/]+)/SKILL\.md)", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    if (!CheckSkillSelector(engine_, req.matches[1].str(), res)) return;
    auto skill = engine_.registry().Describe(req.matches[1].str());
    if (!skill) return SetError(res, skill.error());
    std::ifstream in(skill->dir / "SKILL.md", std::ios::binary);
    if (!in) return SetError(res, ApiError::kNotFound, "cannot read SKILL.md of " + skill->meta.name);
    std::stringstream text;
    text << in.rdbuf();
    res.set_content(text.str(), "text/markdown; charset=utf-8");
  }));

  server.Post("/v1/runs", Guard(Scope::kRun, [this](const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res, {"skill", "input", "run_id", "wait", "wait_ms", "timeout_ms"});
    if (!body) return;
    RunRequest request;
    if (!body->contains("skill") || !(*body)["skill"].is_string()) {
      return SetError(res, ApiError::kBadRequest, "skill: a string is required");
    }
    request.skill = (*body)["skill"].get<std::string>();
    if (!CheckSkillSelector(engine_, request.skill, res)) return;
    request.input = body->value("input", nlohmann::json::object());
    if (!request.input.is_object()) return SetError(res, ApiError::kBadRequest, "input: must be an object");
    if (body->contains("run_id")) {
      if (!(*body)["run_id"].is_string()) return SetError(res, ApiError::kBadRequest, "run_id: a string");
      request.run_id = (*body)["run_id"].get<std::string>();
    }
    if (body->contains("timeout_ms")) {
      const auto& t = (*body)["timeout_ms"];
      if (!t.is_number_unsigned() || t.get<uint64_t>() == 0) {
        return SetError(res, ApiError::kBadRequest, "timeout_ms: a positive integer");
      }
      request.overrides.wall_time = std::chrono::milliseconds(t.get<uint64_t>());
    }
    const auto& wait_flag = body->value("wait", nlohmann::json(false));
    if (!wait_flag.is_boolean()) return SetError(res, ApiError::kBadRequest, "wait: true or false");
    std::chrono::milliseconds wait = options_.max_wait;
    if (body->contains("wait_ms")) {
      const auto& w = (*body)["wait_ms"];
      if (!w.is_number_unsigned()) return SetError(res, ApiError::kBadRequest, "wait_ms: an integer");
      wait = std::min(wait, std::chrono::milliseconds(w.get<uint64_t>()));
    }
    auto handle = engine_.Start(std::move(request));
    if (!handle) return SetError(res, handle.error());
    runs_.Add(*handle);
    if (wait_flag.get<bool>()) {
      const auto deadline = std::chrono::steady_clock::now() + wait;
      while (!handle->done() && std::chrono::steady_clock::now() < deadline && !stopping_) {
        (void)handle->ReadEvents(~uint64_t{0}, 1, 100ms);
      }
    }
    res.set_header("Location", "/v1/runs/" + handle->run_id());
    SetJson(res, RunToJson(*handle), handle->done() ? 200 : 202);
  }));
  server.Get(R"(/v1/runs/([A-Za-z0-9_-]+))", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    auto handle = runs_.Find(req.matches[1].str());
    if (!handle) handle = engine_.FindRun(req.matches[1].str());
    if (!handle) return SetError(res, ApiError::kNotFound, "no run " + req.matches[1].str());
    SetJson(res, RunToJson(*handle));
  }));
  server.Post(R"(/v1/runs/([A-Za-z0-9_-]+)/cancel)", Guard(Scope::kRun, [this](const httplib::Request& req, httplib::Response& res) {
    auto handle = runs_.Find(req.matches[1].str());
    if (!handle) handle = engine_.FindRun(req.matches[1].str());
    if (!handle) return SetError(res, ApiError::kNotFound, "no run " + req.matches[1].str());
    const bool cancelled = handle->Cancel("cancelled over HTTP");
    SetJson(res, {{"run_id", handle->run_id()}, {"cancelled", cancelled}});
  }));
  server.Get(R"(/v1/runs/([A-Za-z0-9_-]+)/events)", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    auto handle = runs_.Find(req.matches[1].str());
    if (!handle) handle = engine_.FindRun(req.matches[1].str());
    if (!handle) return SetError(res, ApiError::kNotFound, "no run " + req.matches[1].str());
    Stream(req, res, FromHandle(*handle));
  }));

  server.Get("/v1/approvals", Guard(Scope::kRead, [this](const httplib::Request&, httplib::Response& res) {
    nlohmann::json pending = nlohmann::json::array();
    for (const PendingApproval& p : engine_.PendingApprovals()) {
      pending.push_back({{"run_id", p.run_id},
                         {"key", p.request.key},
                         {"skill", p.request.skill},
                         {"invocation", p.request.invocation},
                         {"request", p.request.request},
                         {"risk", RiskToJson(p.request.risk)},
                         {"since", FormatTime(p.since)},
                         {"deadline", FormatTime(p.deadline)}});
    }
    SetJson(res, {{"approvals", pending}});
  }));
  server.Post(R"(/v1/approvals/([A-Za-z0-9_-]+))", Guard(Scope::kApprove, [this](const httplib::Request& req, httplib::Response& res) {
    auto body = Body(req, res, {"decision", "message"});
    if (!body) return;
    const std::string name = body->value("decision", "");
    std::optional<ApprovalDecision> decision;
    for (const DecisionRow& row : kDecisions) {
      if (name == row.name) decision = row.decision;
    }
    if (!decision) {
      return SetError(res, ApiError::kBadRequest,
                      "decision: approve, approve_session, approve_always or deny");
    }
    const auto& message = body->value("message", nlohmann::json(""));
    if (!message.is_string()) return SetError(res, ApiError::kBadRequest, "message: a string");
    auto token = CurrentToken();
    // Who approved, for the run's events and the audit record: the token, never its secret.
    std::string via = "http:" + (token ? token->id : std::string("unknown"));
    if (token && !token->name.empty()) via += ":" + token->name;
    auto answered = engine_.Approve(req.matches[1].str(), *decision, via, message.get<std::string>());
    if (!answered) return SetError(res, answered.error());
    SetJson(res, {{"answered", *answered}, {"via", via}});
  }));
}

}  // namespace skillrt::service
