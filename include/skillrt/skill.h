// A skill: a directory with SKILL.md (Agent Skills format: YAML frontmatter + Markdown
// instructions) and, optionally, the capability manifest skill.toml.
// Specification of SKILL.md: https://agentskills.io/specification
#ifndef SKILLRT_SKILL_H_
#define SKILLRT_SKILL_H_

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/manifest.h"

namespace skillrt {

/// One finding about a skill's files, with the place it refers to.
struct Diagnostic {
  enum class Severity { kError, kWarning };
  Severity severity = Severity::kError;
  std::filesystem::path file;  ///< The file at fault.
  int line = 0;                ///< 1-based line in `file`; 0 when not tied to a line.
  std::string field;           ///< Frontmatter key or manifest key path, empty if none.
  std::string message;         ///< What is wrong, in one line.

  /// "file:line: error: field: message" (line and field omitted when absent).
  std::string ToString() const;
};

/// The frontmatter of SKILL.md plus its body.
struct SkillMetadata {
  /// 1-64 of [a-z0-9-], no leading/trailing/double hyphen. When loading leniently, the
  /// NormalizeSkillName() form of what SKILL.md says (or of the directory name when SKILL.md
  /// names none).
  std::string name;
  /// The name as SKILL.md writes it, for display; equal to `name` when nothing was normalised.
  std::string display_name;
  /// Non-blank. The specification allows at most 1024 characters; a longer one is kept whole
  /// when loading leniently (with a warning).
  std::string description;
  std::optional<std::string> license;
  std::optional<std::string> compatibility;  ///< At most 500 characters.
  /// `metadata`. When loading leniently a value that is not a string (a list, a map, null) is
  /// kept as its JSON text (null as ""), with a warning.
  std::map<std::string, std::string> metadata;
  /// `allowed-tools` split into entries, e.g. {"Bash(python3:*)", "Read"}. The spec gives a
  /// space-delimited string; a YAML list is accepted with a warning.
  std::vector<std::string> allowed_tools;
  std::string body;  ///< The Markdown after the frontmatter.
};

/// A loaded skill. Plain data; copyable; safe to share read-only across threads.
struct Skill {
  std::filesystem::path dir;  ///< Absolute, canonical skill directory.
  SkillMetadata meta;
  Manifest manifest;
  std::string tree_sha256;  ///< HashSkillTree(dir), lower-case hex.
  /// What lenient loading accepted against the specification or corrected, in file order:
  /// extra keys, a normalised name, an over-long description, converted metadata values, a
  /// list for `allowed-tools` (docs/skill-format.md). Each names the file, line and key.
  std::vector<Diagnostic> warnings;
  /// What the engine adds for one call: the user's grants and the prepared dependencies
  /// (grants.h). Empty as loaded; `manifest` is not widened by loading.
  CallGrants grants = {};
};

/// Loads the skill in `dir` leniently: spec deviations that real skills commonly have become
/// warnings (Skill::warnings, docs/skill-format.md); what would make the skill unsafe or
/// unrunnable is an error (kParse/kValidation naming file, line and field; kNotFound if there
/// is no SKILL.md). When skill.toml is absent, the manifest is inferred: least privilege;
/// if `scripts/` holds exactly one `.py` or `.sh`, an entry running it with python3 or bash;
/// the standard interpreters the skill's own files need, each allowed only to run a file of
/// the skill, and the commands SKILL.md mentions that are not granted
/// (Manifest::script_commands and mentioned_commands, docs/inference.md). `allowed-tools`
/// entries such as `Bash(python3:*)` seed `capabilities.commands` when the manifest names
/// none. Thread-safe.
Result<Skill> LoadSkill(const std::filesystem::path& dir);

/// LoadSkill() without hashing the tree: the same checks, errors and warnings, with
/// `tree_sha256` left empty. For describing a skill (listings, the registry's catalogue)
/// where nothing is run or locked, so reading every file of the skill would be wasted.
/// Thread-safe.
Result<Skill> LoadSkillUnhashed(const std::filesystem::path& dir);

/// Checks the skill in `dir` strictly against the Agent Skills specification and the
/// manifest schema, returning every violation found (empty: valid). Never throws.
std::vector<Diagnostic> ValidateSkill(const std::filesystem::path& dir);

/// The sha256 (lower-case hex) of a skill directory's tree: every entry under `dir` (hidden
/// ones included, in byte order of relative path), hashing each entry's relative path and
/// type; for regular files also the executable bit and content, for symlinks the target.
/// Symlinks are not followed. Independent of mtimes and directory iteration order.
Result<std::string> HashSkillTree(const std::filesystem::path& dir);

/// The frontmatter of the SKILL.md in `dir` as it is written, as a JSON object (text):
/// scalars as JSON strings (YAML's untyped `true` or `12` stay text, as the Agent Skills
/// specification reads them), empty values as null, lists as arrays, maps as objects in
/// document order. For front ends that show or forward the frontmatter verbatim (the MCP
/// skills extension). Errors: kNotFound (no SKILL.md), kValidation (not a regular file, too
/// large, or not valid frontmatter: the message is the diagnostic with file and line), kIo.
/// Thread-safe.
Result<std::string> ReadFrontmatterJson(const std::filesystem::path& dir);

/// True when `name` is a valid skill name per the specification: 1-64 characters of a-z, 0-9
/// and '-', neither starting nor ending with '-', without "--".
bool IsValidSkillName(std::string_view name);

/// The specification's form of a name as published skills write it: ASCII letters lowered;
/// '_', ' ', tab and '-' are separators, each run of them one '-', none at either end. So
/// "PDF_Tools" and "pdf tools" give "pdf-tools". nullopt when any other character occurs
/// (non-ASCII, '/', '.', ...) or the result is not valid (empty, over 64 characters): such a
/// name has no form that keeps its meaning. A valid name is returned unchanged. Pure.
std::optional<std::string> NormalizeSkillName(std::string_view name);

}  // namespace skillrt

#endif  // SKILLRT_SKILL_H_
