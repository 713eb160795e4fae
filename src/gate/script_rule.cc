// The script rule: what an inferred interpreter may start (docs/inference.md).
#include "gate/script_rule.h"

#include <sys/stat.h>

#include <algorithm>
#include <array>
#include <cerrno>

#include "gate/shell_parse.h"
#include "gate/wrappers.h"
#include "skill/interpreters.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;

// Variables that change what an interpreter loads before or instead of the file it is given:
// PYTHONPATH, PYTHONSTARTUP, PYTHONHOME (python(1) ENVIRONMENT), NODE_OPTIONS and NODE_PATH
// (node(1)), PERL5OPT and PERL5LIB (perlrun(1)), RUBYOPT and RUBYLIB (ruby(1)), BASH_ENV and
// ENV (bash(1) INVOCATION, sh(1p)).
constexpr std::array<std::string_view, 4> kLoaderPrefixes = {"PYTHON", "NODE_", "PERL5", "RUBY"};
constexpr std::array<std::string_view, 2> kLoaderNames = {"BASH_ENV", "ENV"};

bool SetsLoaderVariable(std::string_view assignment) {
  std::string_view name = assignment.substr(0, assignment.find('='));
  return std::any_of(kLoaderPrefixes.begin(), kLoaderPrefixes.end(),
                     [&](std::string_view p) { return name.starts_with(p); }) ||
         std::find(kLoaderNames.begin(), kLoaderNames.end(), name) != kLoaderNames.end();
}

// True when some command of the line changes the working directory of what follows it.
bool ChangesDirectory(const ParsedCommand& parsed) {
  for (const SimpleCommand& cmd : parsed.commands) {
    if (cmd.argv.empty()) continue;
    if (shell::BaseName(cmd.argv[0]) == "popd") return true;
    if (shell::DirectoryChangeOf(cmd)) return true;
  }
  return false;
}

// A sandbox path with "$SKILL_DIR" expanded, or the operand unchanged.
std::string ExpandSkillDir(std::string_view operand) {
  for (std::string_view prefix : {std::string_view("$SKILL_DIR/"), std::string_view("${SKILL_DIR}/")}) {
    if (operand.starts_with(prefix)) {
      return std::string(kSandboxSkillDir) + "/" + std::string(operand.substr(prefix.size()));
    }
  }
  return std::string(operand);
}

Result<void> Refuse(const SimpleCommand& cmd, const std::string& why) {
  std::string where = cmd.context.empty() ? "" : " (inside " + cmd.context + ")";
  return Fail(ErrorCode::kDenied, "'" + shell::JoinArgv(cmd) + "'" + where +
                                      " is refused: '" + cmd.argv[0] +
                                      "' is allowed only to run a file of the skill, and " + why);
}

Result<void> CheckOne(const SimpleCommand& cmd, const fs::path& skill_dir,
                      std::string_view sandbox_cwd, bool relative_ok) {
  const interpreters::Family* family = interpreters::FamilyOfCommand(cmd.argv[0]);
  if (family == nullptr) return Refuse(cmd, "it is not a standard interpreter");
  for (const std::string& assignment : cmd.assignments) {
    if (SetsLoaderVariable(assignment)) {
      return Refuse(cmd, "'" + assignment.substr(0, assignment.find('=')) +
                             "' changes what the interpreter loads");
    }
  }
  if (cmd.run_time_operands) {
    return Refuse(cmd, "its operands are only known when the command runs");
  }
  interpreters::Operand operand = interpreters::FindOperand(*family, cmd.argv);
  if (operand.kind == interpreters::Operand::Kind::kRefused) return Refuse(cmd, "it " + operand.why);
  const std::string& word = cmd.argv[operand.index];
  if (operand.kind == interpreters::Operand::Kind::kModule) {
    // `-m` searches the working directory first (python(1), "-m"): the module must be there.
    if (!relative_ok) return Refuse(cmd, "-m after a change of directory cannot be checked");
    std::vector<std::string> files = interpreters::ModuleFiles(word);
    if (files.empty()) return Refuse(cmd, "'" + word + "' is not a module name");
    for (const std::string& file : files) {
      if (SkillFileOf(file, skill_dir, sandbox_cwd)) return {};
    }
    return Refuse(cmd, "module '" + word + "' is not a file of the skill");
  }
  std::string expanded = ExpandSkillDir(word);
  if (!expanded.starts_with("/") && !relative_ok) {
    return Refuse(cmd, "'" + word + "' is relative to a directory the line changes to; name it "
                       "as " + std::string(kSandboxSkillDir) + "/...");
  }
  auto file = SkillFileOf(expanded, skill_dir, sandbox_cwd);
  if (!file) return Refuse(cmd, file.error().message);
  return {};
}

}  // namespace

std::vector<std::string> ScriptOnlyCommands(const Manifest& manifest) {
  std::vector<std::string> out;
  const std::vector<std::string>& full = manifest.capabilities.commands;
  for (const InferredCommand& c : manifest.script_commands) {
    if (std::find(full.begin(), full.end(), c.command) != full.end()) continue;
    if (std::find(out.begin(), out.end(), c.command) == out.end()) out.push_back(c.command);
  }
  return out;
}

Result<fs::path> SkillFileOf(std::string_view operand, const fs::path& skill_dir,
                             std::string_view sandbox_cwd) {
  std::string text = ExpandSkillDir(operand);
  if (text.empty()) return Fail(ErrorCode::kDenied, "an empty path is not a file of the skill");
  fs::path inside = text.starts_with("/") ? fs::path(text) : fs::path(sandbox_cwd) / text;
  inside = inside.lexically_normal();
  fs::path relative = inside.lexically_relative(kSandboxSkillDir);
  if (relative.empty() || *relative.begin() == ".." || relative == ".") {
    return Fail(ErrorCode::kDenied, "'" + std::string(operand) + "' is not inside the skill "
                                    "directory (" + std::string(kSandboxSkillDir) + ")");
  }
  fs::path host = skill_dir;
  for (auto part = relative.begin(); part != relative.end(); ++part) {
    host /= *part;
    struct stat st {};
    if (::lstat(host.c_str(), &st) != 0) {
      int err = errno;
      return Fail(ErrorCode::kDenied, "'" + std::string(operand) + "' is not a file of the skill" +
                                          (err == ENOENT ? " (no such file)" : ""));
    }
    if (S_ISLNK(st.st_mode)) {
      return Fail(ErrorCode::kDenied, "'" + std::string(operand) +
                                          "' passes through a symbolic link, whose target in "
                                          "the sandbox cannot be checked");
    }
    const bool last = std::next(part) == relative.end();
    if (!last && !S_ISDIR(st.st_mode)) {
      return Fail(ErrorCode::kDenied, "'" + std::string(operand) + "' is not a file of the skill");
    }
    if (last && !S_ISREG(st.st_mode)) {
      return Fail(ErrorCode::kDenied,
                  "'" + std::string(operand) + "' is not a regular file of the skill");
    }
  }
  return host;
}

Result<void> CheckScriptRule(const ParsedCommand& parsed, const std::vector<std::string>& script_only,
                             const fs::path& skill_dir, std::string_view sandbox_cwd) {
  if (script_only.empty()) return {};
  const bool relative_ok = !ChangesDirectory(parsed);
  for (const SimpleCommand& cmd : parsed.commands) {
    if (cmd.argv.empty()) continue;
    if (std::find(script_only.begin(), script_only.end(), cmd.argv[0]) == script_only.end()) {
      continue;
    }
    if (auto ok = CheckOne(cmd, skill_dir, sandbox_cwd, relative_ok); !ok) return ok;
  }
  return {};
}

}  // namespace skillrt
