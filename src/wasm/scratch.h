// The guest's /tmp: a private scratch space per WebAssembly call whose size is bounded
// (docs/wasm.md#scratch).
//
// Two kinds, chosen once per runtime:
// - A tmpfs of the call's own, made with the new mount API (fsopen(2), fsconfig(2),
//   fsmount(2)) and attached nowhere: the guest reaches it through its preopen only, and the
//   kernel enforces the limit (`size=`, `nr_inodes=`): a write past it fails with ENOSPC, sparse
//   files count the pages they hold, hard links count once, and a file unlinked while open
//   still counts until it is closed. It disappears with its last descriptor (or is emptied and
//   reused for a call of the same size). Needs CAP_SYS_ADMIN in the user namespace that owns
//   the process's mount namespace.
// - Otherwise a directory under the scratch root, measured periodically by a walk that goes
//   from directory descriptor to directory descriptor (openat/fstatat, never a full path, so
//   no PATH_MAX blind spot), counting allocated blocks once per inode and every inode; files
//   the guest unlinked but still holds open are found through /proc/self/fd. Past the limit
//   the call is ended. Emptied afterwards the same way, without paths.
#ifndef SKILLRT_WASM_SCRATCH_H_
#define SKILLRT_WASM_SCRATCH_H_

#include <sys/types.h>

#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "skillrt/error.h"
#include "skillrt/fd.h"

namespace skillrt::wasm {

/// Inodes one scratch may hold (files, directories, symlinks), as the native sandbox's
/// scratch tmpfs (src/sandbox/linux/mount.cc): without it, millions of empty files would cost
/// the host inodes while counting as zero bytes.
inline constexpr uint64_t kScratchMaxInodes = 16384;

/// Directory levels the measuring walk of a directory scratch follows; it holds one
/// descriptor per level, so the bound keeps a walk from exhausting the process's descriptors.
/// A deeper tree counts as over the limit.
inline constexpr size_t kScratchMaxDepth = 128;

/// What a scratch directory tree holds, as counted against its limits.
struct TreeUsage {
  uint64_t bytes = 0;     ///< Allocated bytes (st_blocks * 512), each inode counted once.
  uint64_t inodes = 0;    ///< Entries below the root, each inode counted once.
  bool too_deep = false;  ///< The tree is deeper than kScratchMaxDepth.
};

/// Measures the tree below the open directory `root_fd` (the root itself not counted) by a
/// walk relative to directory descriptors, never following symlinks. Stops early once `bytes`
/// exceeds `stop_bytes` or `inodes` exceeds `stop_inodes` (the result is then a lower bound
/// past the limit). Entries that vanish during the walk are skipped. Holds at most
/// kScratchMaxDepth + 1 descriptors. Thread-safe (no shared state).
TreeUsage MeasureTreeAt(int root_fd, uint64_t stop_bytes, uint64_t stop_inodes);

/// Allocated bytes of regular files that are unlinked but still open in this process, on
/// device `dev`, whose /proc/self/fd link lies under `dir` (or cannot be read: a path longer
/// than a page). Such a file is invisible to a tree walk yet holds its blocks.
uint64_t OpenUnlinkedBytes(dev_t dev, const std::string& dir);

/// Removes everything below the open directory `root_fd`, relative to descriptors (no full
/// paths, so any depth), holding two descriptors at most: it climbs back with "..", so the tree
/// must not be moved meanwhile. Returns false if something could not be removed.
bool RemoveTreeContentsAt(int root_fd);

/// How the scratch spaces of a runtime are made.
enum class ScratchKind {
  kTmpfs,      ///< A private tmpfs per call; the kernel enforces the limits.
  kDirectory,  ///< A directory per call, measured periodically.
};

/// The result of checking a scratch space against its limits.
enum class ScratchCheck {
  kWithin,  ///< Below the limits.
  kFull,    ///< A tmpfs at its size or inode limit: further writes fail with ENOSPC.
  kOver,    ///< A directory past its limits: the call must end.
};

class ScratchProvider;

/// One call's scratch space. Move-only. On destruction it is emptied and handed back to its
/// provider for reuse (a tmpfs that cannot be emptied vanishes with its last descriptor).
/// Check() may be called from the thread running the call only.
class ScratchSpace {
 public:
  ScratchSpace(ScratchSpace&&) noexcept = default;
  ScratchSpace& operator=(ScratchSpace&&) = delete;
  ~ScratchSpace();

  ScratchKind kind() const { return kind_; }
  /// The host path to preopen as the guest's /tmp. For a tmpfs, "/proc/self/fd/<n>" of the
  /// mount's descriptor: the mount is attached nowhere else. Valid while this object lives.
  const std::string& preopen_path() const { return preopen_path_; }
  /// Checks the usage against `max_bytes` and kScratchMaxInodes. A tmpfs costs one fstatfs;
  /// a directory costs a walk of its tree (bounded by the limits) and a scan of
  /// /proc/self/fd.
  ScratchCheck Check() const;

 private:
  friend class ScratchProvider;
  ScratchSpace() = default;

  ScratchKind kind_ = ScratchKind::kDirectory;
  uint64_t max_bytes_ = 0;
  UniqueFd fd_;  // The tmpfs mount, or the directory.
  std::string preopen_path_;
  std::filesystem::path dir_;                  // kDirectory: the host path.
  dev_t dev_ = 0;                              // kDirectory: the directory's device.
  std::shared_ptr<ScratchProvider> provider_;  // Takes the space back.
};

/// Makes scratch spaces and keeps up to 16 emptied ones for reuse (a tmpfs only for a call of
/// the same size). Thread-safe. Keep it in a shared_ptr: spaces hand themselves back to it and
/// may outlive the runtime (a call given up at its deadline).
class ScratchProvider : public std::enable_shared_from_this<ScratchProvider> {
 public:
  /// `kind` kTmpfs or kDirectory as decided by Probe(); `root` is where scratch directories
  /// are made (empty: $TMPDIR, else /tmp); limits above `max_tmpfs_bytes` get a directory
  /// even when tmpfs is the kind, since a tmpfs holds its pages in the host's memory.
  static std::shared_ptr<ScratchProvider> Make(ScratchKind kind, std::filesystem::path root,
                                               uint64_t max_tmpfs_bytes);
  ~ScratchProvider();

  /// Whether this process may make a private tmpfs: makes and drops a small one. Errors:
  /// the errno of fsopen/fsconfig/fsmount (EPERM without CAP_SYS_ADMIN, ENOSYS before
  /// Linux 5.2).
  static Result<void> ProbeTmpfs();

  /// A scratch space holding at most `max_bytes` (and kScratchMaxInodes inodes). Errors:
  /// kIo (the directory or the tmpfs could not be made).
  Result<ScratchSpace> Acquire(uint64_t max_bytes);

 private:
  friend class ScratchSpace;
  ScratchProvider(ScratchKind kind, std::filesystem::path root, uint64_t max_tmpfs_bytes);
  void Release(ScratchSpace& space);

  struct Pool;
  ScratchKind kind_;
  uint64_t max_tmpfs_bytes_;
  std::unique_ptr<Pool> pool_;
};

}  // namespace skillrt::wasm

#endif  // SKILLRT_WASM_SCRATCH_H_
