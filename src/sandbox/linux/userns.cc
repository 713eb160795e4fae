#include "sandbox/linux/userns.h"

#include <fcntl.h>
#include <grp.h>
#include <linux/capability.h>
#include <linux/securebits.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <fstream>
#include <string>

#include "sandbox/linux/child.h"
#include "skillrt/fd.h"

namespace skillrt::userns {
namespace {

Result<void> WriteProcFile(pid_t pid, const char* name, const std::string& content) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kSandbox, "open(" + path + ")", errno);
  if (::write(fd.get(), content.data(), content.size()) != static_cast<ssize_t>(content.size())) {
    return FailErrno(ErrorCode::kSandbox, "write(" + path + ")", errno);
  }
  return {};
}

}  // namespace

Result<IdMap> ChooseIdMap(uint32_t configured_uid, uint32_t configured_gid) {
  if (::geteuid() == 0) {
    if (configured_uid == 0 || configured_gid == 0) {
      return Fail(ErrorCode::kInvalidArgument,
                  "sandbox host uid/gid must not be 0: the skill is never host root");
    }
    return IdMap{.host_uid = configured_uid, .host_gid = configured_gid, .privileged = true};
  }
  return IdMap{.host_uid = ::geteuid(), .host_gid = ::getegid(), .privileged = false};
}

Result<void> WriteIdMaps(pid_t pid, const IdMap& map) {
  // An unprivileged writer may map its gid only after giving up setgroups(2), so that it
  // cannot drop a group that denies it access (user_namespaces(7), "Interaction with system
  // calls that change process UIDs or GIDs").
  if (!map.privileged) {
    if (auto r = WriteProcFile(pid, "setgroups", "deny"); !r) return r;
  }
  const std::string uid_map =
      std::to_string(kInsideUid) + " " + std::to_string(map.host_uid) + " 1\n";
  if (auto r = WriteProcFile(pid, "uid_map", uid_map); !r) return r;
  return WriteProcFile(pid, "gid_map",
                       std::to_string(kInsideGid) + " " + std::to_string(map.host_gid) + " 1\n");
}

int CapLastCap() {
  static const int last = [] {
    std::ifstream in("/proc/sys/kernel/cap_last_cap");
    int v = 0;
    if (in >> v && v > 0) return v;
    return CAP_LAST_CAP;
  }();
  return last;
}

void SwitchIds(bool clear_groups, int err_fd) {
  // Keep capabilities across the uid change below; they are dropped explicitly once the root
  // is built (capabilities(7), "Effect of user ID changes on capabilities").
  if (::prctl(PR_SET_SECUREBITS, SECBIT_NO_SETUID_FIXUP, 0, 0, 0) != 0) {
    sandbox::ChildFail(err_fd, "prctl(PR_SET_SECUREBITS, NO_SETUID_FIXUP)", errno);
  }
  // Raw system calls: glibc's wrappers apply an id change to every thread of the process
  // by signalling them, and in a child cloned from a multi-threaded supervisor those threads
  // do not exist, so the wrapper would wait forever (nptl "setxid" broadcast).
  // Supplementary groups are inherited from the supervisor (root's include gid 0); host
  // files are checked against them, so they must go.
  if (clear_groups && ::syscall(SYS_setgroups, 0, nullptr) != 0) {
    sandbox::ChildFail(err_fd, "setgroups(0)", errno);
  }
  if (::syscall(SYS_setresgid, kInsideGid, kInsideGid, kInsideGid) != 0) {
    sandbox::ChildFail(err_fd, "setresgid", errno);
  }
  if (::syscall(SYS_setresuid, kInsideUid, kInsideUid, kInsideUid) != 0) {
    sandbox::ChildFail(err_fd, "setresuid", errno);
  }
}

void DropCapabilities(int cap_last, int err_fd) {
  // Lock out every route back to privilege: exec never grants root's capabilities, keep-caps
  // cannot be turned on, ambient capabilities cannot be raised (capabilities(7)).
  const unsigned long bits = SECBIT_NOROOT | SECBIT_NOROOT_LOCKED | SECBIT_NO_SETUID_FIXUP |
                             SECBIT_NO_SETUID_FIXUP_LOCKED | SECBIT_KEEP_CAPS_LOCKED |
                             SECBIT_NO_CAP_AMBIENT_RAISE | SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED;
  if (::prctl(PR_SET_SECUREBITS, bits, 0, 0, 0) != 0) {
    sandbox::ChildFail(err_fd, "prctl(PR_SET_SECUREBITS)", errno);
  }
  for (int cap = 0; cap <= cap_last; ++cap) {
    if (::prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0 && errno != EINVAL) {
      sandbox::ChildFail(err_fd, "prctl(PR_CAPBSET_DROP)", errno);
    }
  }
  if (::prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) != 0) {
    sandbox::ChildFail(err_fd, "prctl(PR_CAP_AMBIENT_CLEAR_ALL)", errno);
  }
  struct __user_cap_header_struct header = {.version = _LINUX_CAPABILITY_VERSION_3, .pid = 0};
  struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3] = {};
  if (::syscall(SYS_capset, &header, data) != 0) sandbox::ChildFail(err_fd, "capset(0)", errno);
}

}  // namespace skillrt::userns
