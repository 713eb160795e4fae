// Installing a skill: a validated copy of a skill directory under $SKILLRT_HOME/skills
// (docs/install-lock.md).
#ifndef SKILLRT_INSTALL_H_
#define SKILLRT_INSTALL_H_

#include <cstdint>
#include <filesystem>
#include <string>

#include "skillrt/error.h"

namespace skillrt {

/// How InstallSkill copies.
struct InstallOptions {
  /// Replace an installed skill of the same name (atomically) instead of refusing.
  bool force = false;
  /// Most entries (files, directories, symlinks) a skill tree may hold.
  uint64_t max_entries = 10'000;
  /// Most bytes of regular-file content a skill tree may hold (256 MiB).
  uint64_t max_bytes = 256ull << 20;
  /// Deepest directory nesting below the skill directory.
  int max_depth = 32;
};

/// What was installed.
struct InstallResult {
  std::string name;                 ///< The skill's name (its frontmatter `name`).
  std::filesystem::path dir;        ///< <skills_dir>/<name>.
  std::string tree_sha256;          ///< HashSkillTree of the installed copy.
  bool replaced = false;            ///< True when an installed skill was replaced.
};

/// Copies the skill at `source` into `<skills_dir>/<name>`:
///  1. `source` must pass ValidateSkill (the checks of `skillrt validate`): kValidation with
///     the first error (file:line: field: message) and the count of the rest;
///  2. the tree may hold only regular files, directories and relative symlinks that resolve
///     inside the tree (kDenied naming the entry otherwise: absolute or escaping links,
///     dangling links, FIFOs, sockets, devices), within the options' entry, byte and depth
///     bounds (kValidation);
///  3. it is copied into a hidden temporary directory in `skills_dir` (files keep only their
///     owner-executable bit: 0755 or 0644; directories 0755), the copy is validated again
///     and hashed, then renamed into place. With `force`, an existing install is swapped out
///     with renameat2(RENAME_EXCHANGE) and removed, so a reader sees the old tree or the new
///     one; without it an existing install is kConflict.
/// On any failure nothing is left behind in `skills_dir`. Not safe against concurrent
/// installs of the same name from several processes (the second rename fails: kConflict).
Result<InstallResult> InstallSkill(const std::filesystem::path& source,
                                   const std::filesystem::path& skills_dir,
                                   const InstallOptions& options = {});

}  // namespace skillrt

#endif  // SKILLRT_INSTALL_H_
