#include "sandbox/linux/workspace.h"

#include <fcntl.h>
#include <linux/sched.h>
#include <signal.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <string>

#include "sandbox/linux/sys.h"
#include "runtime/path_pin.h"
#include "util/fork_exclusion.h"

namespace skillrt::workspace {
namespace {

// Attributes of the workspace's mount: data, not programs or devices. noexec refuses execve(2)
// and PROT_EXEC mappings of its files, so a skill cannot run what it writes there (the same
// rule as for /tmp); nosuid and nodev as for every bind.
constexpr uint64_t kWorkspaceAttrs = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

Result<void> WriteMap(pid_t pid, const char* name, uint32_t inside, uint32_t host) {
  const std::string path = "/proc/" + std::to_string(pid) + "/" + name;
  UniqueFd fd(::open(path.c_str(), O_WRONLY | O_CLOEXEC));
  if (!fd) return FailErrno(ErrorCode::kSandbox, "open(" + path + ")", errno);
  const std::string line = std::to_string(inside) + " " + std::to_string(host) + " 1\n";
  if (::write(fd.get(), line.data(), line.size()) != static_cast<ssize_t>(line.size())) {
    return FailErrno(ErrorCode::kSandbox, "write(" + path + ")", errno);
  }
  return {};
}

}  // namespace

Result<UniqueFd> MakeMappingUserns(uint32_t inside_uid, uint32_t host_uid, uint32_t inside_gid,
                                   uint32_t host_gid) {
  // A child in a new user namespace holds it while the maps are written and the namespace is
  // opened; it waits for end-of-file on a pipe and exits. (A multi-threaded process cannot
  // unshare(CLONE_NEWUSER) itself.)
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return FailErrno(ErrorCode::kSandbox, "pipe2", errno);
  UniqueFd hold_r(p[0]), hold_w(p[1]);
  struct clone_args args = {};
  args.flags = CLONE_NEWUSER;
  args.exit_signal = SIGCHLD;
  fork_exclusion::ApplyBeforeClone();  // The child only waits and exits.
  const long pid = sys::Clone3(&args);
  if (pid < 0) return FailErrno(ErrorCode::kSandbox, "clone3(CLONE_NEWUSER)", errno);
  if (pid == 0) {
    ::close(p[1]);
    char byte;
    while (::read(p[0], &byte, 1) < 0 && errno == EINTR) {
    }
    ::_exit(0);
  }
  hold_r.Reset();
  auto result = [&]() -> Result<UniqueFd> {
    // Root writes both maps without giving up setgroups(2): the namespace is never entered.
    if (auto r = WriteMap(static_cast<pid_t>(pid), "uid_map", inside_uid, host_uid); !r) {
      return std::unexpected(r.error());
    }
    if (auto r = WriteMap(static_cast<pid_t>(pid), "gid_map", inside_gid, host_gid); !r) {
      return std::unexpected(r.error());
    }
    const std::string path = "/proc/" + std::to_string(pid) + "/ns/user";
    UniqueFd ns(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
    if (!ns) return FailErrno(ErrorCode::kSandbox, "open(" + path + ")", errno);
    return ns;
  }();
  hold_w.Reset();
  while (::waitpid(static_cast<pid_t>(pid), nullptr, 0) < 0 && errno == EINTR) {
  }
  return result;
}

Result<Prepared> Prepare(const BindMount& mount, const userns::IdMap& ids) {
  Result<PathPin> pin = PinOrResolve(mount.pin, mount.path);
  if (!pin) return std::unexpected(pin.error());
  Result<UniqueFd> dir = ReopenPinned(*pin, O_PATH | O_DIRECTORY);
  if (!dir) return std::unexpected(dir.error());
  struct stat st;
  if (::fstat(dir->get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + pin->resolved.string() + ")", errno);
  }
  if (!S_ISDIR(st.st_mode)) {
    return Fail(ErrorCode::kInvalidArgument,
                "workspace " + mount.path.string() + " is not a directory");
  }
  Prepared prepared;
  prepared.owner_uid = st.st_uid;
  prepared.owner_gid = st.st_gid;
  const std::string owner = "uid " + std::to_string(st.st_uid);
  if (!ids.privileged) {
    // The sandbox's user is the caller: the caller's own directory needs nothing more, and no
    // other owner can be mapped without privilege.
    if (st.st_uid != ids.host_uid) {
      return Fail(ErrorCode::kInvalidArgument,
                  "workspace " + mount.path.string() + " is owned by " + owner +
                      ", but skillrt runs as uid " + std::to_string(ids.host_uid) +
                      ", the only id it can map into the sandbox without privilege, so the "
                      "skill's files there would not belong to the workspace's owner; run "
                      "skillrt as " + owner + " (or as root, which maps the owner)");
    }
    return prepared;
  }
  if (st.st_uid == ids.host_uid && st.st_gid == ids.host_gid) return prepared;

  // Root: the sandbox's host ids own nothing. On an ID-mapped mount whose namespace maps the
  // owner's ids to the sandbox's host ids, the owner's files read as the sandbox user's and
  // the sandbox user's new files are written as the owner's (mount_setattr(2),
  // "ID-mapped mounts"). Only these two ids are mapped: files of any other owner read as the
  // overflow id (nobody) and are judged by their "other" permission bits.
  Result<UniqueFd> userns =
      MakeMappingUserns(st.st_uid, ids.host_uid, st.st_gid, ids.host_gid);
  if (!userns) return std::unexpected(userns.error());
  // Not recursive: the workspace is one filesystem, so one mapping; mounts below it (which
  // may not support ID mapping, or hold other data) are not carried into the sandbox.
  UniqueFd tree(static_cast<int>(::open_tree(dir->get(), "",
                                             OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH)));
  if (!tree) {
    return FailErrno(ErrorCode::kSandbox, "open_tree(" + pin->resolved.string() + ")", errno);
  }
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_IDMAP | kWorkspaceAttrs;
  attr.userns_fd = static_cast<uint64_t>(userns->get());
  if (::mount_setattr(tree.get(), "", AT_EMPTY_PATH, &attr, sizeof(attr)) != 0) {
    const int err = errno;
    return Fail(ErrorCode::kSandbox,
                "the workspace " + mount.path.string() +
                    " cannot be given to the sandbox as an ID-mapped mount (" +
                    Error::FromErrno(ErrorCode::kSandbox, "mount_setattr(MOUNT_ATTR_IDMAP)", err)
                        .message +
                    "): its filesystem or this kernel does not support ID-mapped mounts. "
                    "skillrt runs as root, so without one the skill could not write there as "
                    "the workspace's owner (" + owner + "); refusing to run. Run skillrt as " +
                    owner + ", or use a workspace on a filesystem that supports them");
  }
  prepared.tree = std::move(tree);
  return prepared;
}

}  // namespace skillrt::workspace
