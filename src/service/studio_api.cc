// Read-only routes the studio needs besides the rest of the API (api.h): who the token is,
// the runs this service started, and a skill's grant, lock state and files. Each is an
// ordinary API route: the same token checks, usable by any client.
#include <algorithm>

#include "service/api.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/outcome.h"
#include "skillrt/skill.h"

namespace skillrt::service {
namespace {

constexpr size_t kMaxListedFiles = 500;

// A run in the list: what the studio shows in a row, read from the run's first events.
nlohmann::json RunSummary(const RunHandle& handle) {
  nlohmann::json j = {{"run_id", handle.run_id()}, {"done", handle.done()}, {"skill", nullptr},
                      {"started", nullptr}, {"status", handle.done() ? "error" : "running"}};
  for (const RunEvent& event : handle.ReadEvents(0, 4).events) {
    if (j["started"].is_null()) j["started"] = RunEventToJson(event)["time"];
    if (const auto* accepted = std::get_if<AcceptedEvent>(&event.payload)) j["skill"] = accepted->skill;
  }
  if (handle.done()) {
    if (Result<Outcome> outcome = handle.Wait()) {
      j["status"] = StatusName(outcome->status);
      j["duration_ms"] =
          std::chrono::duration_cast<std::chrono::milliseconds>(outcome->duration).count();
    }
  }
  return j;
}

nlohmann::json DriftToJson(const Drift& drift) {
  return {{"tree_changed", drift.tree_changed}, {"changed", drift.changed},
          {"added", drift.added}, {"removed", drift.removed}, {"widened", drift.widened},
          {"narrowed", drift.narrowed}, {"behaviour", drift.behaviour},
          {"allowed", drift.allowed}};
}

// The skill's lock state: "unlocked", "locked" (matches its entry), or "drifted" with how.
nlohmann::json LockState(const Skill& skill, const std::filesystem::path& home) {
  auto lock = ReadLockFile(LockFilePath(home));
  if (!lock) return {{"state", "unknown"}, {"error", lock.error().message}};
  auto entry = lock->skills.find(skill.meta.name);
  if (entry == lock->skills.end()) return {{"state", "unlocked"}, {"require", lock->require}};
  auto drift = CompareWithLock(skill, entry->second);
  if (!drift) return {{"state", "unknown"}, {"error", drift.error().message}};
  const bool same = !drift->tree_changed && drift->changed.empty() && drift->added.empty() &&
                    drift->removed.empty();
  return {{"state", same ? "locked" : "drifted"}, {"drift", DriftToJson(*drift)}};
}

// The skill's instances (docs/instances.md): names, which is the default, and the names of
// what each sets; never a value (config, env values and secret references stay on the host).
nlohmann::json Instances(const std::string& skill, const std::filesystem::path& home) {
  auto file = ReadInstanceFile(InstanceFilePath(home));
  if (!file) return {{"error", file.error().message}, {"instances", nlohmann::json::array()}};
  nlohmann::json list = nlohmann::json::array();
  auto found = file->skills.find(skill);
  if (found == file->skills.end()) return {{"instances", list}};
  auto fallback = file->defaults.find(skill);
  for (const auto& [name, instance] : found->second) {
    nlohmann::json env = nlohmann::json::array(), secrets = nlohmann::json::array(),
                   config = nlohmann::json::array();
    for (const auto& [key, value] : instance.env) env.push_back(key);
    for (const auto& [key, value] : instance.secrets) secrets.push_back(key);
    for (const auto& [key, value] : instance.config.items()) config.push_back(key);
    list.push_back({{"name", name},
                    {"default", fallback != file->defaults.end() && fallback->second == name},
                    {"env", env}, {"secrets", secrets}, {"config_keys", config}});
  }
  return {{"instances", list}};
}

}  // namespace

void Api::RegisterStudioApi(HttpServer& server) {
  server.Get("/v1/whoami", Guard(Scope::kRead, [](const httplib::Request&, httplib::Response& res) {
    const TokenRecord token = *CurrentToken();  // Guard has checked there is one.
    nlohmann::json may = nlohmann::json::object();
    for (Scope scope : {Scope::kRead, Scope::kRun, Scope::kApprove, Scope::kAdmin}) {
      may[std::string(ScopeName(scope))] = ScopeAllows(token.scope, scope);
    }
    SetJson(res, {{"id", token.id}, {"name", token.name}, {"scope", ScopeName(token.scope)},
                  {"may", may}});
  }));

  // The runs started through this service (POST /v1/runs), newest first; ?skill= and
  // ?status= filter ("running" for those not done), ?limit= (default 100) bounds.
  server.Get("/v1/runs", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    size_t limit = 100;
    if (req.has_param("limit")) {
      const std::string text = req.get_param_value("limit");
      if (text.empty() || text.size() > 6 ||
          !std::all_of(text.begin(), text.end(), [](char c) { return c >= '0' && c <= '9'; })) {
        return SetError(res, ApiError::kBadRequest, "limit: an integer 1-100000");
      }
      limit = std::max<size_t>(1, std::stoul(text));
    }
    const std::string skill = req.get_param_value("skill");
    const std::string status = req.get_param_value("status");
    std::vector<RunHandle> all = runs_.List();
    nlohmann::json runs = nlohmann::json::array();
    for (auto it = all.rbegin(); it != all.rend() && runs.size() < limit; ++it) {
      nlohmann::json row = RunSummary(*it);
      if (!skill.empty() && row["skill"] != skill) continue;
      if (!status.empty() && row["status"] != status) continue;
      runs.push_back(std::move(row));
    }
    SetJson(res, {{"runs", runs}});
  }));

  // What the skill may do (the canonical grant, as its lock entry holds it), its lock state
  // and drift, its instances, and its files.
  server.Get(R"(/v1/skills/([^/]+)/details)", Guard(Scope::kRead, [this](const httplib::Request& req, httplib::Response& res) {
    if (!CheckSkillSelector(engine_, req.matches[1].str(), res)) return;
    auto skill = engine_.registry().Describe(req.matches[1].str());
    if (!skill) return SetError(res, skill.error());
    nlohmann::json files = nlohmann::json::array();
    bool files_cut = false;
    if (auto hashed = HashSkillFiles(skill->dir)) {
      for (const auto& [path, digest] : *hashed) {
        if (digest == "dir") continue;
        if (files.size() == kMaxListedFiles) {
          files_cut = true;
          break;
        }
        files.push_back(path);
      }
    }
    nlohmann::json warnings = nlohmann::json::array();
    for (const auto& warning : skill->warnings) warnings.push_back(warning.message);
    SetJson(res, {{"name", skill->meta.name},
                  {"tree_sha256", skill->tree_sha256},
                  {"inferred", skill->manifest.inferred},
                  {"grant", GrantOf(skill->manifest)},
                  {"lock", LockState(*skill, engine_.home())},
                  {"instances", Instances(skill->meta.name, engine_.home())},
                  {"files", files},
                  {"files_cut", files_cut},
                  {"warnings", warnings}});
  }));
}

}  // namespace skillrt::service
