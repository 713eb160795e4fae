// Inference for a skill without skill.toml: which standard interpreters its own files need and
// which commands its SKILL.md tells the agent to run (docs/inference.md).
#ifndef SKILLRT_SKILL_INFER_H_
#define SKILLRT_SKILL_INFER_H_

#include <cstddef>
#include <filesystem>
#include <string_view>
#include <vector>

#include "skillrt/manifest.h"

namespace skillrt::infer {

/// Files looked at below the skill directory before the scan stops; a skill is small.
inline constexpr std::size_t kMaxFiles = 4096;
/// Directory levels below the skill directory that are scanned.
inline constexpr int kMaxDepth = 8;
/// Distinct commands kept in each list; the rest are dropped.
inline constexpr std::size_t kMaxCommands = 64;

/// What inference found.
struct Commands {
  /// Standard interpreters for the script rule (Manifest::script_commands), each family's
  /// names together, in the order first found: files first, then SKILL.md.
  std::vector<InferredCommand> script_commands;
  /// Commands SKILL.md mentions that are not granted (Manifest::mentioned_commands).
  std::vector<InferredCommand> mentioned_commands;
};

/// Infers the commands of the skill in `dir` (canonical). Files: every regular file below
/// `dir` (hidden entries, symbolic links and node_modules/__pycache__ skipped; at most
/// kMaxFiles, kMaxDepth levels) whose extension belongs to an interpreter family, or which
/// is executable and starts with a shebang naming one (src/skill/interpreters.h), adds that
/// family's commands. SKILL.md: `body` (the Markdown after the frontmatter, whose first line
/// is line `body_line` of SKILL.md) is searched in fenced code blocks marked as shell
/// (bash, sh, shell, zsh, console, shell-session: every command; console and shell-session
/// only lines after a `$ ` prompt) and, in unmarked blocks and inline code, command lines
/// that start with an interpreter's name. A command that runs a file of the skill with a
/// standard interpreter adds the interpreter's family; every other command is mentioned.
/// Never fails: unreadable files and unparsable lines are skipped. Thread-safe.
Commands InferCommands(const std::filesystem::path& dir, std::string_view body, int body_line);

}  // namespace skillrt::infer

#endif  // SKILLRT_SKILL_INFER_H_
