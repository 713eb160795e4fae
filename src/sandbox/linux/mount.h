// The sandbox's filesystem view: a fresh tmpfs root holding read-only binds of the system
// directories interpreters need, the skill directory at /skill, declared paths at their own
// paths, a private tmpfs /tmp, a fresh /proc and a minimal /dev, entered with pivot_root(2).
#ifndef SKILLRT_SANDBOX_LINUX_MOUNT_H_
#define SKILLRT_SANDBOX_LINUX_MOUNT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/plan.h"

namespace skillrt::mount {

/// Where the new root is assembled inside the child's private mount namespace. Host paths
/// beneath it stay reachable because bind sources are opened before it is covered.
inline constexpr const char* kStagingDir = "/tmp";

/// One step of building the root. Paths are absolute and already prefixed with kStagingDir.
struct Op {
  enum class Kind : uint8_t {
    kMkdir,      ///< mkdir(path, 0755).
    kWriteFile,  ///< Create `path` (0644) holding `arg`.
    kSymlink,    ///< symlink(arg, path).
    kBind,       ///< Bind source `source` onto `path` (created as a dir or empty file).
    kTmpfs,      ///< Mount a tmpfs on `path` with options `arg`.
    kProc,       ///< Mount a procfs of the child's pid namespace on `path`.
    /// Attach the detached mount tree `source` (handed over by the supervisor, its attributes
    /// already set) on `path`, created as a directory (move_mount(2)).
    kAttach,
  };
  Kind kind = Kind::kMkdir;
  const char* path = nullptr;
  const char* arg = nullptr;
  int source = -1;            ///< kBind: index into RootPlan::sources.
  bool source_is_dir = true;  ///< kBind: create a directory (else a file) as mount point.
  bool recursive = false;     ///< kBind: MS_REC, and attributes applied recursively.
  uint64_t attr_set = 0;      ///< MOUNT_ATTR_* flags set after mounting (mount_setattr(2)).
};

/// A host object to bind. A pinned source (a declared path, the skill directory) is opened
/// without following any symbolic link and must be the object the plan pinned (PathPin);
/// an unpinned one (a system directory) is opened as named.
struct Source {
  const char* path = nullptr;  ///< Absolute host path; for a pinned source, the resolved one.
  bool pinned = false;
  /// The descriptor is the mount tree the supervisor sends over the channel at start
  /// (ReceiveHandedTree), not opened from `path`; `device` and `inode` are its root's.
  bool handed = false;
  uint64_t device = 0;  ///< Pinned: the st_dev the object must have.
  uint64_t inode = 0;   ///< Pinned: the st_ino the object must have.
};

/// A flat, pointer-only view of a root recipe: what the child reads. It can be copied into
/// memory shared with a child cloned earlier (spawn.h).
struct RootView {
  const Source* sources = nullptr;
  size_t source_count = 0;
  const Op* ops = nullptr;
  size_t op_count = 0;
};

/// The complete recipe for the root, built by the parent; the child only reads it.
/// Not copyable (the Ops point into `strings`).
struct RootPlan {
  RootPlan() = default;
  RootPlan(const RootPlan&) = delete;
  RootPlan& operator=(const RootPlan&) = delete;

  std::deque<std::string> strings;  ///< Owns every string the Ops and sources point to.
  std::vector<Source> sources;  ///< Host objects to open O_PATH before staging.
  std::vector<Op> ops;

  /// Stores `s` and returns a pointer that stays valid for the RootPlan's lifetime.
  const char* Keep(std::string s);

  /// A view of this plan; valid while the plan lives and is not modified.
  RootView View() const {
    return {.sources = sources.data(), .source_count = sources.size(), .ops = ops.data(),
            .op_count = ops.size()};
  }
};

/// Computes the root for `plan`. Declared paths must exist (kNotFound names the path);
/// reserved sandbox paths cannot be declared (kInvalidArgument), and a declared path whose
/// pinned object is a reserved host path (runtime/path_pin.h) is refused (kDenied). Paths the
/// plan did not pin are resolved and pinned here. Mounts are made parents first, whatever
/// their order in the plan, so that none hides another. The workspace (if any) is attached
/// from the tree the supervisor hands over when `workspace_handed` (an ID-mapped mount,
/// workspace.h), else bound from its pinned directory; either way without the mounts below
/// it, and noexec.
Result<void> PlanRoot(const Plan& plan, bool workspace_handed, RootPlan* out);

/// Bytes of the sandbox's private /dev/shm tmpfs: half the run's memory limit, and never more
/// than its scratch size (`scratch_max_bytes`, the size of /tmp). Shared memory is memory:
/// every page written there is charged to the run's memory cgroup, so half leaves the other
/// half to the processes that share it.
uint64_t ShmBytes(const Limits& limits);

/// The sandbox path of the directory holding the command aliases (kCommandAliases in
/// skillrt/plan.h): symbolic links to the system programs they stand for, made in the root
/// tmpfs. First on the sandbox PATH.
inline constexpr const char* kAliasDir = "/skillrt/bin";

/// The sandbox path (the same as the host path: the system directories are bound at their own
/// paths) of the program the alias `name` stands for: its target's name looked up in
/// /usr/local/bin, /usr/bin and /bin, as the sandbox PATH would. nullopt when `name` is no
/// alias or the host lacks the program; then the sandbox has no such command.
std::optional<std::string> AliasTarget(std::string_view name);

/// Upper bound on RootPlan::sources, so that the child can keep their fds in a stack array.
inline constexpr size_t kMaxSources = 128;

/// Child side: opens every source O_PATH into `fds[kMaxSources]`. Runs while the child still
/// has the supervisor's host credentials, so that sources under directories only the
/// supervisor may search (e.g. /root) can be reached; O_PATH needs no read permission. A
/// pinned source is opened with no symbolic link followed and must have the pinned device and
/// inode, else the child fails with ESTALE ("changed since it was resolved").
/// A handed source gets `handed_fd` (ReceiveHandedTree), checked the same way.
/// REQUIRES: in the new mount namespace (bind sources must belong to it).
void OpenSources(const RootView& root, int handed_fd, int* fds, int err_fd);

/// True when `root` has a handed source, so that the child must receive its tree.
bool NeedsHandedTree(const RootView& root);

/// Child side: receives the one descriptor the supervisor sent on the AF_UNIX `channel_fd`
/// (SCM_RIGHTS, unix(7)) before releasing the child, and returns it (O_CLOEXEC).
/// Async-signal-safe. On failure (nothing or not exactly one descriptor) reports on `err_fd`
/// and exits.
int ReceiveHandedTree(int channel_fd, int err_fd);

/// Child side: mounts the staging tmpfs, runs the ops, pivots into the new root, detaches the
/// old one and makes the root read-only. Mount points are reached without following symbolic
/// links (a declared path nested in another one crosses host directories), and each bind is
/// checked to show its source before its attributes are set. Closes `fds`. On failure reports through `err_fd` and
/// exits. REQUIRES: OpenSources done; CAP_SYS_ADMIN in the user namespace that owns the mount
/// and pid namespaces; a mapped fsuid (files created on the tmpfs need an owner).
void BuildRoot(const RootView& root, const int* fds, int err_fd);

}  // namespace skillrt::mount

#endif  // SKILLRT_SANDBOX_LINUX_MOUNT_H_
