// Host paths resolved once and pinned (src/runtime/path_pin.h).
#include "runtime/path_pin.h"

#include <sys/stat.h>

#include <array>
#include <climits>
#include <string>

namespace skillrt {
namespace {

// Host locations no grant may reach, themselves or anything below them ("/" only itself).
//   /:                         the whole host.
//   /proc, /sys, /dev:         kernel interfaces and devices; the sandbox has its own.
//   /tmp:                      the host's shared scratch; the sandbox has its own.
//   /skill:                    the sandbox's mount point for the skill.
//   /usr, /bin, /sbin, /lib*:  provided read-only by the runtime; a writable grant would let
//                              a skill replace the programs other processes run.
//   /etc:                      host configuration and credentials (shadow, sudoers, keys).
//   /boot:                     kernels and boot configuration.
//   /run, /var/run:            daemons' sockets and state (container engines among them).
constexpr std::array<std::string_view, 17> kReserved = {
    "/",     "/proc", "/sys",  "/dev",    "/tmp",  "/skill",   "/usr",    "/etc", "/bin",
    "/sbin", "/lib",  "/lib64", "/lib32", "/libx32", "/boot", "/run", "/var/run"};

bool IsUnder(std::string_view path, std::string_view prefix) {
  if (prefix == "/") return path == "/";
  return path == prefix ||
         (path.size() > prefix.size() && path.starts_with(prefix) && path[prefix.size()] == '/');
}

std::string KindOf(mode_t mode) {
  if (S_ISSOCK(mode)) return "a socket";
  if (S_ISFIFO(mode)) return "a FIFO";
  if (S_ISCHR(mode)) return "a character device";
  if (S_ISBLK(mode)) return "a block device";
  return "not a file or directory";
}

}  // namespace

Result<PathPin> PinHostPath(const std::filesystem::path& path) {
  if (!path.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "host path '" + path.string() + "' is not absolute");
  }
  // Follow the path once, as a grant of a link means its target, and hold what it reached.
  UniqueFd fd(::open(path.c_str(), O_PATH | O_CLOEXEC));
  if (!fd) {
    return FailErrno(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "open(" + path.string() + ")", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) return FailErrno(ErrorCode::kIo, "fstat(" + path.string() + ")", errno);
  if (!S_ISDIR(st.st_mode) && !S_ISREG(st.st_mode)) {
    return Fail(ErrorCode::kDenied, "host path '" + path.string() + "' is " + KindOf(st.st_mode) +
                                        "; only files and directories can be granted");
  }
  // The kernel's name for the object held: absolute, normalized, links resolved.
  char link[32];
  std::snprintf(link, sizeof link, "/proc/self/fd/%d", fd.get());
  char buf[PATH_MAX];
  const ssize_t n = ::readlink(link, buf, sizeof buf);
  if (n < 0) return FailErrno(ErrorCode::kIo, std::string("readlink(") + link + ")", errno);
  if (n == static_cast<ssize_t>(sizeof buf)) {
    return Fail(ErrorCode::kInvalidArgument, "host path '" + path.string() + "' is too long");
  }
  std::string resolved(buf, static_cast<size_t>(n));
  if (resolved.empty() || resolved[0] != '/') {
    return Fail(ErrorCode::kConflict, "host path '" + path.string() +
                                          "' resolves outside this process's root");
  }
  // The name must lead back to the same object without following anything: then it is the
  // object's one true path, fit for the policy, the approval key and the runtime's reopen.
  PathPin pin{.resolved = resolved,
              .device = static_cast<uint64_t>(st.st_dev),
              .inode = static_cast<uint64_t>(st.st_ino),
              .directory = S_ISDIR(st.st_mode)};
  auto again = ReopenPinned(pin, O_PATH);
  if (!again) {
    return Fail(ErrorCode::kConflict, "host path '" + path.string() +
                                          "' changed while it was being resolved");
  }
  return pin;
}

Result<PathPin> PinOrResolve(const std::optional<PathPin>& pin,
                             const std::filesystem::path& path) {
  if (pin) return *pin;
  return PinHostPath(path);
}

Result<UniqueFd> ReopenPinned(const PathPin& pin, int flags) {
  UniqueFd fd(OpenNoSymlinks(pin.resolved.c_str(), flags));
  if (!fd) {
    if (errno == ELOOP || errno == ENOENT || errno == ENOTDIR || errno == EXDEV) {
      return Fail(ErrorCode::kConflict, "host path '" + pin.resolved.string() +
                                            "' changed since it was resolved (" +
                                            Error::FromErrno(ErrorCode::kIo, "open", errno).message +
                                            ")");
    }
    return FailErrno(ErrorCode::kIo, "openat2(" + pin.resolved.string() + ")", errno);
  }
  struct stat st;
  if (::fstat(fd.get(), &st) != 0) {
    return FailErrno(ErrorCode::kIo, "fstat(" + pin.resolved.string() + ")", errno);
  }
  if (static_cast<uint64_t>(st.st_dev) != pin.device ||
      static_cast<uint64_t>(st.st_ino) != pin.inode) {
    return Fail(ErrorCode::kConflict, "host path '" + pin.resolved.string() +
                                          "' changed since it was resolved (another object "
                                          "stands at it now)");
  }
  return fd;
}

std::optional<std::string_view> ReservedHostPath(std::string_view resolved) {
  for (std::string_view reserved : kReserved) {
    if (IsUnder(resolved, reserved)) return reserved;
  }
  return std::nullopt;
}

std::string_view ReservedHostPathList() {
  static const std::string list = [] {
    std::string out;
    for (std::string_view reserved : kReserved) {
      if (!out.empty()) out += ", ";
      out += reserved;
    }
    return out;
  }();
  return list;
}

}  // namespace skillrt
