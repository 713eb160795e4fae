// The registry's catalogue: what a walk of the skill roots found, kept until a root changes.
#ifndef SKILLRT_SKILL_CATALOGUE_H_
#define SKILLRT_SKILL_CATALOGUE_H_

#include <sys/types.h>

#include <atomic>
#include <cstddef>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <vector>

#include "skill/dir_watch.h"
#include "skillrt/error.h"
#include "skillrt/registry.h"
#include "skillrt/skill.h"

namespace skillrt {

/// One walk of the roots, indexed. Immutable once built, so it is shared between threads
/// without a lock.
struct CatalogueSnapshot {
  /// The skill each name resolves to, in root order then walk order: the first directory
  /// found with that name, its `shadowed` listing the later ones (Registry::List).
  std::vector<SkillRef> found;
  /// `found` sorted by name: what List() returns.
  std::vector<SkillRef> sorted;
  /// Index into `found` by name.
  std::unordered_map<std::string, std::size_t> by_name;
  /// True when every directory walked is watched: the snapshot stays valid until an event
  /// or a root's identity says otherwise. False: it is valid for one call only.
  bool watched = false;
};

/// Walks `roots` once, as the registry always has (see Registry), and indexes the result.
/// With `watch`, each directory is added to it before it is listed; if one cannot be, the
/// snapshot is not `watched`. Never fails: unreadable directories are skipped.
CatalogueSnapshot WalkRoots(const std::vector<std::filesystem::path>& roots, DirWatch* watch);

/// The catalogue of one registry: the current snapshot, rebuilt when the roots change, and
/// the frontmatter and manifest of the skills asked about, re-read when their files change.
///
/// Change detection. A root is identified per call by stat(2) (exists, st_dev, st_ino), which
/// sees a root created, removed or replaced (also a symlinked root pointed elsewhere). Inside
/// the roots, every directory the walk lists or finds a skill in is watched with inotify
/// before it is listed, so a change made after the listing is queued: a skill added, removed
/// or renamed changes an entry of a watched directory (or SKILL.md in a skill directory, or
/// the watched directory itself). Each call drains the queue; anything relevant means a new
/// walk. The granularity is the whole catalogue: one relevant event anywhere rebuilds it,
/// which costs one walk, what every call cost before there was a catalogue. Where inotify is
/// unavailable (no instance or a watch refused, e.g. fs.inotify.max_user_watches reached, or
/// a directory that can be searched but not read), every call walks again. What inotify
/// cannot see is listed at DirWatch.
///
/// Metadata (Describe) is keyed by the skill's canonical directory and stamped with stat(2)
/// and lstat(2) of SKILL.md and skill.toml and stat(2) of scripts/ (st_dev, st_ino, st_mode,
/// size, mtime and ctime in nanoseconds). Every edit changes ctime, which no caller can set,
/// so it changes the stamp unless it lands within the filesystem's timestamp granularity of
/// the read; a load whose files changed less than kRacyWindow before it is therefore not kept.
///
/// Thread safety: every method may be called from any thread at once. The check and any
/// rebuild are serialized by one mutex (held for a few system calls when nothing changed);
/// the snapshot handed out is immutable and outlives later rebuilds.
class Catalogue {
 public:
  /// `watch`: keep snapshots between calls under an inotify watch; false walks on every
  /// call and opens no inotify instance (Registry's `watch`).
  explicit Catalogue(std::vector<std::filesystem::path> roots, bool watch = true);

  /// The snapshot for this call: the kept one if no root changed since it was built, else a
  /// new walk's. Never null.
  std::shared_ptr<const CatalogueSnapshot> Current();

  /// LoadSkillUnhashed(dir), from the kept copy when the skill's files have the stamps they
  /// had when it was read. Errors are not kept. `dir` is canonical.
  Result<Skill> Describe(const std::filesystem::path& dir);

  /// LoadSkill(dir), with its tree hash, from the kept copy when every entry of the skill's
  /// tree has the stamp it had when the copy was loaded (lstat(2) of each, the directories
  /// included: about one system call per entry instead of listing, reading and hashing the
  /// tree and parsing its files). Kept only for a catalogue that watches (a long-lived
  /// process), for a tree of at most 256 entries and no symbolic link (what a link points to
  /// is outside the stamps), when no entry changed within kRacyWindow before the load or
  /// during it. Errors are not kept. `dir` is canonical.
  ///
  /// What stamps cannot see (as for the compiled WebAssembly cache, docs/wasm.md): a write
  /// through a shared mapping (mmap(2)) to a page already dirty, which moves no timestamp
  /// until the page is written back (and on tmpfs never); and a network filesystem whose
  /// server keeps the timestamps. Whoever can write a skill's files that way can also change
  /// them between the hash and the run, which no hash taken before a run prevents.
  Result<Skill> Load(const std::filesystem::path& dir);

  /// How many Load() calls have read a tree rather than used a kept load.
  std::size_t trees_read() const { return trees_read_.load(std::memory_order_relaxed); }

 private:
  struct RootId {
    bool exists = false;
    dev_t dev = 0;
    ino_t ino = 0;
    bool operator==(const RootId&) const = default;
  };
  struct Described;
  struct Loaded;

  std::vector<RootId> IdentifyRoots() const;

  const std::vector<std::filesystem::path> roots_;
  const bool watch_enabled_;

  std::mutex mu_;  // Guards the members below up to meta_mu_.
  std::shared_ptr<const CatalogueSnapshot> snapshot_;
  std::vector<RootId> root_ids_;     // Taken before the walk that built `snapshot_`.
  std::optional<DirWatch> watch_;    // The watch of that walk, if it covers it.

  std::mutex meta_mu_;  // Guards `described_` and `loaded_`; taken after `mu_` when both are held.
  std::unordered_map<std::string, std::shared_ptr<const Described>> described_;
  std::unordered_map<std::string, std::shared_ptr<const Loaded>> loaded_;  // Also meta_mu_.
  std::atomic<std::size_t> trees_read_{0};
};

}  // namespace skillrt

#endif  // SKILLRT_SKILL_CATALOGUE_H_
