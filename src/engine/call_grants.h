// What one call gets beyond the skill's files: the user's grants (per call and from the
// grants file) and the prepared Python environment, worked out before the call is planned
// and then carried by the Skill (CallGrants, include/skillrt/grants.h) into the plan, the
// policy request, the approval key and the audit record (docs/grants.md,
// docs/dependencies.md).
#ifndef SKILLRT_ENGINE_CALL_GRANTS_H_
#define SKILLRT_ENGINE_CALL_GRANTS_H_

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/lock.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/skill.h"

namespace skillrt {

/// Applies to `skill` (already checked against the lock and narrowed by its instance) what
/// the call gets beyond its files, in order: checks `call` (CheckGrants); reads the grants
/// file of `home` and takes the entries for the skill and `instance`; refuses when the
/// skill is locked and those entries are wider than the lock recorded; merges both into
/// `skill.grants.widened` (what the manifest does not already grant), adds the granted
/// commands to the manifest's allowlist and raises its limits to the granted ones; finds
/// the skill's Python requirements and their prepared environment (CallGrantsRecord is
/// what the audit record shows of it). Errors: kInvalidArgument for a bad call grant; kValidation/kParse/kIo from the grants
/// file; kDenied for grants widened since the lock, for dependencies of a non-native
/// skill, and for requirements that were never prepared (naming `skillrt prepare`).
Result<void> ApplyCallGrants(const std::filesystem::path& home, const LockFile& lock,
                             const Grants& call, const std::optional<std::string>& instance,
                             Skill& skill);

/// The audit record's view of `grants` (the invocation's "grants" and "dependencies"):
/// {"grants": {"call", "file", "widened"}} when the user granted anything, each as
/// GrantsToJson, and {"dependencies": {"python": ID, "requirements", "source"}} when a
/// prepared environment is used; an empty object otherwise. Pure.
nlohmann::json CallGrantsRecord(const CallGrants& grants);

/// kDenied when `pin` is `state_dir`, lies under it, or contains it: skillrt's state (the
/// grants file, the policy, approvals, the audit log, installed skills) is never handed to
/// a sandbox, so no skill can widen its own grants or rewrite the record of what it did.
/// `what` names the path in the message. Nothing is checked when `state_dir` is empty.
Result<void> CheckStateDirectory(const std::filesystem::path& state_dir, const PathPin& pin,
                                 const std::string& what);

/// Adds the prepared Python environment of `skill.grants.python`, if any, to `plan`: a
/// read-only BindMount (MountOrigin::kDependencies) of the environment at kPythonEnvMount,
/// pinned like every host path. The caller puts its site-packages on PYTHONPATH.
/// Errors: as PinHostPath, naming the environment.
Result<void> AddPythonEnvironment(const Skill& skill, Plan& plan);

/// The policy subjects of what the grants add to `plan`: each granted command, each granted
/// mount (read or write, its path resolved) and each raised limit ("KEY VALUE"). Pure.
std::vector<PolicyGrant> GrantSubjects(const Skill& skill, const Plan& plan);

/// The approval key's part for grants and dependencies: {"grants": {commands, read, write,
/// limits}}
/// with resolved paths, and {"dependencies": {"python": ID}}; each key only when there is
/// something to name, so that calls without either keep their keys. Pure.
nlohmann::json GrantsForApproval(const Skill& skill, const Plan& plan);

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_CALL_GRANTS_H_
