// `skillrt policy check` (docs/cli.md, docs/policy.md "Checking a call").
#include <string>

#include "cli/cli.h"
#include "skillrt/policy.h"

namespace skillrt::cli {
namespace {

int ExitCodeFor(PolicyEffect effect) {
  switch (effect) {
    case PolicyEffect::kAllow: return kExitOk;
    case PolicyEffect::kAsk: return kExitAsk;
    case PolicyEffect::kDeny: return kExitDenied;
  }
  return kExitDenied;
}

// "  deny   /h/policy.toml:7 rule 2 'no-net': network: <reason>"
std::string RuleLine(const PolicyMatch& m) {
  std::string effect(PolicyEffectName(m.effect));
  std::string line = "  " + effect + std::string(7 - effect.size(), ' ');
  line += m.source;
  if (m.line > 0) line += ":" + std::to_string(m.line);
  if (m.index > 0) line += " rule " + std::to_string(m.index);
  line += " '" + m.name + "': " + m.subject;
  if (!m.reason.empty()) line += ": " + m.reason;
  if (!m.ignored.empty()) line += " [ignored: " + m.ignored + "]";
  return line + "\n";
}

}  // namespace

int CheckPolicyCommand(const GlobalOptions& global, const PolicyCheckCommand& command) {
  RunOverrides overrides;
  if (command.sandbox == "best-effort") {
    overrides.level = SandboxLevel::kBestEffort;
  } else if (command.sandbox != "strict") {
    PrintError("--sandbox: expected strict or best-effort, got '" + command.sandbox + "'");
    return kExitUsage;
  }
  auto grants = GrantsFromFlags(command.grants);
  if (!grants) {
    PrintError(grants.error().message);
    return ExitCodeFor(grants.error());
  }
  overrides.grants = std::move(*grants);
  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code);
  if (!engine) return exit_code;
  auto check = engine->CheckPolicy(command.skill, command.argv, overrides);
  if (!check) {
    PrintError(check.error().message);
    return ExitCodeFor(check.error());
  }
  const PolicyDecision& decision = check->decision;
  if (command.json) {
    nlohmann::json reasons = nlohmann::json::array();
    for (const RiskReason& r : check->risk.reasons) {
      reasons.push_back({{"level", RiskLevelName(r.level)},
                         {"rule", r.rule},
                         {"reason", r.reason},
                         {"command", r.command}});
    }
    nlohmann::json files = nlohmann::json::array();
    for (const auto& file : engine->policy().files) files.push_back(file.string());
    nlohmann::json out = {
        {"skill", check->skill},
        {"kind", check->kind},
        {"decision", PolicyEffectName(decision.effect)},
        {"rules", PolicyRulesToJson(decision.rules)},
        {"risk", {{"level", RiskLevelName(check->risk.level)}, {"reasons", reasons}}},
        {"policy_files", files},
        {"approval_key", check->approval_key.empty() ? nlohmann::json()
                                                     : nlohmann::json(check->approval_key)},
        {"stored_approval", check->stored_approval},
    };
    WriteOut(Dump(out) + "\n");
    return ExitCodeFor(decision.effect);
  }
  std::string text = check->skill + " (" + check->kind + "): " +
                     std::string(PolicyEffectName(decision.effect)) + "\n";
  for (const PolicyMatch& m : decision.rules) text += RuleLine(m);
  if (check->risk.level != RiskLevel::kLow) {
    text += "risk: " + std::string(RiskLevelName(check->risk.level)) + "\n";
    for (const RiskReason& r : check->risk.reasons) {
      text += "  " + std::string(RiskLevelName(r.level)) + " " + r.rule + ": " + r.reason +
              " (" + r.command + ")\n";
    }
  }
  if (!check->approval_key.empty()) {
    text += "approval key: " + check->approval_key +
            (check->stored_approval ? " (stored: runs without asking)\n" : "\n");
  }
  if (engine->policy().files.empty()) {
    text += "policy files: none (built-in default only)\n";
  } else {
    text += "policy files:";
    for (const auto& file : engine->policy().files) text += " " + file.string();
    text += "\n";
  }
  WriteOut(text);
  return ExitCodeFor(decision.effect);
}

}  // namespace skillrt::cli
