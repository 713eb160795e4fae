// Seeing that the directories a registry walked have changed, without walking them again
// (inotify(7)).
#ifndef SKILLRT_SKILL_DIR_WATCH_H_
#define SKILLRT_SKILL_DIR_WATCH_H_

#include <filesystem>
#include <unordered_map>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt {

/// One inotify instance watching the directories of one registry walk. It answers one
/// question, cheaply: has anything happened since the walk that could change what the walk
/// finds? It may answer yes when nothing relevant changed (the caller walks again); it must
/// never answer no when something did (see Changed()).
///
/// What inotify cannot see, and so this cannot: changes made through another host on a
/// network filesystem, a filesystem mounted or unmounted over a watched directory, the
/// rename of a directory above a watched one that is not itself watched (e.g. above the
/// target of a symlinked directory), and changes to the target of a symlinked SKILL.md.
///
/// Not thread-safe: the owner serializes Add() and Changed(). Move-only (owns the descriptor).
class DirWatch {
 public:
  /// What a watched directory is to the walk, which decides which events matter.
  enum class Kind {
    kSearched,  ///< Listed by the walk: any visible entry added, removed or renamed matters.
    kSkill,     ///< Holds SKILL.md and is not searched: only SKILL.md and the directory matter.
  };

  /// Creates the inotify instance (close-on-exec, non-blocking). kIo when the kernel refuses
  /// (EMFILE: fs.inotify.max_user_instances reached; ENOSYS).
  static Result<DirWatch> Open();

  /// Watches `dir` (following a symlink to it) as kSearched and returns its watch
  /// descriptor. Call it before listing `dir` or looking for its SKILL.md, so that a change
  /// made after that look is queued. kNotFound when `dir` no longer exists (its parent's
  /// watch reports that); kIo for anything else (ENOSPC: fs.inotify.max_user_watches
  /// reached; EACCES: no read permission), after which the watch no longer covers the walk.
  Result<int> Add(const std::filesystem::path& dir);

  /// Sets the kind of the directory watched as `wd`, after the walk has looked at it.
  /// REQUIRES: `wd` was returned by Add().
  void SetKind(int wd, Kind kind) { kinds_[wd] = kind; }

  /// Reads every queued event without blocking and returns true if one of them may change
  /// what a walk finds: in a searched directory, an entry whose name does not start with '.'
  /// created, deleted, renamed or its attributes changed (permissions decide what can be
  /// listed); in a skill directory, the same for SKILL.md; for any watched directory, its own
  /// deletion, rename or attribute change; a queue overflow; a watch the kernel dropped.
  /// Entries are seen by name whatever their type, so a new plain file in a searched
  /// directory also answers true. Also true after a read error.
  bool Changed();

  /// The number of directories watched.
  std::size_t size() const { return kinds_.size(); }

 private:
  explicit DirWatch(UniqueFd fd) : fd_(std::move(fd)) {}

  // True if the event `mask` with entry `name` (empty for the directory itself) on a
  // directory of kind `kind` may change what a walk finds.
  static bool Matters(Kind kind, uint32_t mask, std::string_view name);

  UniqueFd fd_;
  std::unordered_map<int, Kind> kinds_;  // By watch descriptor.
};

}  // namespace skillrt

#endif  // SKILLRT_SKILL_DIR_WATCH_H_
