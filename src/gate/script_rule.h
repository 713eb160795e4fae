// The script rule (docs/inference.md): a command that inference granted to a skill without
// skill.toml may start only as a standard interpreter running a file inside the skill
// directory. Checked by the exec guard on every simple command of a command line.
#ifndef SKILLRT_GATE_SCRIPT_RULE_H_
#define SKILLRT_GATE_SCRIPT_RULE_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/risk.h"

namespace skillrt {

/// Where the native sandbox mounts the skill directory, read-only (docs/sandbox.md), and
/// what SKILL_DIR names inside it.
inline constexpr std::string_view kSandboxSkillDir = "/skill";

/// The commands of `manifest` that are allowed only under the script rule: the names of
/// `script_commands` that `capabilities.commands` does not also list, in manifest order.
std::vector<std::string> ScriptOnlyCommands(const Manifest& manifest);

/// The host path of the file that `operand` names inside the sandbox, when it is a regular
/// file inside the skill directory: `operand` is "$SKILL_DIR/..." or "${SKILL_DIR}/...", an
/// absolute path under kSandboxSkillDir, or a relative path, resolved against `sandbox_cwd`
/// (an absolute sandbox path). Lexically normalised ("..", "."), it must stay below
/// kSandboxSkillDir; on the host, no component below `skill_dir` may be a symbolic link
/// (a link resolves against the sandbox's mount tree, not the host's, so what it names
/// inside cannot be told from outside) and the file must be a regular file. Otherwise
/// kDenied saying which of these failed. Reads the file system (lstat(2)); thread-safe.
Result<std::filesystem::path> SkillFileOf(std::string_view operand,
                                          const std::filesystem::path& skill_dir,
                                          std::string_view sandbox_cwd);

/// Checks the script rule on `parsed`: every simple command whose argv[0] is in
/// `script_only` must be an interpreter of the table (src/skill/interpreters.h) whose
/// operand is a file of the skill (SkillFileOf) or, for `-m`, a module that is a file of the
/// skill in the working directory; options before it must be the family's harmless ones;
/// no assignment may set a variable that changes what the interpreter loads (PYTHON*,
/// NODE_*, PERL5*, RUBY*, BASH_ENV, ENV); operands filled in at run time (find -exec,
/// xargs) are refused. A relative operand is resolved against `sandbox_cwd` only when no
/// command of the line changes directory (cd, pushd, popd, env -C, ...); otherwise it must
/// be absolute. kDenied naming the command and the reason; success when no command is
/// script-only. Thread-safe.
Result<void> CheckScriptRule(const ParsedCommand& parsed,
                             const std::vector<std::string>& script_only,
                             const std::filesystem::path& skill_dir,
                             std::string_view sandbox_cwd = kSandboxSkillDir);

}  // namespace skillrt

#endif  // SKILLRT_GATE_SCRIPT_RULE_H_
