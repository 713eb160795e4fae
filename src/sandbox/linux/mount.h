// The sandbox's filesystem view: a fresh tmpfs root holding read-only binds of the system
// directories interpreters need, the skill directory at /skill, declared paths at their own
// paths, a private tmpfs /tmp, a fresh /proc and a minimal /dev, entered with pivot_root(2).
#ifndef SKILLRT_SANDBOX_LINUX_MOUNT_H_
#define SKILLRT_SANDBOX_LINUX_MOUNT_H_

#include <cstddef>
#include <cstdint>
#include <deque>
#include <string>
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
/// pinned object is a reserved host path (util/path_pin.h) is refused (kDenied). Paths the
/// plan did not pin are resolved and pinned here.
Result<void> PlanRoot(const Plan& plan, RootPlan* out);

/// Upper bound on RootPlan::sources, so that the child can keep their fds in a stack array.
inline constexpr size_t kMaxSources = 128;

/// Child side: opens every source O_PATH into `fds[kMaxSources]`. Runs while the child still
/// has the supervisor's host credentials, so that sources under directories only the
/// supervisor may search (e.g. /root) can be reached; O_PATH needs no read permission. A
/// pinned source is opened with no symbolic link followed and must have the pinned device and
/// inode, else the child fails with ESTALE ("changed since it was resolved").
/// REQUIRES: in the new mount namespace (bind sources must belong to it).
void OpenSources(const RootView& root, int* fds, int err_fd);

/// Child side: mounts the staging tmpfs, runs the ops, pivots into the new root, detaches the
/// old one and makes the root read-only. Mount points are reached without following symbolic
/// links (a declared path nested in another one crosses host directories), and each bind is
/// checked to show its source before its attributes are set. Closes `fds`. On failure reports through `err_fd` and
/// exits. REQUIRES: OpenSources done; CAP_SYS_ADMIN in the user namespace that owns the mount
/// and pid namespaces; a mapped fsuid (files created on the tmpfs need an owner).
void BuildRoot(const RootView& root, const int* fds, int err_fd);

}  // namespace skillrt::mount

#endif  // SKILLRT_SANDBOX_LINUX_MOUNT_H_
