// One call as it moves through the engine's pipeline: what was asked, and what the steps
// learned about it (include/skillrt/engine.h). The one description of a call shared by Run,
// Exec and CheckPolicy; its Invocation() is the audit record's and the approval key's view.
#ifndef SKILLRT_ENGINE_CALL_H_
#define SKILLRT_ENGINE_CALL_H_

#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "engine/secrets.h"
#include "skillrt/engine.h"
#include "skillrt/grants.h"
#include "skillrt/instance.h"
#include "skillrt/policy.h"
#include "skillrt/risk.h"
#include "skillrt/skill.h"

namespace skillrt {

/// What kind of call.
enum class CallKind { kRun, kExec };

/// "run" or "exec".
std::string_view CallKindName(CallKind kind);

/// Plain data; owned by the thread that runs the call.
struct Engine::Call {
  CallKind kind = CallKind::kRun;
  std::string selector = {};              ///< As the caller gave it: "name", "path", "name@inst".
  SkillSelector parsed = {};              ///< The selector split (ParseSkillSelector).
  std::string run_id = {};
  nlohmann::json input = nlohmann::json::object();  ///< run: the input.
  /// exec: the caller's argv (the audit record keeps it even when the guard rewrites it);
  /// run: the entry point's argv once the skill is loaded.
  std::vector<std::string> argv = {};
  /// The bytes the input digest covers: the input's JSON text (run) or stdin (exec).
  std::string input_text = {};
  RunOverrides overrides = {};

  // Learned while preparing; empty until then.
  std::optional<std::string> instance = {};   ///< The instance used (explicit or default).
  std::optional<std::string> lock = {};       ///< "locked", "narrowed" or "unlocked".
  std::optional<std::vector<std::string>> secret_names = {};
  std::vector<std::string> env_names = {};    ///< Variable names of the plan's environment.
  /// The user's grants and the prepared dependencies applied (docs/grants.md).
  std::optional<CallGrants> grants = {};

  /// {"kind", "argv", "input_sha256", "input_bytes", "env", and, once known, "instance",
  /// "lock", "secrets", "grants", "dependencies" (CallGrantsRecord)}: what was asked, without the input itself (its hash and size stand
  /// in for it) and without values of variables (names only).
  nlohmann::json Invocation() const;
};

// A call loaded, checked against the lock, narrowed by its instance, with its secrets
// resolved, planned, and (exec) passed by the command guard.
struct Engine::Prepared {
  Skill skill;  // The manifest is the instance's narrowing of the skill's.
  std::optional<Instance> instance = {};
  std::vector<ResolvedSecret> secrets = {};
  Plan plan = {};
  RiskAssessment risk = {};
  std::vector<PolicyExecCommand> exec = {};  // exec: each simple command with its risk.
};

// Where preparing stopped, and why. `stage` names the built-in rule a policy check reports:
// "lock" (lock, instance, secrets), "manifest" (planning, the allowed commands),
// "command-guard", "input".
struct Engine::Refusal {
  std::optional<Skill> skill;  // Empty when the skill could not be loaded (not audited).
  Error error;
  std::string stage;
};

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_CALL_H_
