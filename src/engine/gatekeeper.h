// The engine's gate between planning and the runtime: turns a planned call into the policy's
// request and the approval request, and both verdicts into audit fields
// (docs/policy.md, docs/approvals.md, docs/audit.md "Decisions").
#ifndef SKILLRT_ENGINE_GATEKEEPER_H_
#define SKILLRT_ENGINE_GATEKEEPER_H_

#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "gate/approval_gate.h"
#include "skillrt/approval.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/risk.h"
#include "skillrt/skill.h"

namespace skillrt {

/// Every simple command of `parsed` with the highest risk `risk` gave it (for `exec`).
std::vector<PolicyExecCommand> ExecCommands(const ParsedCommand& parsed,
                                            const RiskAssessment& risk);

/// The risk guard's context for a call with `plan`: every mount's path as declared (where the
/// sandbox shows it) and, when the plan pinned it, as resolved (the host object), so that a
/// removal of either, of a directory above either or of all its contents is critical.
/// Pure; thread-safe.
RiskContext PlanRiskContext(const Plan& plan);

/// What `plan` asks of the policy: declared paths resolved as they will be mounted
/// (symlinks followed), host variables passed, commands, sandbox level, and `exec`.
PolicyRequest MakePolicyRequest(const Skill& skill, const Plan& plan, std::string_view kind,
                                std::vector<PolicyExecCommand> exec);

/// The approval request for `plan`: the sanitized request (capabilities, secret names and
/// limits; names only, never values), the invocation (kind, instance, argv, argv_sha256,
/// input_sha256) and its key. `invocation` is the audit record's: its kind, instance,
/// input_sha256 and secrets (names) are used; `argv` is the argv as the caller gave it.
/// Errors: as ApprovalKey.
Result<ApprovalRequest> MakeApprovalRequest(const Skill& skill, const Plan& plan,
                                            const nlohmann::json& invocation,
                                            const std::vector<std::string>& argv,
                                            RiskAssessment risk, PolicyDecision decision);


/// The `decision` field of a run or refusal record: {"policy": allow|ask|deny, "result":
/// allow|deny|approved|approved_session|approved_always|denied|aborted, "rules": [...]}, plus
/// "approval": {"key", "answer", "via"} when the policy asked.
nlohmann::json DecisionRecord(const PolicyDecision& decision, const ApprovalRequest* request,
                              const ApprovalOutcome* approval);

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_GATEKEEPER_H_
