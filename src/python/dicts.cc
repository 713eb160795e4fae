#include "dicts.h"

#include <chrono>
#include <string>
#include <vector>

#include "skillrt/policy.h"
#include "skillrt/outcome.h"
#include "skillrt/policy.h"
#include "skillrt/risk.h"

namespace skillrt::python {
namespace {

double EpochSeconds(std::chrono::system_clock::time_point time) {
  return std::chrono::duration<double>(time.time_since_epoch()).count();
}

nlohmann::json RiskJson(const RiskAssessment& risk) {
  nlohmann::json reasons = nlohmann::json::array();
  for (const RiskReason& reason : risk.reasons) {
    reasons.push_back({{"level", RiskLevelName(reason.level)},
                       {"rule", reason.rule},
                       {"reason", reason.reason},
                       {"command", reason.command}});
  }
  return {{"level", RiskLevelName(risk.level)}, {"reasons", std::move(reasons)}};
}

nlohmann::json PolicyJson(const PolicyDecision& decision) {
  return {{"effect", PolicyEffectName(decision.effect)},
          {"summary", decision.Summary()},
          {"rules", PolicyRulesToJson(decision.rules)}};
}

std::vector<std::string> PathStrings(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::string> out;
  for (const auto& path : paths) out.push_back(path.string());
  return out;
}

}  // namespace

nlohmann::json ApprovalRequestJson(const ApprovalRequest& r) {
  return {{"key", r.key},
          {"skill", r.skill},
          {"skill_dir", r.skill_dir.string()},
          {"tree_sha256", r.tree_sha256},
          {"invocation", r.invocation},
          {"request", r.request},
          {"risk", RiskJson(r.risk)},
          {"policy", PolicyJson(r.policy)},
          {"previous_denials", r.previous_denials},
          {"prompt", FormatApprovalPrompt(r)}};
}

nlohmann::json PendingApprovalJson(const PendingApproval& p) {
  return {{"run_id", p.run_id},
          {"since", EpochSeconds(p.since)},
          {"deadline", EpochSeconds(p.deadline)},
          {"request", ApprovalRequestJson(p.request)}};
}

nlohmann::json SkillRefJson(const SkillRef& ref) {
  nlohmann::json shadowed = nlohmann::json::array();
  for (const ShadowedSkill& s : ref.shadowed) shadowed.push_back(s.dir.string());
  return {{"name", ref.name},
          {"path", ref.dir.string()},
          {"root", ref.root.string()},
          {"shadowed", std::move(shadowed)}};
}

nlohmann::json DiagnosticJson(const Diagnostic& d) {
  return {{"severity", d.severity == Diagnostic::Severity::kError ? "error" : "warning"},
          {"file", d.file.string()},
          {"line", d.line},
          {"field", d.field},
          {"message", d.message},
          {"text", d.ToString()}};
}

nlohmann::json SkillInfoJson(const Skill& skill) {
  const Manifest& m = skill.manifest;
  nlohmann::json entry = nullptr;
  if (m.entry) {
    entry = {{"argv", m.entry->argv},
             {"input", m.entry->input == InputMode::kStdin ? "stdin" : "none"},
             {"output", m.entry->output == OutputMode::kJson ? "json" : "text"}};
  }
  nlohmann::json warnings = nlohmann::json::array();
  for (const Diagnostic& d : skill.warnings) warnings.push_back(DiagnosticJson(d));
  return {
      {"name", skill.meta.name},
      {"display_name", skill.meta.display_name.empty() ? skill.meta.name : skill.meta.display_name},
      {"description", skill.meta.description},
      {"path", skill.dir.string()},
      {"license", skill.meta.license ? nlohmann::json(*skill.meta.license) : nullptr},
      {"compatibility",
       skill.meta.compatibility ? nlohmann::json(*skill.meta.compatibility) : nullptr},
      {"metadata", skill.meta.metadata},
      {"allowed_tools", skill.meta.allowed_tools},
      {"tree_sha256", skill.tree_sha256},
      {"runtime", RuntimeKindName(m.runtime)},
      {"inferred", m.inferred},
      {"entry", entry},
      {"input_schema", m.input_schema ? *m.input_schema : nlohmann::json(nullptr)},
      {"capabilities",
       {{"read", PathStrings(m.capabilities.read_paths)},
        {"write", PathStrings(m.capabilities.write_paths)},
        {"network", m.capabilities.network},
        {"commands", m.capabilities.commands},
        {"env_pass", m.capabilities.env.pass},
        {"env_set", m.capabilities.env.set}}},
      {"limits", LimitsToJson(m.limits)},
      {"warnings", std::move(warnings)},
  };
}

nlohmann::json AuditVerificationJson(const AuditVerification& v) {
  return {{"ok", v.ok},
          {"records", v.records},
          {"head_seq", v.head_seq},
          {"head_hash", v.head_hash},
          {"line", v.line},
          {"seq", v.seq},
          {"problem", AuditProblemName(v.problem)},
          {"message", v.message},
          {"interrupted_append", v.interrupted_append}};
}

nlohmann::json PolicyCheckJson(const PolicyCheck& c) {
  return {{"skill", c.skill},
          {"kind", c.kind},
          {"effect", PolicyEffectName(c.decision.effect)},
          {"summary", c.decision.Summary()},
          {"rules", PolicyRulesToJson(c.decision.rules)},
          {"risk", RiskJson(c.risk)},
          {"approval_key", c.approval_key},
          {"stored_approval", c.stored_approval}};
}

}  // namespace skillrt::python
