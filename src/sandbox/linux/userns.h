// The sandbox's user namespace: who the skill is, inside and on the host.
#ifndef SKILLRT_SANDBOX_LINUX_USERNS_H_
#define SKILLRT_SANDBOX_LINUX_USERNS_H_

#include <sys/types.h>

#include <cstdint>

#include "skillrt/error.h"

namespace skillrt::userns {

/// The skill's uid and gid inside the sandbox: an ordinary user, never 0, so that nothing
/// in the sandbox treats it as root.
inline constexpr uint32_t kInsideUid = 1000;
inline constexpr uint32_t kInsideGid = 1000;

/// How the inside ids map to the host.
struct IdMap {
  uint32_t host_uid = 0;  ///< Host uid backing kInsideUid; never 0 (see user_namespaces(7)).
  uint32_t host_gid = 0;
  /// True when the supervisor runs as root: it may map any id and leaves setgroups(2)
  /// allowed so the child can clear its supplementary groups. An unprivileged supervisor
  /// must write "deny" to /proc/PID/setgroups before gid_map.
  bool privileged = false;
};

/// The mapping for this process: when root, the configured unprivileged ids; otherwise the
/// caller's own uid and gid (the only mapping an unprivileged process may write).
/// kInvalidArgument if root asked for host uid or gid 0.
Result<IdMap> ChooseIdMap(uint32_t configured_uid, uint32_t configured_gid);

/// Parent side: writes /proc/PID/{setgroups,uid_map,gid_map} for the child `pid`, mapping a
/// single id each way ("1000 HOST 1"). Errors name the file.
Result<void> WriteIdMaps(pid_t pid, const IdMap& map);

/// Highest capability number known to the kernel (/proc/sys/kernel/cap_last_cap), cached.
int CapLastCap();

/// Child side: clears supplementary groups (when `clear_groups`) and switches to
/// kInsideUid/kInsideGid while keeping the namespace capabilities the root setup still needs
/// (SECBIT_NO_SETUID_FIXUP). From here files the child creates have a mapped owner.
/// REQUIRES: the id maps are written. On failure reports on `err_fd` and exits.
void SwitchIds(bool clear_groups, int err_fd);

/// Child side: locks the securebits (no root privileges on exec, no ambient raise), empties
/// the bounding and ambient sets and clears the permitted, effective and inheritable sets.
/// After this the process has no capability in any namespace and cannot regain one.
void DropCapabilities(int cap_last, int err_fd);

}  // namespace skillrt::userns

#endif  // SKILLRT_SANDBOX_LINUX_USERNS_H_
