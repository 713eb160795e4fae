// The gate between planning and the runtime (src/engine/gatekeeper.h).
#include "engine/gatekeeper.h"

#include <algorithm>
#include <filesystem>
#include <system_error>
#include <utility>

#include "engine/call_grants.h"

namespace skillrt {

std::vector<PolicyExecCommand> ExecCommands(const ParsedCommand& parsed,
                                            const RiskAssessment& risk) {
  std::vector<PolicyExecCommand> out;
  for (const SimpleCommand& command : parsed.commands) {
    if (command.argv.empty()) continue;
    std::string text;
    for (const std::string& word : command.argv) text += (text.empty() ? "" : " ") + word;
    RiskLevel level = RiskLevel::kLow;
    for (const RiskReason& reason : risk.reasons) {
      if (reason.command == text) level = std::max(level, reason.level);
    }
    out.push_back(PolicyExecCommand{.text = std::move(text), .risk = level});
  }
  return out;
}

RiskContext PlanRiskContext(const Plan& plan) {
  RiskContext context;
  for (const BindMount& mount : plan.mounts) {
    context.declared_paths.push_back(mount.path.string());
    if (mount.pin && mount.pin->resolved != mount.path) {
      context.declared_paths.push_back(mount.pin->resolved.string());
    }
  }
  return context;
}

PolicyRequest MakePolicyRequest(const Skill& skill, const Plan& plan, std::string_view kind,
                                std::vector<PolicyExecCommand> exec) {
  PolicyRequest request;
  request.skill = skill.meta.name;
  request.runtime = skill.manifest.runtime;
  request.kind = std::string(kind);
  request.sandbox = plan.level;
  for (const BindMount& mount : plan.mounts) {
    // The prepared dependency environment is read-only code the user installed on purpose,
    // like the skill's own directory: named in the approval key, not a path to judge.
    if (mount.origin == MountOrigin::kDependencies) continue;
    // The policy judges the object the mount will bind (pinned when the plan was made), not
    // the declared name: a symlink under an allowed directory pointing elsewhere is judged by
    // its target, and cannot be re-pointed afterwards.
    const std::filesystem::path resolved = mount.pin ? mount.pin->resolved : mount.path;
    (mount.writable ? request.write : request.read).push_back(resolved);
  }
  request.network = plan.network || skill.manifest.capabilities.network;
  request.env_pass = skill.manifest.capabilities.env.pass;
  request.commands = plan.commands;
  request.exec = std::move(exec);
  request.limits = plan.limits;
  request.grants = GrantSubjects(skill, plan);
  return request;
}

Result<ApprovalRequest> MakeApprovalRequest(const Skill& skill, const Plan& plan,
                                            const nlohmann::json& invocation,
                                            const std::vector<std::string>& argv,
                                            RiskAssessment risk, PolicyDecision decision) {
  ApprovalRequest request;
  request.skill = skill.meta.name;
  request.skill_dir = skill.dir;
  request.tree_sha256 = skill.tree_sha256;
  nlohmann::json shown_argv = nlohmann::json::array();
  for (const std::string& arg : argv) {
    // The key covers the exact bytes through argv_sha256; the shown form may replace bytes
    // that are not UTF-8.
    shown_argv.push_back(nlohmann::json::parse(
        nlohmann::json(arg).dump(-1, ' ', false, nlohmann::json::error_handler_t::replace)));
  }
  request.invocation = {
      {"kind", invocation.value("kind", "run")},
      {"instance", invocation.value("instance", nlohmann::json())},
      {"argv", std::move(shown_argv)},
      {"argv_sha256", ArgvSha256(argv)},
      {"input_sha256", invocation.value("input_sha256", "")},
  };
  nlohmann::json read = nlohmann::json::array(), write = nlohmann::json::array();
  // The key covers the object each path resolved to, so a stored "always" never carries over
  // to a path that has since been re-pointed; the declared name is shown beside it.
  for (const BindMount& mount : plan.mounts) {
    if (mount.origin == MountOrigin::kDependencies) continue;  // In "dependencies" below.
    const std::string resolved = mount.pin ? mount.pin->resolved.string() : mount.path.string();
    (mount.writable ? write : read)
        .push_back(resolved == mount.path.string() ? nlohmann::json(resolved)
                                                   : nlohmann::json{{"path", mount.path.string()},
                                                                    {"resolved", resolved}});
  }
  nlohmann::json env_set = nlohmann::json::array();
  for (const auto& [name, value] : skill.manifest.capabilities.env.set) env_set.push_back(name);
  request.request = {
      {"runtime", RuntimeKindName(skill.manifest.runtime)},
      {"sandbox_level", SandboxLevelName(plan.level)},
      {"capabilities",
       {
           {"read", std::move(read)},
           {"write", std::move(write)},
           {"network", plan.network || skill.manifest.capabilities.network},
           {"env_pass", skill.manifest.capabilities.env.pass},
           {"env_set", std::move(env_set)},
           {"commands", plan.commands},
           {"secrets", invocation.value("secrets", nlohmann::json::array())},
       }},
      {"limits", LimitsToJson(plan.limits)},
  };
  // What the user's grants add and the dependency environment, named apart from what the
  // manifest asks for: an approval of a granted path never carries over to a declared one.
  request.request.update(GrantsForApproval(skill, plan));
  auto key = ApprovalKey(request.skill, request.tree_sha256, request.invocation, request.request);
  if (!key) return std::unexpected(key.error());
  request.key = std::move(*key);
  request.risk = std::move(risk);
  request.policy = std::move(decision);
  return request;
}

nlohmann::json PolicyRulesToJson(const std::vector<PolicyMatch>& rules) {
  nlohmann::json out = nlohmann::json::array();
  for (const PolicyMatch& m : rules) {
    nlohmann::json rule = {
        {"source", m.source}, {"index", m.index},     {"line", m.line},
        {"name", m.name},     {"effect", PolicyEffectName(m.effect)},
        {"subject", m.subject}, {"reason", m.reason},
    };
    if (!m.ignored.empty()) rule["ignored"] = m.ignored;
    out.push_back(std::move(rule));
  }
  return out;
}

nlohmann::json DecisionRecord(const PolicyDecision& decision, const ApprovalRequest* request,
                              const ApprovalOutcome* approval) {
  nlohmann::json record = {
      {"policy", PolicyEffectName(decision.effect)},
      {"rules", PolicyRulesToJson(decision.rules)},
  };
  if (decision.effect != PolicyEffect::kAsk || approval == nullptr) {
    record["result"] = decision.effect == PolicyEffect::kAllow ? "allow" : "deny";
    return record;
  }
  record["result"] = ApprovalDecisionName(approval->decision);
  record["approval"] = {
      {"key", request != nullptr ? request->key : ""},
      {"answer", ApprovalDecisionName(approval->decision)},
      {"via", approval->via},
  };
  return record;
}

}  // namespace skillrt
