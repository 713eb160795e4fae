// What one call gets beyond the skill's files (src/engine/call_grants.h).
#include "engine/call_grants.h"

#include <algorithm>
#include <string>
#include <system_error>
#include <utility>

#include "engine/plan_builder.h"
#include "skillrt/dependencies.h"
#include "skill/limit_fields.h"
#include "runtime/path_pin.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using Json = nlohmann::json;

// True when `path` is `base` or lies below it, by whole components (both normalized).
bool Covers(const fs::path& base, const fs::path& path) {
  const std::string b = base.string(), p = path.string();
  return p == b || (p.size() > b.size() && p.starts_with(b) && (b == "/" || p[b.size()] == '/'));
}

bool CoveredByAny(const std::vector<fs::path>& bases, const fs::path& path) {
  return std::any_of(bases.begin(), bases.end(),
                     [&](const fs::path& base) { return Covers(base, path); });
}

// What `grants` adds to `manifest`: commands it does not allow, paths its read and write
// paths do not cover (write covers read), limits above its own. Python requirements are not
// a widening of what the skill reaches; they are handled as dependencies.
Grants Widening(const Manifest& manifest, const Grants& grants) {
  const std::vector<std::string> allowed = AllowedCommands(manifest);
  std::vector<fs::path> readable = manifest.capabilities.read_paths;
  readable.insert(readable.end(), manifest.capabilities.write_paths.begin(),
                  manifest.capabilities.write_paths.end());
  Grants out;
  for (const std::string& command : grants.commands) {
    if (!IsCommandAllowed(allowed, command)) out.commands.push_back(command);
  }
  for (const fs::path& path : grants.write_paths) {
    if (!CoveredByAny(manifest.capabilities.write_paths, path)) out.write_paths.push_back(path);
  }
  for (const fs::path& path : grants.read_paths) {
    // A path also granted writable is mounted once, writable.
    if (!CoveredByAny(readable, path) && !CoveredByAny(out.write_paths, path)) {
      out.read_paths.push_back(path);
    }
  }
  for (const LimitField& field : LimitFields()) {
    auto it = grants.limits.find(std::string(field.key));
    if (it != grants.limits.end() && it->second > field.get(manifest.limits)) {
      out.limits[it->first] = it->second;
    }
  }
  return out;
}

std::string JoinList(const std::vector<std::string>& items) {
  std::string out;
  for (const std::string& item : items) out += (out.empty() ? "" : ", ") + item;
  return out;
}

// Finds the skill's requirements and their prepared environment.
Result<void> ApplyDependencies(const fs::path& home, const GrantFile& file,
                               const std::optional<std::string>& instance, Skill& skill) {
  auto requirements = FindPythonRequirements(skill, &file, instance);
  if (!requirements) return std::unexpected(requirements.error());
  if (requirements->requirements.empty()) return {};
  const std::string listed = JoinList(requirements->requirements);
  if (skill.manifest.runtime != RuntimeKind::kNative) {
    return Fail(ErrorCode::kDenied,
                "skill '" + skill.meta.name + "' declares Python packages (" + listed + ", from " +
                    requirements->source + "), which only the native runtime provides");
  }
  auto environment = FindPythonEnvironment(home, requirements->requirements);
  if (!environment) return std::unexpected(environment.error());
  if (!*environment) {
    return Fail(ErrorCode::kDenied,
                "skill '" + skill.meta.name + "' needs Python packages that are not prepared (" +
                    listed + ", from " + requirements->source +
                    "); the skill never installs them itself: run `skillrt prepare " +
                    skill.meta.name + "` to install them");
  }
  skill.grants.python = std::move(**environment);
  skill.grants.python_source = requirements->source;
  return {};
}

}  // namespace

Result<void> ApplyCallGrants(const fs::path& home, const LockFile& lock, const Grants& call,
                             const std::optional<std::string>& instance, Skill& skill) {
  if (!call.python.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "Python requirements are granted in the grants file and prepared before a "
                "call, not given with one");
  }
  auto call_grants = CheckGrants(call, "grant for this call");
  if (!call_grants) return std::unexpected(call_grants.error());

  const fs::path file_path = GrantFilePath(home);
  auto file = ReadGrantFile(file_path);
  if (!file) return std::unexpected(file.error());
  if (auto it = lock.skills.find(skill.meta.name); it != lock.skills.end()) {
    std::vector<std::string> widened =
        GrantsWidenedSinceLock(it->second.user_grants, *file, skill.meta.name);
    if (!widened.empty()) {
      return Fail(ErrorCode::kDenied,
                  "user grants for skill '" + skill.meta.name + "' in " + file_path.string() +
                      " are wider than when it was locked (" + it->second.locked_at +
                      "): " + JoinList(widened) + "; review them, then run `skillrt lock " +
                      skill.meta.name + "` to approve them");
    }
  }

  std::error_code ec;
  skill.grants.state_dir = fs::canonical(home, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "realpath(" + home.string() + ")", ec.value());
  skill.grants.call = std::move(*call_grants);
  skill.grants.file = FileGrantsFor(*file, skill.meta.name, instance);
  Grants merged = MergeGrants(skill.grants.call, skill.grants.file);
  merged.python.clear();
  skill.grants.widened = Widening(skill.manifest, merged);
  // The guard and the planner read the allowlist from the manifest.
  for (const std::string& command : skill.grants.widened.commands) {
    skill.manifest.capabilities.commands.push_back(command);
  }
  // Raised limits are the plan's limits; the host's ceilings still apply through the policy.
  for (const LimitField& field : LimitFields()) {
    if (auto it = skill.grants.widened.limits.find(std::string(field.key));
        it != skill.grants.widened.limits.end()) {
      field.set(skill.manifest.limits, it->second);
    }
  }
  return ApplyDependencies(home, *file, instance, skill);
}

Json CallGrantsRecord(const CallGrants& grants) {
  Json out = Json::object();
  if (!grants.call.empty() || !grants.file.empty()) {
    out["grants"] = {{"call", GrantsToJson(grants.call)},
                     {"file", GrantsToJson(grants.file)},
                     {"widened", GrantsToJson(grants.widened)}};
  }
  if (grants.python) {
    out["dependencies"] = {{"python", grants.python->id},
                           {"requirements", grants.python->requirements},
                           {"source", grants.python_source}};
  }
  return out;
}

Result<void> CheckStateDirectory(const fs::path& state_dir, const PathPin& pin,
                                 const std::string& what) {
  if (state_dir.empty()) return {};
  if (Covers(state_dir, pin.resolved) || Covers(pin.resolved, state_dir)) {
    return Fail(ErrorCode::kDenied,
                what + " resolves to " + pin.resolved.string() + ", which is or contains " +
                    "skillrt's state directory " + state_dir.string() +
                    " (grants, policy, approvals, audit log), which no sandbox may reach");
  }
  return {};
}

Result<void> AddPythonEnvironment(const Skill& skill, Plan& plan) {
  if (!skill.grants.python) return {};
  const fs::path& dir = skill.grants.python->dir;
  Result<PathPin> pin = PinHostPath(dir);
  if (!pin || !pin->directory) {
    return Fail(pin ? ErrorCode::kIo : pin.error().code,
                "Python environment " + dir.string() + ": " +
                    (pin ? "not a directory" : pin.error().message));
  }
  if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
    return Fail(ErrorCode::kDenied, "Python environment " + dir.string() + " lies under '" +
                                        std::string(*reserved) +
                                        "', a reserved host path that is never mounted; keep "
                                        "the state directory elsewhere");
  }
  plan.mounts.push_back(BindMount{.path = std::string(kPythonEnvMount),
                                  .writable = false,
                                  .pin = std::move(*pin),
                                  .origin = MountOrigin::kDependencies});
  return {};
}

std::vector<PolicyGrant> GrantSubjects(const Skill& skill, const Plan& plan) {
  using Kind = PolicyGrant::Kind;
  std::vector<PolicyGrant> out;
  for (const std::string& command : skill.grants.widened.commands) {
    out.push_back({.kind = Kind::kCommand, .value = command});
  }
  for (const BindMount& mount : plan.mounts) {
    if (mount.origin != MountOrigin::kGrant) continue;
    const fs::path resolved = mount.pin ? mount.pin->resolved : mount.path;
    out.push_back({.kind = mount.writable ? Kind::kWrite : Kind::kRead, .value = resolved});
  }
  for (const auto& [key, value] : skill.grants.widened.limits) {
    out.push_back({.kind = Kind::kLimit, .value = key + " " + std::to_string(value)});
  }
  return out;
}

Json GrantsForApproval(const Skill& skill, const Plan& plan) {
  Json out = Json::object();
  Grants granted;
  granted.commands = skill.grants.widened.commands;
  granted.limits = skill.grants.widened.limits;
  for (const BindMount& mount : plan.mounts) {
    if (mount.origin != MountOrigin::kGrant) continue;
    const fs::path resolved = mount.pin ? mount.pin->resolved : mount.path;
    (mount.writable ? granted.write_paths : granted.read_paths).push_back(resolved);
  }
  if (!granted.empty()) out["grants"] = GrantsToJson(granted);
  if (skill.grants.python) out["dependencies"] = {{"python", skill.grants.python->id}};
  return out;
}

}  // namespace skillrt
