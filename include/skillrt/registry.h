// Finding skills by name across skill roots.
#ifndef SKILLRT_REGISTRY_H_
#define SKILLRT_REGISTRY_H_

#include <cstddef>
#include <filesystem>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/skill.h"

namespace skillrt {

/// A skill directory hidden by another with the same name found earlier in precedence order.
struct ShadowedSkill {
  std::filesystem::path dir;   ///< Canonical path of the hidden skill directory.
  std::filesystem::path root;  ///< The root it was found under, as given to the Registry.
};

/// A skill found under a root: its name and directory, without loading it.
struct SkillRef {
  /// The directory name (the spec requires it to equal `name`), in its NormalizeSkillName()
  /// form when it has one ("PDF_Tools" -> "pdf-tools"), else as it is.
  std::string name;
  std::filesystem::path dir;   ///< Canonical path of the skill directory.
  std::filesystem::path root = {};  ///< The root it was found under, as given to the Registry.
  /// Other directories with this name that this one hides, in precedence order. Each can
  /// still be named by its path. Empty for a SkillRef made from a path.
  std::vector<ShadowedSkill> shadowed = {};
};

class Catalogue;

/// Finds skills in an ordered list of root directories. A skill is a directory holding a
/// SKILL.md; roots are searched recursively, skipping hidden directories (".x") and
/// directories already visited (symlink loops). A skill's subdirectories are not searched.
///
/// The registry keeps a catalogue of the roots: the first call walks them; later calls use
/// what that walk found until a root changes. Each call first checks, with a few system calls
/// (stat(2) of each root, one read(2) of an inotify(7) queue watching every directory the
/// walk looked at), whether anything happened that could change the result, and walks again
/// if so. So a skill added, removed or renamed, and a root created or removed, is seen by the
/// next call that begins after the change; Load() and Describe() re-read a skill whose
/// SKILL.md or skill.toml was edited. Where inotify is unavailable every call walks the roots.
/// What inotify cannot see (another host's writes to a network filesystem, mounts over a
/// watched directory, renames above the target of a symlinked directory) needs a new
/// Registry. Load() of a skill found by name keeps what it loaded (with its tree hash) while
/// every entry of the skill's tree keeps its stat(2) stamp (Catalogue::Load says when it is
/// kept and what stamps cannot see); a skill named by its path is loaded afresh each call.
///
/// Thread-safe: every method may be called from any number of threads at once; a change to
/// the roots during a call gives that call either the old or the new catalogue, never a mix.
/// Copies share one catalogue. Holds one inotify instance (fs.inotify.max_user_instances)
/// and one watch per directory walked (fs.inotify.max_user_watches) from the first call.
class Registry {
 public:
  /// `roots` in precedence order; missing roots are ignored (and looked for again on each
  /// call). Does no I/O. `watch`: keep the catalogue between calls, watched with inotify as
  /// above (a long-lived process); false walks the roots on every call and holds no inotify
  /// instance, for a one-shot process, where tearing the watches down at exit (an RCU grace
  /// period, about 10 ms) costs more than the walks it saves.
  explicit Registry(std::vector<std::filesystem::path> roots, bool watch = true);

  /// The roots for a caller: each `--skills DIR`, then each entry of `$SKILLRT_PATH`
  /// (colon-separated), then `<home>/skills`.
  static std::vector<std::filesystem::path> DefaultRoots(
      const std::vector<std::filesystem::path>& extra, const std::filesystem::path& home);

  /// Every skill name under the roots, sorted by name, each with the directory it resolves
  /// to. Precedence when two directories have one name: the earlier root wins (the order
  /// given, which DefaultRoots makes `--skills`, then $SKILLRT_PATH, then installed skills);
  /// within one root, the directory whose path sorts first (component by component, in byte
  /// order: the walk's order). The others are in the winner's `shadowed`. Never fails today;
  /// a Result so that a future failure (an unreadable catalogue) has a place to go.
  Result<std::vector<SkillRef>> List() const;

  /// Resolves `name_or_path`: a path to a skill directory (contains '/' or names an existing
  /// directory with SKILL.md) or a skill name, looked up as given and then in its
  /// NormalizeSkillName() form; a name resolves to the directory that wins by List()'s
  /// precedence. kNotFound names what was searched.
  Result<SkillRef> Resolve(std::string_view name_or_path) const;

  /// Resolve() then LoadSkill(): the skill as its files are now, with its tree hash; for a
  /// skill found by name with `watch`, the kept load while its tree's stamps are unchanged.
  /// Errors as Resolve() and LoadSkill().
  Result<Skill> Load(std::string_view name_or_path) const;

  /// Resolve() then LoadSkillUnhashed(): the frontmatter and manifest, without the tree hash
  /// (`tree_sha256` empty). For a skill found by name, the catalogue keeps what was read and
  /// reads again only when SKILL.md, skill.toml or scripts/ changed (stat(2) stamps; see
  /// src/skill/catalogue.h for the granularity). Errors as Resolve() and LoadSkill().
  Result<Skill> Describe(std::string_view name_or_path) const;

  /// The roots given at construction, in precedence order.
  const std::vector<std::filesystem::path>& roots() const { return roots_; }

 private:
  std::vector<std::filesystem::path> roots_;
  std::shared_ptr<Catalogue> catalogue_;  // Never null; shared by copies.
};

/// Watched registries kept across engines, one per list of roots, for a process that opens
/// an engine for each call it serves (`skillrt daemon`): each call then finds its skills
/// through the catalogue the calls before it built (and the metadata it keeps), checked for
/// changes as Registry describes, instead of walking the roots again. At most `capacity`
/// lists of roots are kept; the least recently used goes first (its inotify instance and
/// watches with it, once no engine holds a copy).
///
/// Thread-safe: For() may be called from any number of threads at once.
class KeptRegistries {
 public:
  /// `capacity` >= 1.
  explicit KeptRegistries(std::size_t capacity = 8) : capacity_(capacity < 1 ? 1 : capacity) {}

  /// The kept registry (watching) for exactly these roots, in this order, made if there is
  /// none. Roots are compared as given: the same directory spelled two ways makes two.
  Registry For(const std::vector<std::filesystem::path>& roots);

 private:
  const std::size_t capacity_;
  std::mutex mu_;
  std::list<Registry> kept_;  // Most recently used first.
};

}  // namespace skillrt

#endif  // SKILLRT_REGISTRY_H_
