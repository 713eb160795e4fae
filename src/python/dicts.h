// The Python (dict) forms of what the engine returns besides outcomes and events: approval
// requests, pending approvals, skills, diagnostics and audit verifications. Each is JSON
// first (so its shape is plain data, documented in docs/python.md), then ToPython.
#ifndef SKILLRT_PYTHON_DICTS_H_
#define SKILLRT_PYTHON_DICTS_H_

#include <nlohmann/json.hpp>

#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/engine.h"
#include "skillrt/registry.h"
#include "skillrt/skill.h"

namespace skillrt::python {

/// {"key", "skill", "skill_dir", "tree_sha256", "invocation", "request", "risk": {"level",
/// "reasons": [{"level", "rule", "reason", "command"}]}, "policy": {"effect", "summary",
/// "rules"}, "previous_denials", "prompt"}: what an approver is shown (approval.h).
nlohmann::json ApprovalRequestJson(const ApprovalRequest& request);

/// {"run_id", "since", "deadline" (seconds since the epoch, as floats), "request"}.
nlohmann::json PendingApprovalJson(const PendingApproval& pending);

/// {"name", "path", "root", "shadowed": [paths]}.
nlohmann::json SkillRefJson(const SkillRef& ref);

/// What `info` shows of a skill: name, display_name, description, path, license,
/// compatibility, metadata, allowed_tools, tree_sha256, runtime, inferred, entry ({"argv",
/// "input", "output"} or null), input_schema, capabilities ({"read", "write", "network",
/// "commands", "env_pass", "env_set"}), limits (LimitsToJson) and warnings (DiagnosticJson).
nlohmann::json SkillInfoJson(const Skill& skill);

/// {"severity": "error"|"warning", "file", "line", "field", "message", "text"}.
nlohmann::json DiagnosticJson(const Diagnostic& diagnostic);

/// {"ok", "records", "head_seq", "head_hash", "line", "seq", "problem", "message",
/// "interrupted_append"} (audit.h, AuditVerification).
nlohmann::json AuditVerificationJson(const AuditVerification& verification);

/// The policy's answer without running (Engine::CheckPolicy): {"skill", "kind", "effect",
/// "summary", "rules", "risk", "approval_key", "stored_approval"}.
nlohmann::json PolicyCheckJson(const PolicyCheck& check);

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_DICTS_H_
