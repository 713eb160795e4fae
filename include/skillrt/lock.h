// The lock: what the user approved of each skill, kept in $SKILLRT_HOME/skills.lock, and the
// drift check that refuses a run when the skill's files changed or its grant widened since.
// The file format and the rules are documented in docs/install-lock.md.
#ifndef SKILLRT_LOCK_H_
#define SKILLRT_LOCK_H_

#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/skill.h"

namespace skillrt {

/// One skill as it was when the user locked it.
struct LockedSkill {
  std::string name;
  std::filesystem::path dir;  ///< Where it was locked from (canonical).
  std::string tree_sha256;    ///< HashSkillTree(dir) at lock time.
  /// Every entry of the tree by relative path (HashSkillFiles), so that drift can name files.
  std::map<std::string, std::string> files;
  nlohmann::json grant;      ///< GrantOf(manifest): what the skill may touch and use.
  nlohmann::json behaviour;  ///< BehaviourOf(manifest): what it runs and how.
  std::string locked_at;     ///< RFC 3339 UTC time of `skillrt lock`.
  /// The user's grants for the skill when it was locked (FileGrantsJson in grants.h: by
  /// selector, "NAME" and "NAME@INSTANCE"); an empty object when there were none. Grants
  /// are the user's, not the skill's files: a grant widened since is reported as such
  /// (GrantsWidenedSinceLock), never as drift of the tree.
  nlohmann::json user_grants = nlohmann::json::object();
};

/// The whole lock file.
struct LockFile {
  /// When true, a skill without an entry is refused (`skillrt lock --require`).
  bool require = false;
  std::map<std::string, LockedSkill> skills;  ///< By skill name.
};

/// <home>/skills.lock.
std::filesystem::path LockFilePath(const std::filesystem::path& home);

/// Reads the lock file at `file`; a missing file is an empty LockFile. Errors: kParse or
/// kValidation naming the file and the JSON key at fault, kIo. Thread-safe.
Result<LockFile> ReadLockFile(const std::filesystem::path& file);

/// Reads, edits and writes the lock file at `file` under an exclusive flock(2) on
/// `<file>.flock`, so that concurrent `skillrt lock` commands do not lose each other's
/// entries. The new file is written atomically with mode 0600 (temporary file + rename(2));
/// when `edit` fails nothing is written. Thread-safe.
Result<void> UpdateLockFile(const std::filesystem::path& file,
                            const std::function<Result<void>(LockFile&)>& edit);

/// Per-entry digests of a skill tree, by relative path ('/'-separated, hidden entries
/// included, symlinks not followed): "file:<sha256 of exec bit, size and content>",
/// "link:<target>", "dir" or "other". Covers exactly what HashSkillTree covers.
Result<std::map<std::string, std::string>> HashSkillFiles(const std::filesystem::path& dir);

/// The canonical grant of `manifest`: {"capabilities": {"commands", "env_pass", "network",
/// "read", "write"[, "script_commands"][, "egress"]}, "limits": {...in base units}, "secrets":
/// {NAME: {"redact"}}}, lists sorted; `commands` includes the entry point's argv[0];
/// `script_commands` (present only when inference found some, docs/inference.md) holds the
/// interpreters allowed under the script rule; `egress` (present only with network) holds
/// each allowlist entry as "host:port[ via address,...]".
nlohmann::json GrantOf(const Manifest& manifest);

/// The canonical rest of `manifest` that decides what runs: {"runtime", "entry",
/// "input_schema", "env_set"}.
nlohmann::json BehaviourOf(const Manifest& manifest);

/// A lock entry for `skill` as it is now (hashes its files again). Errors: kIo.
Result<LockedSkill> LockSkill(const Skill& skill);

/// How a skill differs from its lock entry.
struct Drift {
  bool tree_changed = false;
  std::vector<std::string> changed;   ///< Relative paths whose content, mode or target changed.
  std::vector<std::string> added;     ///< Paths not in the lock.
  std::vector<std::string> removed;   ///< Locked paths that are gone.
  /// Grants wider than the locked ones, e.g. "capabilities.commands: +curl",
  /// "limits.wall_time_ms: 30000 -> 60000".
  std::vector<std::string> widened;
  std::vector<std::string> narrowed;  ///< Grants narrower than the locked ones.
  /// BehaviourOf keys that changed ("entry", "runtime", "input_schema", "env_set").
  std::vector<std::string> behaviour;
  /// True when the run may go ahead: nothing changed, or the only changed file is skill.toml
  /// and the only change in it narrows the grant.
  bool allowed = true;
};

/// Compares `skill` (as loaded now) with `locked`. Errors: kIo from hashing the files.
Result<Drift> CompareWithLock(const Skill& skill, const LockedSkill& locked);

/// The drift gate run before every run and exec: kDenied with the diff when `skill` is
/// locked and its Drift is not allowed, or when it is not locked and `require` (or
/// `lock.require`) is set. The message names the lock file, the changed/added/removed files,
/// the widened grants and how to approve (`skillrt lock NAME`). Returns the Drift (empty for
/// an unlocked skill) so the caller can record narrowing.
Result<Drift> CheckLock(const Skill& skill, const LockFile& lock,
                        const std::filesystem::path& lock_file, bool require);

}  // namespace skillrt

#endif  // SKILLRT_LOCK_H_
