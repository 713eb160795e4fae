// The run's workspace (BindMount::workspace): a host directory the skill reads and writes as
// its own, whose new files belong to the directory's owner on the host (docs/sandbox.md,
// "Workspace").
//
// Inside, the skill is always uid/gid 1000. That id maps to the caller when skillrt runs
// unprivileged, so a workspace the caller owns needs nothing more, and any other is refused
// (an unprivileged process can map nothing else). When skillrt runs as root it maps to an
// unprivileged host id that owns nothing (userns.h), so the workspace is handed to the child
// as an ID-mapped mount (mount_setattr(2), MOUNT_ATTR_IDMAP): on that mount, and only there,
// the owner's uid and gid read as the sandbox's and the sandbox's are written as the owner's.
// Where the kernel or the filesystem cannot make one, the run is refused.
#ifndef SKILLRT_SANDBOX_LINUX_WORKSPACE_H_
#define SKILLRT_SANDBOX_LINUX_WORKSPACE_H_

#include <sys/types.h>

#include <cstdint>

#include "sandbox/linux/userns.h"
#include "skillrt/error.h"
#include "skillrt/plan.h"
#include "skillrt/fd.h"

namespace skillrt::workspace {

/// How the workspace reaches the sandbox.
struct Prepared {
  /// A detached, ID-mapped copy of the workspace's mount (open_tree(2) OPEN_TREE_CLONE, not
  /// recursive) with nosuid, nodev and noexec set, which the child attaches at the
  /// workspace's path; empty when the child binds the pinned directory itself (the sandbox's
  /// host ids already own it).
  UniqueFd tree;
  uint32_t owner_uid = 0;  ///< st_uid of the workspace directory.
  uint32_t owner_gid = 0;  ///< st_gid of the workspace directory.
};

/// Supervisor side: reopens `mount`'s pinned directory (no symbolic link followed, the same
/// device and inode: runtime/path_pin.h) and decides how it is mounted for the sandbox whose
/// inside ids map to `ids`. Errors: kInvalidArgument when it is not a directory, or when
/// skillrt runs unprivileged and the directory's owner is not the caller (naming both uids);
/// kConflict when the path changed since it was pinned; kSandbox when the ID-mapped mount
/// cannot be made (a kernel before 5.12, a filesystem without ID-mapped mount support),
/// naming the call and what to do instead. Thread-safe.
Result<Prepared> Prepare(const BindMount& mount, const userns::IdMap& ids);

/// A user namespace whose only mappings are uid `inside_uid` to host uid `host_uid` and gid
/// `inside_gid` to host gid `host_gid` (user_namespaces(7)), as an open /proc/PID/ns/user
/// descriptor: what MOUNT_ATTR_IDMAP takes. Made by a short-lived child that is gone when this
/// returns. Needs CAP_SETUID and CAP_SETGID (root). Errors: kSandbox naming the call.
Result<UniqueFd> MakeMappingUserns(uint32_t inside_uid, uint32_t host_uid, uint32_t inside_gid,
                                   uint32_t host_gid);

}  // namespace skillrt::workspace

#endif  // SKILLRT_SANDBOX_LINUX_WORKSPACE_H_
