// Internals of the skill.toml parser shared with the skill validator: the parser can report
// every problem it finds instead of only the first, each with its line and key path.
#ifndef SKILLRT_SKILL_MANIFEST_INTERNAL_H_
#define SKILLRT_SKILL_MANIFEST_INTERNAL_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/manifest.h"

namespace skillrt::manifest_internal {

/// Largest skill.toml and input schema file accepted, in bytes.
inline constexpr std::size_t kMaxManifestBytes = 1 << 20;

/// One problem found in a manifest.
struct Issue {
  ErrorCode code = ErrorCode::kValidation;  ///< kParse for TOML syntax, else kValidation.
  int line = 0;          ///< 1-based line in the manifest; 0 when unknown.
  int column = 0;        ///< 1-based column; set for syntax errors only.
  std::string key_path{};///< e.g. "limits.memory_mb" or "entry.argv[0]"; empty for syntax.
  std::string message{};   ///< What is wrong, one line, without file or key.
};

/// The manifest and every issue found; the manifest is meaningful only when `issues` is empty.
struct ParseOutput {
  Manifest manifest;
  std::vector<Issue> issues;
};

/// Parses skill.toml text and collects every issue. `skill_dir` resolves
/// `entry.input_schema` paths. Never throws; thread-safe.
ParseOutput ParseAll(std::string_view toml_text, const std::filesystem::path& skill_dir);

/// True when `name` matches [A-Za-z_][A-Za-z0-9_]*.
bool IsVariableName(std::string_view name);

/// True for variables a secret or an instance may not define: those of the base environment
/// (PATH, HOME, TMPDIR, LANG, SKILL_DIR) and every SKILLRT_* name, which skillrt sets itself.
bool IsReservedVariable(std::string_view name);

/// Why `path` cannot be granted as a read or write path (not absolute, has "..", a reserved
/// or system location), or nothing; then `*normal` holds its normalized form. The same rule
/// as `capabilities.read` and `capabilities.write` in docs/manifest.md.
std::optional<std::string> CheckGrantPath(std::string_view path, std::string* normal);

/// Why `command` cannot be an allowed command (`capabilities.commands`: a name without '/'
/// or a normalized absolute path, no whitespace), or nothing.
std::optional<std::string> CheckCommandName(std::string_view command);

/// Formats `issue` as "<source>: <key.path>: <what>", or "<source>:<line>:<col>: <what>" for
/// a syntax error.
std::string FormatIssue(std::string_view source, const Issue& issue);

/// Checks that `schema` uses the supported JSON Schema keywords with well-formed values
/// (e.g. `type` names a known type, `required` is a list of strings). Returns a description
/// naming the JSON pointer of the first malformed keyword, or nothing when it is well formed.
std::optional<std::string> CheckSchema(const nlohmann::json& schema);

}  // namespace skillrt::manifest_internal

#endif  // SKILLRT_SKILL_MANIFEST_INTERNAL_H_
