// The allowlist rule (docs/risk-guard.md "The allowlist rule"): a command line is allowed only
// when every simple command in it is, on its own.
#include <algorithm>
#include <string>
#include <vector>

#include "gate/shell_parse.h"
#include "skillrt/plan.h"
#include "skillrt/risk.h"

namespace skillrt {
namespace {

std::string Where(const SimpleCommand& cmd) {
  return cmd.context.empty() ? "" : " (inside " + cmd.context + ")";
}

GuardVerdict Deny(GuardVerdict verdict, std::string message, std::string command) {
  verdict.allowed = false;
  verdict.message = std::move(message);
  verdict.offending_command = std::move(command);
  return verdict;
}

}  // namespace

GuardVerdict GuardCommands(const ParsedCommand& parsed, const std::vector<std::string>& allowed) {
  return GuardCommands(parsed, allowed, {});
}

GuardVerdict GuardCommands(const ParsedCommand& parsed, const std::vector<std::string>& allowed,
                           const RiskContext& context) {
  GuardVerdict verdict;
  verdict.risk = AssessRisk(parsed, context);
  if (!parsed.functions.empty()) {
    // A function named like an allowed command would run its body under that name.
    return Deny(std::move(verdict),
                "defines the shell function '" + parsed.functions.front() +
                    "', which can stand in for an allowed command",
                parsed.functions.front());
  }
  for (const SimpleCommand& cmd : parsed.commands) {
    for (const std::string& assignment : cmd.assignments) {
      if (shell::ChangesCommandLookup(assignment)) {
        std::string name = assignment.substr(0, assignment.find('='));
        return Deny(std::move(verdict),
                    "assigns " + name + Where(cmd) +
                        ", which changes which program an allowed name runs",
                    cmd.argv.empty() ? std::string() : cmd.argv[0]);
      }
    }
    if (cmd.argv.empty()) continue;
    const std::string& name = cmd.argv[0];
    if (std::none_of(allowed.begin(), allowed.end(),
                     [&](const std::string& command) { return SameCommand(command, name); })) {
      return Deny(std::move(verdict),
                  "command '" + name + "'" + Where(cmd) + " is not allowed", name);
    }
    if (cmd.stage > 0 && shell::SourceOf(cmd) == shell::ScriptSource::kStdin) {
      return Deny(std::move(verdict),
                  "'" + name + "'" + Where(cmd) +
                      " reads its commands from a pipe, so they cannot be checked",
                  name);
    }
  }
  for (const RiskReason& reason : verdict.risk.reasons) {
    if (reason.level != RiskLevel::kCritical) continue;
    std::string command = reason.command.substr(0, reason.command.find(' '));
    return Deny(std::move(verdict),
                "'" + reason.command + "' is refused: " + reason.reason + " [critical risk, rule " +
                    reason.rule + "]",
                command);
  }
  verdict.allowed = true;
  return verdict;
}

}  // namespace skillrt
