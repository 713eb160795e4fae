#include "sandbox/linux/mount.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <climits>
#include <set>
#include <string_view>

#include "sandbox/linux/child.h"
#include "sandbox/linux/sys.h"
#include "sandbox/linux/userns.h"
#include "runtime/path_pin.h"

namespace skillrt::mount {
namespace {

namespace fs = std::filesystem;

// Mount attributes of every bind: nothing the skill can reach is setuid-capable or holds
// device nodes, except the few /dev nodes bound on purpose.
constexpr uint64_t kReadOnlyBind = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
constexpr uint64_t kWritableBind = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;

// System directories an interpreter needs: programs, shared libraries and the dynamic
// loader. Read-only. On merged-/usr systems the top-level ones are symlinks into /usr and are
// recreated as symlinks rather than bound.
constexpr std::array<const char*, 7> kSystemDirs = {"/usr",   "/bin",  "/sbin",  "/lib",
                                                    "/lib64", "/lib32", "/libx32"};

// Host files under /etc that are read by the C library and interpreters. Nothing that
// describes the host's users, network or secrets (passwd, shadow, hosts, resolv.conf, ssh).
//   ld.so.cache: library lookup without scanning directories.
//   localtime:   the host's time zone for time formatting.
constexpr std::array<const char*, 2> kEtcFiles = {"/etc/ld.so.cache", "/etc/localtime"};
// /etc/alternatives holds the symlinks Debian's update-alternatives uses for /usr/bin/awk,
// /usr/bin/python and the like; without it those commands dangle.
constexpr const char* kEtcAlternatives = "/etc/alternatives";

// Device nodes of a minimal /dev: data sinks and sources only. No tty, no block devices.
constexpr std::array<const char*, 5> kDevNodes = {"/dev/null", "/dev/zero", "/dev/full",
                                                  "/dev/random", "/dev/urandom"};

// Files of the sandbox's procfs that describe the host, not the sandbox; bound over with
// /dev/null. (Per-process files such as /proc/<pid>/mountinfo cannot be masked this way; what
// they show is listed in docs/sandbox.md.)
constexpr std::array<const char*, 1> kMaskedProcFiles = {"/proc/cmdline"};

// Sandbox paths that skillrt owns; declared paths may not be, or lie under, these.
constexpr std::array<std::string_view, 10> kReserved = {"/skill", "/tmp", "/proc", "/dev",
                                                        "/etc",   "/usr", "/bin",  "/sbin",
                                                        "/lib",   "/skillrt"};

// Attributes of the workspace when the child binds it itself (workspace.cc sets the same on
// the ID-mapped tree it hands over): writable data, never executed (like /tmp).
constexpr uint64_t kWorkspaceBind = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC;

// Where a program named by an alias is looked for on the host: the sandbox's system PATH,
// which is the same path inside (the system directories are bound at their own paths).
constexpr std::array<const char*, 3> kAliasSearch = {"/usr/local/bin", "/usr/bin", "/bin"};

// The number of components of `path`: parents sort before what they contain.
size_t Depth(const std::filesystem::path& path) {
  return static_cast<size_t>(std::distance(path.begin(), path.end()));
}

bool IsUnder(std::string_view path, std::string_view prefix) {
  return path == prefix || (path.starts_with(prefix) && path.size() > prefix.size() &&
                            path[prefix.size()] == '/');
}

std::string Staged(std::string_view inside) {
  return std::string(kStagingDir) + std::string(inside);
}

}  // namespace

std::optional<std::string> AliasTarget(std::string_view name) {
  for (const CommandAlias& alias : kCommandAliases) {
    if (alias.name != name) continue;
    for (const char* dir : kAliasSearch) {
      std::string target = std::string(dir) + "/" + std::string(alias.target);
      struct stat st;
      if (::stat(target.c_str(), &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111) != 0) {
        return target;
      }
    }
  }
  return std::nullopt;
}

uint64_t ShmBytes(const Limits& limits) {
  return std::min(limits.scratch_max_bytes, limits.memory_max_bytes / 2);
}

const char* RootPlan::Keep(std::string s) {
  strings.push_back(std::move(s));
  return strings.back().c_str();
}

Result<void> PlanRoot(const Plan& plan, bool workspace_handed, RootPlan* out) {
  RootPlan& root = *out;
  auto add_source = [&](std::string host) {
    root.sources.push_back({.path = root.Keep(std::move(host))});
    return static_cast<int>(root.sources.size() - 1);
  };
  auto add_pinned = [&](const PathPin& pin) {
    root.sources.push_back({.path = root.Keep(pin.resolved.string()),
                            .pinned = true,
                            .device = pin.device,
                            .inode = pin.inode});
    return static_cast<int>(root.sources.size() - 1);
  };
  auto mkdir_op = [&](std::string_view inside) {
    root.ops.push_back({.kind = Op::Kind::kMkdir, .path = root.Keep(Staged(inside))});
  };
  // The workspace arrives as a tree (ID-mapped) when the supervisor made one.
  auto add_handed = [&](const PathPin& pin) {
    root.sources.push_back({.path = root.Keep(pin.resolved.string()),
                            .pinned = true,
                            .handed = true,
                            .device = pin.device,
                            .inode = pin.inode});
    return static_cast<int>(root.sources.size() - 1);
  };

  for (const char* dir : kSystemDirs) {
    struct stat st;
    if (::lstat(dir, &st) != 0) continue;  // Absent on this host (e.g. /lib32): nothing to add.
    if (S_ISLNK(st.st_mode)) {
      std::error_code ec;
      fs::path target = fs::read_symlink(dir, ec);
      if (ec) {
        return FailErrno(ErrorCode::kSandbox, std::string("readlink(") + dir + ")", ec.value());
      }
      root.ops.push_back({.kind = Op::Kind::kSymlink,
                          .path = root.Keep(Staged(dir)),
                          .arg = root.Keep(target.string())});
    } else if (S_ISDIR(st.st_mode)) {
      root.ops.push_back({.kind = Op::Kind::kBind,
                          .path = root.Keep(Staged(dir)),
                          .source = add_source(dir),
                          .recursive = true,
                          .attr_set = kReadOnlyBind});
    }
  }

  // /etc: a directory in the root tmpfs with synthesized identity files and a few host files.
  mkdir_op("/etc");
  const std::string uid = std::to_string(userns::kInsideUid);
  const std::string gid = std::to_string(userns::kInsideGid);
  auto write_op = [&](std::string_view inside, std::string content) {
    root.ops.push_back({.kind = Op::Kind::kWriteFile,
                        .path = root.Keep(Staged(inside)),
                        .arg = root.Keep(std::move(content))});
  };
  write_op("/etc/passwd", "skill:x:" + uid + ":" + gid + ":skill:/tmp:/usr/sbin/nologin\n" +
                              "nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n");
  write_op("/etc/group", "skill:x:" + gid + ":\nnogroup:x:65534:\n");
  write_op("/etc/hostname", "skillrt\n");
  write_op("/etc/hosts", "127.0.0.1 localhost skillrt\n::1 localhost\n");
  write_op("/etc/nsswitch.conf", "passwd: files\ngroup: files\nhosts: files\n");
  // git's system configuration: an author for commits made in the sandbox, which has no
  // host identity to guess one from (a repository's own user.name and user.email win).
  write_op("/etc/gitconfig", "[user]\n\tname = skill\n\temail = skill@skillrt.invalid\n");
  for (const char* file : kEtcFiles) {
    struct stat st;
    if (::stat(file, &st) != 0 || !S_ISREG(st.st_mode)) continue;
    root.ops.push_back({.kind = Op::Kind::kBind,
                        .path = root.Keep(Staged(file)),
                        .source = add_source(file),
                        .source_is_dir = false,
                        .attr_set = kReadOnlyBind});
  }
  if (struct stat st; ::stat(kEtcAlternatives, &st) == 0 && S_ISDIR(st.st_mode)) {
    root.ops.push_back({.kind = Op::Kind::kBind,
                        .path = root.Keep(Staged(kEtcAlternatives)),
                        .source = add_source(kEtcAlternatives),
                        .attr_set = kReadOnlyBind});
  }

  // The skill directory, read-only: a skill cannot rewrite its own code or manifest.
  Result<PathPin> skill_pin = PinOrResolve(plan.skill_dir_pin, plan.skill_dir);
  if (!skill_pin) return std::unexpected(skill_pin.error());
  if (!skill_pin->directory) {
    return Fail(ErrorCode::kInvalidArgument,
                "skill directory " + plan.skill_dir.string() + " is not a directory");
  }
  root.ops.push_back({.kind = Op::Kind::kBind,
                      .path = root.Keep(Staged("/skill")),
                      .source = add_pinned(*skill_pin),
                      .recursive = true,
                      .attr_set = kReadOnlyBind});

  // Command aliases: links to the system program each stands for, where the host has it.
  mkdir_op("/skillrt");
  mkdir_op(kAliasDir);
  for (const CommandAlias& alias : kCommandAliases) {
    if (std::optional<std::string> target = AliasTarget(alias.name)) {
      root.ops.push_back({.kind = Op::Kind::kSymlink,
                          .path = root.Keep(Staged(std::string(kAliasDir) + "/" +
                                                   std::string(alias.name))),
                          .arg = root.Keep(std::move(*target))});
    }
  }

  // Declared paths and the workspace, at their own absolute paths; parents first, so that a
  // mount never hides one made before it inside its own tree.
  std::vector<const BindMount*> mounts;
  for (const BindMount& m : plan.mounts) mounts.push_back(&m);
  std::stable_sort(mounts.begin(), mounts.end(), [](const BindMount* a, const BindMount* b) {
    return Depth(a->path) < Depth(b->path);
  });
  if (std::count_if(mounts.begin(), mounts.end(), [](const BindMount* m) {
        return m->workspace;
      }) > 1) {
    return Fail(ErrorCode::kInvalidArgument, "plan: more than one workspace");
  }
  std::set<std::string> made = {"/", "/etc"};
  for (const BindMount* mount : mounts) {
    const BindMount& m = *mount;
    if (m.workspace && !m.writable) {
      return Fail(ErrorCode::kInvalidArgument, "plan: the workspace must be writable");
    }
    const std::string p = m.path.lexically_normal().string();
    if (!m.path.is_absolute() || p != m.path.string() || p == "/") {
      return Fail(ErrorCode::kInvalidArgument,
                  "declared path '" + m.path.string() + "' must be absolute and normalized");
    }
    for (std::string_view reserved : kReserved) {
      if (IsUnder(p, reserved) || IsUnder(reserved, p)) {
        return Fail(ErrorCode::kInvalidArgument, "declared path '" + p +
                                                     "' overlaps the sandbox's own " +
                                                     std::string(reserved));
      }
    }
    Result<PathPin> pin = PinOrResolve(m.pin, m.path);
    if (!pin) return std::unexpected(pin.error());
    if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
      return Fail(ErrorCode::kDenied, "declared path " + p + " resolves to " +
                                          pin->resolved.string() + ", which is or lies under '" +
                                          std::string(*reserved) +
                                          "', a reserved host path that cannot be granted");
    }
    for (fs::path parent = fs::path(p).parent_path(); !made.contains(parent.string());
         parent = parent.parent_path()) {
      made.insert(parent.string());
    }
    // Parents are created shortest first so that mkdir never meets a missing parent.
    for (const std::string& dir : made) {
      if (dir != "/" && dir != "/etc" && IsUnder(p, dir) && dir != p) {
        root.ops.push_back({.kind = Op::Kind::kMkdir, .path = root.Keep(Staged(dir))});
      }
    }
    if (m.workspace) {
      if (!pin->directory) {
        return Fail(ErrorCode::kInvalidArgument, "workspace " + p + " is not a directory");
      }
      // Not recursive: what is mounted below the workspace on the host stays out.
      root.ops.push_back(
          workspace_handed
              ? Op{.kind = Op::Kind::kAttach, .path = root.Keep(Staged(p)),
                   .source = add_handed(*pin)}
              : Op{.kind = Op::Kind::kBind, .path = root.Keep(Staged(p)),
                   .source = add_pinned(*pin), .attr_set = kWorkspaceBind});
      continue;
    }
    root.ops.push_back({.kind = Op::Kind::kBind,
                        .path = root.Keep(Staged(p)),
                        .source = add_pinned(*pin),
                        .source_is_dir = pin->directory,
                        .recursive = true,
                        .attr_set = m.writable ? kWritableBind : kReadOnlyBind});
  }
  if (workspace_handed &&
      std::none_of(mounts.begin(), mounts.end(), [](const BindMount* m) { return m->workspace; })) {
    return Fail(ErrorCode::kInvalidArgument, "plan: a workspace tree but no workspace");
  }

  // Private scratch: a size-limited tmpfs owned by the skill's user, gone with the mount
  // namespace. noexec: a skill cannot drop and run a binary of its own.
  root.ops.push_back(
      {.kind = Op::Kind::kTmpfs,
       .path = root.Keep(Staged("/tmp")),
       .arg = root.Keep("mode=0700,uid=" + std::to_string(userns::kInsideUid) +
                        ",gid=" + std::to_string(userns::kInsideGid) +
                        ",size=" + std::to_string(plan.limits.scratch_max_bytes) +
                        ",nr_inodes=16384"),
       .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC});

  // A procfs of the sandbox's own pid namespace: it lists only the sandbox's processes.
  root.ops.push_back({.kind = Op::Kind::kProc, .path = root.Keep(Staged("/proc"))});
  // Host facts a fresh procfs still shows, masked with /dev/null (reads empty): the kernel's
  // boot parameters (/proc/cmdline) can name disks, consoles and secrets passed at boot.
  for (const char* masked : kMaskedProcFiles) {
    root.ops.push_back({.kind = Op::Kind::kBind,
                        .path = root.Keep(Staged(masked)),
                        .source = add_source("/dev/null"),
                        .source_is_dir = false,
                        .attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC});
  }

  // Minimal /dev inside the read-only root tmpfs.
  mkdir_op("/dev");
  for (const char* node : kDevNodes) {
    root.ops.push_back({.kind = Op::Kind::kBind,
                        .path = root.Keep(Staged(node)),
                        .source = add_source(node),
                        .source_is_dir = false,
                        .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC});
  }
  // POSIX shared memory and semaphores (shm_open(3), sem_open(3); Python's multiprocessing
  // locks): a private tmpfs like /tmp, bounded by ShmBytes. Its pages are charged to the
  // run's memory cgroup like any tmpfs page the run writes.
  root.ops.push_back(
      {.kind = Op::Kind::kTmpfs,
       .path = root.Keep(Staged("/dev/shm")),
       .arg = root.Keep("mode=0700,uid=" + std::to_string(userns::kInsideUid) +
                        ",gid=" + std::to_string(userns::kInsideGid) +
                        ",size=" + std::to_string(ShmBytes(plan.limits)) + ",nr_inodes=1024"),
       .attr_set = MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC});
  const std::array<std::pair<const char*, const char*>, 4> dev_links = {
      {{"/dev/fd", "/proc/self/fd"},
       {"/dev/stdin", "/proc/self/fd/0"},
       {"/dev/stdout", "/proc/self/fd/1"},
       {"/dev/stderr", "/proc/self/fd/2"}}};
  for (auto [link, target] : dev_links) {
    root.ops.push_back(
        {.kind = Op::Kind::kSymlink, .path = root.Keep(Staged(link)), .arg = target});
  }
  if (root.sources.size() > kMaxSources) {
    return Fail(ErrorCode::kInvalidArgument, "too many declared paths");
  }
  return {};
}

// ---- Child side: system calls only from here on (see child.h). ----

namespace {

unsigned long MountFlags(uint64_t attr) {
  unsigned long flags = 0;
  if (attr & MOUNT_ATTR_RDONLY) flags |= MS_RDONLY;
  if (attr & MOUNT_ATTR_NOSUID) flags |= MS_NOSUID;
  if (attr & MOUNT_ATTR_NODEV) flags |= MS_NODEV;
  if (attr & MOUNT_ATTR_NOEXEC) flags |= MS_NOEXEC;
  return flags;
}

// Opens the parent directory of the absolute `path` without following any symbolic link and
// points `*name` at the last component. Returns the descriptor or -1 (errno set).
int OpenParent(const char* path, const char** name) {
  char dir[PATH_MAX];
  const size_t len = sys::StrLen(path);
  if (len == 0 || len >= sizeof(dir) || path[0] != '/') {
    errno = EINVAL;
    return -1;
  }
  size_t slash = len;
  while (slash > 0 && path[slash] != '/') --slash;
  *name = path + slash + 1;
  if (slash == 0) {
    dir[0] = '/';
    dir[1] = '\0';
  } else {
    for (size_t i = 0; i < slash; ++i) dir[i] = path[i];
    dir[slash] = '\0';
  }
  return OpenNoSymlinks(dir, O_PATH | O_DIRECTORY);
}

void RunOp(const Op& op, const int* fds, int err_fd) {
  // Errors name the path as the skill will see it, without the staging prefix.
  auto fail = [&](const char* call) {
    sandbox::ChildFailCall(err_fd, call, op.path + sys::StrLen(kStagingDir), errno);
  };
  switch (op.kind) {
    case Op::Kind::kMkdir: {
      // Parents of a nested declared path may lie in a host directory bound before it: no
      // symbolic link there may redirect where the directory is made.
      const char* name = nullptr;
      const int parent = OpenParent(op.path, &name);
      if (parent < 0) fail("open(parent)");
      if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) fail("mkdir");
      ::close(parent);
      return;
    }
    case Op::Kind::kWriteFile: {
      int fd = ::open(op.path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
      if (fd < 0) fail("open");
      if (int rc = sys::WriteAll(fd, op.arg, sys::StrLen(op.arg)); rc != 0) {
        errno = -rc;
        fail("write");
      }
      ::close(fd);
      return;
    }
    case Op::Kind::kSymlink:
      if (::symlink(op.arg, op.path) != 0) fail("symlink");
      return;
    case Op::Kind::kBind: {
      // The mount point: made and opened through its parent with no symbolic link followed,
      // and bound through its descriptor, so that the bind lands exactly there.
      const char* name = nullptr;
      const int parent = OpenParent(op.path, &name);
      if (parent < 0) fail("open(parent)");
      if (op.source_is_dir) {
        if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) fail("mkdir");
      } else {
        int fd = ::openat(parent, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (fd < 0 && errno != EEXIST) fail("open");
        if (fd >= 0) ::close(fd);
      }
      const int target = ::openat(parent, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
      if (target < 0) fail("open(mount point)");
      ::close(parent);
      struct stat target_st;
      if (::fstat(target, &target_st) != 0) fail("fstat(mount point)");
      if (op.source_is_dir ? !S_ISDIR(target_st.st_mode) : !S_ISREG(target_st.st_mode)) {
        errno = ENOTDIR;
        fail("mount point");
      }
      char src[32], dst[32];
      sys::FdPath(src, fds[op.source]);
      sys::FdPath(dst, target);
      if (::mount(src, dst, nullptr, MS_BIND | (op.recursive ? MS_REC : 0), nullptr) != 0) {
        fail("mount");
      }
      ::close(target);
      // The attributes go on the new mount, found again without following links; it must
      // show the source's object, or something moved in between.
      const int mounted = OpenNoSymlinks(op.path, O_PATH);
      if (mounted < 0) fail("open(mounted)");
      struct stat want, got;
      if (::fstat(fds[op.source], &want) != 0 || ::fstat(mounted, &got) != 0) fail("fstat");
      if (want.st_dev != got.st_dev || want.st_ino != got.st_ino) {
        errno = ESTALE;
        fail("mount");
      }
      struct mount_attr attr = {};
      attr.attr_set = op.attr_set;
      if (::mount_setattr(mounted, "", AT_EMPTY_PATH | (op.recursive ? AT_RECURSIVE : 0), &attr,
                          sizeof(attr)) != 0) {
        fail("mount_setattr");
      }
      ::close(mounted);
      return;
    }
    case Op::Kind::kAttach: {
      // As for a bind: the mount point made and opened with no symbolic link followed. The
      // tree's attributes (ID mapping, noexec, nosuid, nodev) were set by the supervisor,
      // which alone may set an ID mapping.
      const char* name = nullptr;
      const int parent = OpenParent(op.path, &name);
      if (parent < 0) fail("open(parent)");
      if (::mkdirat(parent, name, 0755) != 0 && errno != EEXIST) fail("mkdir");
      const int target = ::openat(parent, name, O_PATH | O_NOFOLLOW | O_DIRECTORY | O_CLOEXEC);
      if (target < 0) fail("open(mount point)");
      ::close(parent);
      if (::move_mount(fds[op.source], "", target, "",
                       MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH) != 0) {
        fail("move_mount");
      }
      ::close(target);
      const int mounted = OpenNoSymlinks(op.path, O_PATH);
      if (mounted < 0) fail("open(mounted)");
      struct stat want, got;
      if (::fstat(fds[op.source], &want) != 0 || ::fstat(mounted, &got) != 0) fail("fstat");
      if (want.st_dev != got.st_dev || want.st_ino != got.st_ino) {
        errno = ESTALE;
        fail("move_mount");
      }
      ::close(mounted);
      return;
    }
    case Op::Kind::kTmpfs:
      if (::mkdir(op.path, 0755) != 0 && errno != EEXIST) fail("mkdir");
      if (::mount("tmpfs", op.path, "tmpfs", MountFlags(op.attr_set), op.arg) != 0) fail("mount");
      return;
    case Op::Kind::kProc:
      if (::mkdir(op.path, 0555) != 0 && errno != EEXIST) fail("mkdir");
      if (::mount("proc", op.path, "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, nullptr) != 0) {
        fail("mount");
      }
      return;
  }
}

}  // namespace

bool NeedsHandedTree(const RootView& root) {
  for (size_t i = 0; i < root.source_count; ++i) {
    if (root.sources[i].handed) return true;
  }
  return false;
}

int ReceiveHandedTree(int channel_fd, int err_fd) {
  char byte = 0;
  struct iovec iov = {.iov_base = &byte, .iov_len = 1};
  alignas(struct cmsghdr) char control[CMSG_SPACE(sizeof(int))];
  struct msghdr msg = {};
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  msg.msg_control = control;
  msg.msg_controllen = sizeof(control);
  ssize_t n;
  do {
    n = ::recvmsg(channel_fd, &msg, MSG_CMSG_CLOEXEC | MSG_DONTWAIT);
  } while (n < 0 && errno == EINTR);
  if (n < 0) sandbox::ChildFail(err_fd, "recvmsg(workspace tree)", errno);
  struct cmsghdr* c = CMSG_FIRSTHDR(&msg);
  if (n != 1 || (msg.msg_flags & MSG_CTRUNC) != 0 || c == nullptr ||
      c->cmsg_level != SOL_SOCKET || c->cmsg_type != SCM_RIGHTS ||
      c->cmsg_len != CMSG_LEN(sizeof(int))) {
    sandbox::ChildFail(err_fd, "recvmsg(workspace tree): no descriptor", EPROTO);
  }
  int fd;
  const unsigned char* data = CMSG_DATA(c);
  unsigned char* out = reinterpret_cast<unsigned char*>(&fd);
  for (size_t i = 0; i < sizeof(int); ++i) out[i] = data[i];
  return fd;
}

void OpenSources(const RootView& root, int handed_fd, int* fds, int err_fd) {
  if (root.source_count > kMaxSources) sandbox::ChildFail(err_fd, "too many bind sources", E2BIG);
  // Open every source before anything covers it, so that host paths under the staging
  // directory stay reachable; O_PATH pins the object without needing read permission.
  for (size_t i = 0; i < root.source_count; ++i) {
    const Source& source = root.sources[i];
    if (source.handed) {
      // The tree the supervisor made from the pinned directory: checked all the same.
      fds[i] = handed_fd;
      struct stat st;
      if (handed_fd < 0 || ::fstat(handed_fd, &st) != 0) {
        sandbox::ChildFailCall(err_fd, "fstat(workspace tree)", source.path, EBADF);
      }
      if (static_cast<uint64_t>(st.st_dev) != source.device ||
          static_cast<uint64_t>(st.st_ino) != source.inode) {
        sandbox::ChildFailCall(err_fd, "open", source.path, ESTALE);
      }
      continue;
    }
    if (!source.pinned) {
      fds[i] = ::open(source.path, O_PATH | O_CLOEXEC);
      if (fds[i] < 0) sandbox::ChildFailCall(err_fd, "open", source.path, errno);
      continue;
    }
    // The object the plan pinned, by a path with no symbolic link, or nothing: a link planted
    // since (ELOOP) or another object at the path (ESTALE) stops the run.
    fds[i] = OpenNoSymlinks(source.path, O_PATH);
    if (fds[i] < 0) sandbox::ChildFailCall(err_fd, "open", source.path, errno);
    struct stat st;
    if (::fstat(fds[i], &st) != 0) sandbox::ChildFailCall(err_fd, "fstat", source.path, errno);
    if (static_cast<uint64_t>(st.st_dev) != source.device ||
        static_cast<uint64_t>(st.st_ino) != source.inode) {
      sandbox::ChildFailCall(err_fd, "open", source.path, ESTALE);
    }
  }
}

void BuildRoot(const RootView& root, const int* fds, int err_fd) {
  // Nothing done in this namespace may propagate back to the host's mounts.
  if (::mount(nullptr, "/", nullptr, MS_REC | MS_PRIVATE, nullptr) != 0) {
    sandbox::ChildFail(err_fd, "mount(/, MS_PRIVATE)", errno);
  }
  // The new root: a small tmpfs holding only mount points, /etc files and /dev links.
  if (::mount("tmpfs", kStagingDir, "tmpfs", MS_NOSUID | MS_NODEV,
              "mode=0755,size=1048576,nr_inodes=1024") != 0) {
    sandbox::ChildFail(err_fd, "mount(root tmpfs)", errno);
  }
  for (size_t i = 0; i < root.op_count; ++i) RunOp(root.ops[i], fds, err_fd);
  for (size_t i = 0; i < root.source_count; ++i) ::close(fds[i]);

  // pivot_root(".", ".") stacks the old root on the new one; detaching it leaves no path to
  // the host's tree (pivot_root(2), NOTES).
  if (::chdir(kStagingDir) != 0) sandbox::ChildFail(err_fd, "chdir(new root)", errno);
  if (sys::PivotRoot(".", ".") != 0) sandbox::ChildFail(err_fd, "pivot_root", errno);
  if (::umount2(".", MNT_DETACH) != 0) sandbox::ChildFail(err_fd, "umount2(old root)", errno);
  if (::chdir("/") != 0) sandbox::ChildFail(err_fd, "chdir(/)", errno);
  // The root itself is read-only: a skill writes only to /tmp and declared writable paths.
  struct mount_attr attr = {};
  attr.attr_set = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
  if (::mount_setattr(AT_FDCWD, "/", 0, &attr, sizeof(attr)) != 0) {
    sandbox::ChildFail(err_fd, "mount_setattr(/, RDONLY)", errno);
  }
}

}  // namespace skillrt::mount
