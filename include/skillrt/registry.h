// Finding skills by name across skill roots.
#ifndef SKILLRT_REGISTRY_H_
#define SKILLRT_REGISTRY_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/skill.h"

namespace skillrt {

/// A skill found under a root: its name and directory, without loading it.
struct SkillRef {
  std::string name;           ///< The directory name (the spec requires it to equal `name`).
  std::filesystem::path dir;  ///< Canonical path of the skill directory.
};

/// Finds skills in an ordered list of root directories. A skill is a directory holding a
/// SKILL.md; roots are searched recursively, skipping hidden directories (".x") and
/// directories already visited (symlink loops). A skill's subdirectories are not searched.
/// Immutable after construction; thread-safe.
class Registry {
 public:
  /// `roots` in precedence order; missing roots are ignored.
  explicit Registry(std::vector<std::filesystem::path> roots);

  /// The roots for a caller: each `--skills DIR`, then each entry of `$SKILLRT_PATH`
  /// (colon-separated), then `<home>/skills`.
  static std::vector<std::filesystem::path> DefaultRoots(
      const std::vector<std::filesystem::path>& extra, const std::filesystem::path& home);

  /// Every skill under the roots, sorted by name. kConflict if two directories hold skills
  /// with one name (the message names both paths).
  Result<std::vector<SkillRef>> List() const;

  /// Resolves `name_or_path`: a path to a skill directory (contains '/' or names an existing
  /// directory with SKILL.md) or a skill name. kNotFound names what was searched.
  Result<SkillRef> Resolve(std::string_view name_or_path) const;

  /// Resolve() then LoadSkill().
  Result<Skill> Load(std::string_view name_or_path) const;

  const std::vector<std::filesystem::path>& roots() const { return roots_; }

 private:
  std::vector<std::filesystem::path> roots_;
};

}  // namespace skillrt

#endif  // SKILLRT_REGISTRY_H_
