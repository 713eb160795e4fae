// Jobs and the audit log under /v1 (api.h, docs/openapi.json).
#include <charconv>
#include <set>
#include <thread>

#include "service/api.h"
#include "skillrt/audit.h"

namespace skillrt::service {
namespace {

using namespace std::chrono_literals;

std::optional<uint64_t> ParseCount(const std::string& text) {
  uint64_t value = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return value;
}

// The JobSpec of an enqueue body; the error is set on `res` when nullopt.
std::optional<JobSpec> SpecFromBody(const httplib::Request& req, httplib::Response& res) {
  nlohmann::json body = nlohmann::json::parse(req.body, nullptr, false);
  if (body.is_discarded() || !body.is_object()) {
    SetError(res, ApiError::kBadRequest, "the body must be a JSON object");
    return std::nullopt;
  }
  static const std::set<std::string> kKnown = {"skill", "input", "idempotency_key", "priority",
                                               "max_attempts", "backoff_ms", "deadline"};
  for (const auto& [key, value] : body.items()) {
    if (!kKnown.contains(key)) {
      SetError(res, ApiError::kBadRequest, "unknown field '" + key + "'");
      return std::nullopt;
    }
  }
  auto fail = [&](const std::string& message) {
    SetError(res, ApiError::kBadRequest, message);
    return std::nullopt;
  };
  JobSpec spec;
  if (!body.contains("skill") || !body["skill"].is_string()) return fail("skill: a string is required");
  spec.skill = body["skill"].get<std::string>();
  spec.input = body.value("input", nlohmann::json::object());
  if (body.contains("idempotency_key")) {
    if (!body["idempotency_key"].is_string()) return fail("idempotency_key: a string");
    spec.idempotency_key = body["idempotency_key"].get<std::string>();
  }
  // The Idempotency-Key header, as HTTP APIs commonly take it, unless the body names one.
  if (spec.idempotency_key.empty()) spec.idempotency_key = req.get_header_value("Idempotency-Key");
  if (body.contains("priority")) {
    if (!body["priority"].is_number_integer()) return fail("priority: an integer");
    spec.priority = body["priority"].get<int>();
  }
  if (body.contains("max_attempts")) {
    if (!body["max_attempts"].is_number_integer()) return fail("max_attempts: an integer");
    spec.max_attempts = body["max_attempts"].get<int>();
  }
  if (body.contains("backoff_ms")) {
    if (!body["backoff_ms"].is_number_integer()) return fail("backoff_ms: an integer");
    spec.backoff = std::chrono::milliseconds(body["backoff_ms"].get<int64_t>());
  }
  if (body.contains("deadline")) {
    if (!body["deadline"].is_string()) return fail("deadline: an RFC 3339 time");
    auto when = ParseAuditTime(body["deadline"].get<std::string>());
    if (!when) return fail("deadline: not an RFC 3339 time");
    spec.deadline = *when;
  }
  if (auto ok = CheckJobSpec(spec); !ok) return fail(ok.error().message);
  return spec;
}

}  // namespace

void Api::RegisterJobs(HttpServer& server) {
  auto jobs_off = [this](httplib::Response& res) {
    if (jobs_) return false;
    SetError(res, ApiError::kNotFound, "jobs are off in this service");
    return true;
  };
  server.Post("/v1/jobs", Guard(Scope::kRun, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    auto spec = SpecFromBody(req, res);
    if (!spec) return;
    // A name, never a path; an unknown skill is still queued (it may be installed before the
    // job runs) and dies after its attempts if it is not.
    if (spec->skill.find('/') != std::string::npos || spec->skill.front() == '.') {
      return SetError(res, ApiError::kBadRequest, "skill: a skill name, not a path");
    }
    bool created = false;
    auto job = jobs_->Enqueue(*spec, &created);
    if (!job) return SetError(res, job.error());
    if (created && runner_) runner_->Wake();
    res.set_header("Location", "/v1/jobs/" + job->id);
    SetJson(res, JobToJson(*job), created ? 201 : 200);
  }));
  server.Get("/v1/jobs", Guard(Scope::kRead, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    std::optional<JobState> state;
    if (req.has_param("state")) {
      auto parsed = ParseJobState(req.get_param_value("state"));
      if (!parsed) return SetError(res, parsed.error());
      state = *parsed;
    }
    uint64_t limit = 100;
    if (req.has_param("limit")) {
      auto n = ParseCount(req.get_param_value("limit"));
      if (!n || *n == 0 || *n > 10000) return SetError(res, ApiError::kBadRequest, "limit: 1-10000");
      limit = *n;
    }
    auto jobs = jobs_->List(state, limit);
    if (!jobs) return SetError(res, jobs.error());
    nlohmann::json list = nlohmann::json::array();
    for (const Job& job : *jobs) list.push_back(JobToJson(job));
    SetJson(res, {{"jobs", list}});
  }));
  server.Get(R"(/v1/jobs/([A-Za-z0-9_]+))", Guard(Scope::kRead, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    auto job = jobs_->Get(req.matches[1].str());
    if (!job) return SetError(res, job.error());
    if (!*job) return SetError(res, ApiError::kNotFound, "no job " + req.matches[1].str());
    SetJson(res, JobToJson(**job, req.get_param_value("events") == "1"));
  }));
  server.Post(R"(/v1/jobs/([A-Za-z0-9_]+)/cancel)", Guard(Scope::kRun, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    auto job = jobs_->Cancel(req.matches[1].str());
    if (!job) return SetError(res, job.error());
    SetJson(res, JobToJson(*job));
  }));
  server.Post(R"(/v1/jobs/([A-Za-z0-9_]+)/retry)", Guard(Scope::kRun, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    auto job = jobs_->Retry(req.matches[1].str());
    if (!job) return SetError(res, job.error());
    if (runner_) runner_->Wake();
    SetJson(res, JobToJson(*job));
  }));
  // The events of the job's latest attempt: live while it runs in this process, stored once
  // it ended; a queued job's stream waits for it to start.
  server.Get(R"(/v1/jobs/([A-Za-z0-9_]+)/events)", Guard(Scope::kRead, [this, jobs_off](const httplib::Request& req, httplib::Response& res) {
    if (jobs_off(res)) return;
    const std::string id = req.matches[1].str();
    auto first = jobs_->Get(id);
    if (!first) return SetError(res, first.error());
    if (!*first) return SetError(res, ApiError::kNotFound, "no job " + id);
    Stream(req, res, [this, id](uint64_t after, std::chrono::milliseconds wait) {
      EventPage page;
      auto job = jobs_->Get(id);
      if (!job || !*job) {
        page.finished = true;
        return page;
      }
      if (!IsTerminal((*job)->state)) {
        if (auto handle = runs_.Find((*job)->run_id); handle && !(*job)->run_id.empty()) {
          EventBatch batch = handle->ReadEvents(after, 256, wait);
          page.dropped = batch.dropped;
          for (const RunEvent& e : batch.events) page.events.emplace_back(e.seq, RunEventToJson(e));
          return page;  // The job's end is read from the store, below, on a later call.
        }
        std::this_thread::sleep_for(std::min(wait, std::chrono::milliseconds(200)));
        return page;
      }
      if ((*job)->events.is_array()) {
        for (const nlohmann::json& e : (*job)->events) {
          const uint64_t seq = e.value("seq", uint64_t{0});
          if (seq > after) page.events.emplace_back(seq, e);
        }
      }
      page.finished = true;
      return page;
    });
  }));

  server.Get("/v1/audit", Guard(Scope::kAdmin, [this](const httplib::Request& req, httplib::Response& res) {
    AuditQuery query;
    if (req.has_param("skill")) query.skill = req.get_param_value("skill");
    if (req.has_param("status")) query.status = req.get_param_value("status");
    if (req.has_param("event")) query.event = req.get_param_value("event");
    const auto now = std::chrono::system_clock::now();
    for (const char* bound : {"since", "until"}) {
      if (!req.has_param(bound)) continue;
      auto when = ParseAuditTimeBound(req.get_param_value(bound), now);
      if (!when) return SetError(res, ApiError::kBadRequest, std::string(bound) + ": " + when.error().message);
      (std::string_view(bound) == "since" ? query.since : query.until) = *when;
    }
    query.limit = 100;
    if (req.has_param("limit")) {
      auto n = ParseCount(req.get_param_value("limit"));
      if (!n || *n > 100000) return SetError(res, ApiError::kBadRequest, "limit: 0-100000");
      query.limit = *n;
    }
    auto records = QueryAuditLog(engine_.home() / "audit.log", query);
    if (!records && records.error().code == ErrorCode::kNotFound) records = std::vector<nlohmann::json>{};
    if (!records) return SetError(res, records.error());
    SetJson(res, {{"records", *records}});
  }));
  server.Get("/v1/audit/verify", Guard(Scope::kAdmin, [this](const httplib::Request&, httplib::Response& res) {
    auto v = VerifyAuditLog(engine_.home() / "audit.log");
    if (!v) return SetError(res, v.error());
    SetJson(res, {{"ok", v->ok},
                  {"records", v->records},
                  {"head_seq", v->head_seq},
                  {"head_hash", v->head_hash},
                  {"problem", AuditProblemName(v->problem)},
                  {"line", v->line},
                  {"message", v->message}});
  }));
}

}  // namespace skillrt::service
