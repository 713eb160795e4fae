// User grants: what the user lets a skill do beyond what its manifest declares, without
// editing the skill. Given for one call (RunOverrides::grants, `--allow-command`, `--read`,
// `--write`) or kept in $SKILLRT_HOME/grants.toml per skill and per skill@instance
// (`skillrt grant`, `skillrt revoke`). The skill never chooses its grants: the file lives in
// the state directory, which no sandbox can reach. Every widening is a policy subject (asked
// by default), part of the approval key, in the audit record and in the lock
// (docs/grants.md).
#ifndef SKILLRT_GRANTS_H_
#define SKILLRT_GRANTS_H_

#include <filesystem>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/dependencies.h"
#include "skillrt/error.h"

namespace skillrt {

/// One set of widenings. Plain data; the lists keep their order, without duplicates once
/// checked (CheckGrants).
struct Grants {
  /// Commands the call may start besides the manifest's (`--allow-command`, `commands`): a
  /// command name or a normalized absolute path, as `capabilities.commands` spells them.
  std::vector<std::string> commands = {};
  /// Absolute host paths made readable, at the same path (`--read`, `read`).
  std::vector<std::filesystem::path> read_paths = {};
  /// Absolute host paths made readable and writable, at the same path (`--write`, `write`).
  std::vector<std::filesystem::path> write_paths = {};
  /// Python requirements (PEP 508 names with optional extras, versions and markers) for a
  /// skill whose author declared none (`python`; docs/dependencies.md). Only in the grants
  /// file: a call cannot change what was prepared.
  std::vector<std::string> python = {};
  /// Limits raised above the manifest's (`--limit KEY=VALUE`, `[skills."..".limits]`), by
  /// manifest key ("wall_time_ms", "memory_mb", ...) in the manifest's units: the one limits
  /// table, util/limit_fields.h. A value at or below the manifest's changes nothing.
  std::map<std::string, uint64_t> limits = {};

  /// True when nothing is granted.
  bool empty() const;
  bool operator==(const Grants&) const = default;
};

/// Checks and normalizes `grants` with the manifest's rules: each command as
/// `capabilities.commands` (a name without '/' or a normalized absolute path), each path as
/// `capabilities.read`/`write` (absolute, no "..", not a reserved host location), each
/// Python requirement as CheckPythonRequirement, each limit as the manifest's `[limits]`
/// (a known key, 0 < value <= the key's maximum); duplicates are dropped. `source` names
/// where the grants came from in errors ("--write", "/h/grants.toml: skills.x.write[0]").
/// Errors: kInvalidArgument naming the entry and what is wrong. Thread-safe.
Result<Grants> CheckGrants(const Grants& grants, std::string_view source);

/// Why `requirement` is not accepted as a Python requirement, or nothing. Accepted: a
/// distribution name (PEP 508 `identifier`) with optional `[extras]`, version specifiers and
/// a `; marker`. Refused: options ("-r", "--index-url"), direct references ("name @ URL"),
/// URLs and paths: a requirement names a package, and where packages come from is the
/// user's choice of index, never the skill's. Pure; thread-safe.
std::optional<std::string> CheckPythonRequirement(std::string_view requirement);

/// `a` with every entry of `b` it lacks appended; of two limits, the larger. Pure.
Grants MergeGrants(const Grants& a, const Grants& b);

/// `a` without the entries of `b` (a limit by its key, whatever its value). Pure.
Grants RemoveGrants(const Grants& a, const Grants& b);

/// Entries of `now` that `before` does not grant, as "command git", "read /data",
/// "write /repo", "python pypdf", "limit memory_mb 1024" (a path counts as granted when it
/// is, or lies under, a path of `before` of the same or the wider kind: write covers read; a
/// limit when `before` grants at least as much). Pure.
std::vector<std::string> WidenedGrants(const Grants& before, const Grants& now);

/// {"commands": [...], "read": [...], "write": [...], "python": [...], "limits": {KEY: N}},
/// each key present only when it is not empty. For audit records, approval keys and the lock. Pure.
nlohmann::json GrantsToJson(const Grants& grants);

/// The inverse of GrantsToJson; unknown keys and wrong types are kValidation naming `where`.
Result<Grants> GrantsFromJson(const nlohmann::json& value, std::string_view where);

/// The grants file, <home>/grants.toml (docs/grants.md, "The grants file").
struct GrantFile {
  /// Grants by selector: a skill name ("pdf-tools") or a skill and one of its instances
  /// ("pdf-tools@work"), the `[skills."..."]` tables.
  std::map<std::string, Grants> entries = {};
  /// `[python] index_url`: the package index `skillrt prepare` installs from; empty: the
  /// installer's own configuration ($PIP_INDEX_URL, pip.conf, or PyPI).
  std::string index_url = {};
};

/// <home>/grants.toml.
std::filesystem::path GrantFilePath(const std::filesystem::path& home);

/// Parses grants file text. Strict: unknown keys, wrong types, selectors that are not a
/// skill name or NAME@INSTANCE, and entries CheckGrants refuses are errors, kParse (TOML
/// syntax) or kValidation, "<source>:<line>: <key path>: <what>". Thread-safe.
Result<GrantFile> ParseGrantFile(std::string_view text, std::string_view source);

/// Reads the grants file at `file`; a missing file is an empty GrantFile. A file larger
/// than 1 MiB, or writable by group or others, or owned by someone other than the user or
/// root, is kValidation: whoever could edit it could widen every skill. Errors otherwise as
/// ParseGrantFile, and kIo. Thread-safe.
Result<GrantFile> ReadGrantFile(const std::filesystem::path& file);

/// The TOML text of `file`, which ParseGrantFile reads back to an equal GrantFile. Pure.
std::string GrantFileToToml(const GrantFile& file);

/// Reads, edits and writes the grants file at `file` under an exclusive flock(2) on
/// `<file>.flock`; written atomically with mode 0600. When `edit` fails nothing is written.
/// Thread-safe.
Result<void> UpdateGrantFile(const std::filesystem::path& file,
                             const std::function<Result<void>(GrantFile&)>& edit);

/// The grants `file` holds for a call of `skill` under `instance` (nullopt: no instance):
/// the skill's entry merged with the NAME@INSTANCE entry. Pure.
Grants FileGrantsFor(const GrantFile& file, std::string_view skill,
                     const std::optional<std::string>& instance);

/// Every entry of `file` that applies to `skill` (its own and its instances'), by selector,
/// as GrantsToJson: what `skillrt lock` records. Pure.
nlohmann::json FileGrantsJson(const GrantFile& file, std::string_view skill);

/// Entries in `file` for `skill` wider than `locked` (the lock entry's `user_grants`, the
/// form FileGrantsJson returns), as "pdf-tools@work: write /repo". Pure.
std::vector<std::string> GrantsWidenedSinceLock(const nlohmann::json& locked,
                                                const GrantFile& file, std::string_view skill);

/// What one call of a skill gets beyond the skill's own files, worked out by the engine
/// before the call is planned (docs/grants.md, docs/dependencies.md). Empty in a skill as
/// loaded. Plain data.
struct CallGrants {
  Grants call = {};  ///< Given with the call (RunOverrides::grants), checked.
  Grants file = {};  ///< From the grants file: the skill's entry and its instance's.
  /// `call` and `file` merged, without what the manifest grants already: the widenings the
  /// policy judges and the approval key covers. Its commands are also added to the
  /// manifest's, its paths are mounted by the planner.
  Grants widened = {};
  /// The engine's state directory, resolved (no symbolic link). No host path handed to a
  /// sandbox may be it, lie under it or contain it: it holds the grants file, the policy,
  /// the approvals and the audit log. Empty: not checked (a plan built outside an engine).
  std::filesystem::path state_dir = {};
  /// The prepared Python environment of the call, mounted read-only; nullopt when the skill
  /// needs no Python packages.
  std::optional<PythonEnvironment> python = std::nullopt;
  /// Where its requirements were found ("skill.toml", "requirements.txt", ...).
  std::string python_source = {};
};

}  // namespace skillrt

#endif  // SKILLRT_GRANTS_H_
