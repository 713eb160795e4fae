// Scratch spaces of WebAssembly calls (scratch.h).
#include "wasm/scratch.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <utility>
#include <vector>

namespace skillrt::wasm {
namespace {

struct DirCloser {
  void operator()(DIR* dir) const {
    if (dir != nullptr) ::closedir(dir);
  }
};
using DirPtr = std::unique_ptr<DIR, DirCloser>;

// A directory stream over `fd` (taken: closed with the stream, or here on failure).
DirPtr OpenDirStream(int fd) {
  if (fd < 0) return nullptr;
  DIR* dir = ::fdopendir(fd);
  if (dir == nullptr) ::close(fd);
  return DirPtr(dir);
}

bool IsDotOrDotDot(const char* name) {
  return name[0] == '.' && (name[1] == '\0' || (name[1] == '.' && name[2] == '\0'));
}

int OpenSubdir(int parent, const char* name) {
  return ::openat(parent, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
}

// A new open file description of the directory `fd`: unlike dup(2), it has its own position,
// so that a walk starts at the first entry whatever walked `fd` before.
int Reopen(int fd) { return ::openat(fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC); }

// Makes a tmpfs attached nowhere: the returned descriptor is its only handle. `max_bytes` 0
// still gets one page, with no inode beyond the root, so that nothing can be created (tmpfs
// reads size=0 and nr_inodes=0 as "unlimited").
Result<UniqueFd> MakeTmpfs(uint64_t max_bytes, uint64_t max_inodes) {
  UniqueFd fs(::fsopen("tmpfs", FSOPEN_CLOEXEC));
  if (!fs) return FailErrno(ErrorCode::kIo, "fsopen(tmpfs)", errno);
  const std::string size = std::to_string(std::max<uint64_t>(max_bytes, 4096));
  // The root counts as one inode.
  const std::string inodes = std::to_string(max_bytes == 0 ? 1 : max_inodes + 1);
  const std::pair<const char*, const char*> options[] = {
      {"size", size.c_str()},
      {"nr_inodes", inodes.c_str()},
      {"mode", "0700"},
      // Pages, never transparent huge pages: a 2 MiB page would round the size up unevenly.
      {"huge", "never"}};
  for (const auto& [key, value] : options) {
    if (::fsconfig(fs.get(), FSCONFIG_SET_STRING, key, value, 0) != 0) {
      return FailErrno(ErrorCode::kIo, std::string("fsconfig(tmpfs, ") + key + ")", errno);
    }
  }
  if (::fsconfig(fs.get(), FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) {
    return FailErrno(ErrorCode::kIo, "fsconfig(tmpfs, create)", errno);
  }
  // nosuid, nodev, noexec: nothing in a guest's scratch is ever a program or a device.
  UniqueFd mount(::fsmount(fs.get(), FSMOUNT_CLOEXEC,
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC));
  if (!mount) return FailErrno(ErrorCode::kIo, "fsmount(tmpfs)", errno);
  return mount;
}

}  // namespace

TreeUsage MeasureTreeAt(int root_fd, uint64_t stop_bytes, uint64_t stop_inodes) {
  TreeUsage usage;
  std::set<std::pair<dev_t, ino_t>> linked;  // Files with more than one name, seen once.
  std::vector<DirPtr> stack;
  stack.push_back(OpenDirStream(Reopen(root_fd)));
  if (!stack.back()) return usage;
  while (!stack.empty()) {
    DIR* dir = stack.back().get();
    errno = 0;
    const struct dirent* entry = ::readdir(dir);
    if (entry == nullptr) {
      stack.pop_back();
      continue;
    }
    if (IsDotOrDotDot(entry->d_name)) continue;
    struct stat st;
    if (::fstatat(::dirfd(dir), entry->d_name, &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (!S_ISDIR(st.st_mode) && st.st_nlink > 1 && !linked.insert({st.st_dev, st.st_ino}).second) {
      continue;
    }
    ++usage.inodes;
    usage.bytes += static_cast<uint64_t>(st.st_blocks) * 512;
    if (usage.bytes > stop_bytes || usage.inodes > stop_inodes) break;
    if (S_ISDIR(st.st_mode)) {
      if (stack.size() > kScratchMaxDepth) {
        usage.too_deep = true;
        break;
      }
      DirPtr child = OpenDirStream(OpenSubdir(::dirfd(dir), entry->d_name));
      if (child) stack.push_back(std::move(child));
    }
  }
  return usage;
}

uint64_t OpenUnlinkedBytes(dev_t dev, const std::string& dir) {
  uint64_t total = 0;
  DirPtr fds = OpenDirStream(::open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fds) return 0;
  const std::string prefix = dir + "/";
  while (const struct dirent* entry = ::readdir(fds.get())) {
    char* end = nullptr;
    const long fd = std::strtol(entry->d_name, &end, 10);
    if (end == entry->d_name || *end != '\0' || fd == ::dirfd(fds.get())) continue;
    struct stat st;
    // The descriptor may have been closed, or even reused, since the listing: only its state
    // at this fstat counts, which errs on the side of counting.
    if (::fstat(static_cast<int>(fd), &st) != 0 || !S_ISREG(st.st_mode) || st.st_nlink != 0 ||
        st.st_dev != dev) {
      continue;
    }
    char target[4096];
    const std::string link = std::string("/proc/self/fd/") + entry->d_name;
    const ssize_t n = ::readlink(link.c_str(), target, sizeof target);
    const bool unreadable = n < 0 || static_cast<size_t>(n) == sizeof target;
    if (unreadable || std::string_view(target, static_cast<size_t>(n)).starts_with(prefix)) {
      total += static_cast<uint64_t>(st.st_blocks) * 512;
    }
  }
  return total;
}

bool RemoveTreeContentsAt(int root_fd) {
  UniqueFd current(Reopen(root_fd));
  if (!current) return false;
  size_t depth = 0;
  for (;;) {
    DirPtr dir = OpenDirStream(Reopen(current.get()));
    if (!dir) return false;
    bool descended = false;
    while (const struct dirent* entry = ::readdir(dir.get())) {
      const char* name = entry->d_name;
      if (IsDotOrDotDot(name)) continue;
      if (entry->d_type != DT_DIR) {
        if (::unlinkat(current.get(), name, 0) == 0 || errno == ENOENT) continue;
        if (errno != EISDIR) return false;  // EISDIR: a directory whose type was DT_UNKNOWN.
      }
      if (::unlinkat(current.get(), name, AT_REMOVEDIR) == 0 || errno == ENOENT) continue;
      if (errno != ENOTEMPTY && errno != EEXIST) return false;
      UniqueFd child(OpenSubdir(current.get(), name));
      if (!child) return false;
      current = std::move(child);
      ++depth;
      descended = true;
      break;
    }
    if (descended) continue;
    // `current` is empty now: climb back; its parent's next pass removes it.
    if (depth == 0) return true;
    UniqueFd parent(::openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent) return false;
    current = std::move(parent);
    --depth;
  }
}

// Free scratch spaces, reused: a call gets an empty one and gives it back emptied. Making
// and dropping a tmpfs costs more than a small call (about 70 us on the build machine), and
// removing a directory costs a synchronous discard on some filesystems; emptying a scratch the
// guest did not touch costs a single getdents. A tmpfs is reused only for a call of the same
// size.
struct ScratchProvider::Pool {
  static constexpr size_t kMaxFree = 16;
  struct Free {
    ScratchKind kind;
    uint64_t tmpfs_bytes;       // kTmpfs: its size.
    std::filesystem::path dir;  // kDirectory: its path.
    UniqueFd fd;
  };
  std::filesystem::path root;
  std::mutex mutex;
  std::vector<Free> free;  // Guarded by mutex; the most recently released last.

  // Takes a free space of `kind` (and, for a tmpfs, of `tmpfs_bytes`), if there is one.
  std::optional<Free> Take(ScratchKind kind, uint64_t tmpfs_bytes) {
    std::lock_guard lock(mutex);
    for (auto it = free.rbegin(); it != free.rend(); ++it) {
      if (it->kind == kind && (kind == ScratchKind::kDirectory || it->tmpfs_bytes == tmpfs_bytes)) {
        Free taken = std::move(*it);
        free.erase(std::next(it).base());
        return taken;
      }
    }
    return std::nullopt;
  }
};

ScratchSpace::~ScratchSpace() {
  if (provider_) provider_->Release(*this);
}

ScratchCheck ScratchSpace::Check() const {
  if (kind_ == ScratchKind::kTmpfs) {
    struct statfs st;
    if (::fstatfs(fd_.get(), &st) != 0) return ScratchCheck::kWithin;
    return st.f_bfree == 0 || st.f_ffree == 0 ? ScratchCheck::kFull : ScratchCheck::kWithin;
  }
  const TreeUsage usage = MeasureTreeAt(fd_.get(), max_bytes_, kScratchMaxInodes);
  if (usage.too_deep || usage.inodes > kScratchMaxInodes || usage.bytes > max_bytes_) {
    return ScratchCheck::kOver;
  }
  const uint64_t hidden = OpenUnlinkedBytes(dev_, dir_.string());
  return usage.bytes + hidden > max_bytes_ ? ScratchCheck::kOver : ScratchCheck::kWithin;
}

std::shared_ptr<ScratchProvider> ScratchProvider::Make(ScratchKind kind, std::filesystem::path root,
                                                       uint64_t max_tmpfs_bytes) {
  return std::shared_ptr<ScratchProvider>(
      new ScratchProvider(kind, std::move(root), max_tmpfs_bytes));
}

ScratchProvider::ScratchProvider(ScratchKind kind, std::filesystem::path root,
                                 uint64_t max_tmpfs_bytes)
    : kind_(kind), max_tmpfs_bytes_(max_tmpfs_bytes), pool_(std::make_unique<Pool>()) {
  if (root.empty()) {
    const char* tmpdir = ::getenv("TMPDIR");
    root = tmpdir != nullptr && *tmpdir == '/' ? tmpdir : "/tmp";
  }
  pool_->root = std::move(root);
}

ScratchProvider::~ScratchProvider() {
  for (const Pool::Free& space : pool_->free) {
    if (space.kind == ScratchKind::kDirectory && RemoveTreeContentsAt(space.fd.get())) {
      ::rmdir(space.dir.c_str());
    }
  }
}

Result<void> ScratchProvider::ProbeTmpfs() {
  auto mount = MakeTmpfs(4096, 1);
  if (!mount) return std::unexpected(mount.error());
  return {};
}

Result<ScratchSpace> ScratchProvider::Acquire(uint64_t max_bytes) {
  ScratchSpace space;
  space.max_bytes_ = max_bytes;
  space.kind_ = kind_ == ScratchKind::kTmpfs && max_bytes <= max_tmpfs_bytes_
                    ? ScratchKind::kTmpfs
                    : ScratchKind::kDirectory;
  if (auto reused = pool_->Take(space.kind_, max_bytes)) {
    space.dir_ = std::move(reused->dir);
    space.fd_ = std::move(reused->fd);
  } else if (space.kind_ == ScratchKind::kTmpfs) {
    auto mount = MakeTmpfs(max_bytes, kScratchMaxInodes);
    if (!mount) return std::unexpected(mount.error());
    space.fd_ = std::move(*mount);
  } else {
    std::string path = (pool_->root / "skillrt-wasm-XXXXXX").string();
    if (::mkdtemp(path.data()) == nullptr) {
      return FailErrno(ErrorCode::kIo, "mkdtemp(" + path + ")", errno);
    }
    space.fd_.Reset(::open(path.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
    if (!space.fd_) {
      const int err = errno;
      ::rmdir(path.c_str());
      return FailErrno(ErrorCode::kIo, "open(" + path + ")", err);
    }
    space.dir_ = path;
  }
  if (space.kind_ == ScratchKind::kTmpfs) {
    space.preopen_path_ = "/proc/self/fd/" + std::to_string(space.fd_.get());
  } else {
    struct stat st;
    if (::fstat(space.fd_.get(), &st) != 0) {
      return FailErrno(ErrorCode::kIo, "fstat(" + space.dir_.string() + ")", errno);
    }
    space.dev_ = st.st_dev;
    space.preopen_path_ = space.dir_.string();
  }
  space.provider_ = shared_from_this();
  return space;
}

// Empties the space and keeps it for the next call. A directory that cannot be emptied is
// left for the host's temporary-file cleanup rather than removed by path (its tree may be
// deeper than any path can name); a tmpfs that cannot be emptied, or still holds pages
// (nothing should, once the call's descriptors are closed), is dropped and vanishes.
void ScratchProvider::Release(ScratchSpace& space) {
  if (!space.fd_) return;
  bool reusable = RemoveTreeContentsAt(space.fd_.get());
  if (reusable && space.kind_ == ScratchKind::kTmpfs) {
    struct statfs st;
    reusable = ::fstatfs(space.fd_.get(), &st) == 0 && st.f_bfree == st.f_blocks;
  }
  if (reusable) {
    std::lock_guard lock(pool_->mutex);
    if (pool_->free.size() >= Pool::kMaxFree) {
      // Full: the least recently released goes (a directory of it is removed below).
      Pool::Free oldest = std::move(pool_->free.front());
      pool_->free.erase(pool_->free.begin());
      if (oldest.kind == ScratchKind::kDirectory) ::rmdir(oldest.dir.c_str());
    }
    pool_->free.push_back({.kind = space.kind_,
                           .tmpfs_bytes = space.max_bytes_,
                           .dir = std::move(space.dir_),
                           .fd = std::move(space.fd_)});
  }
}

}  // namespace skillrt::wasm
