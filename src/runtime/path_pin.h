// Host paths resolved once and pinned by device and inode (PathPin, include/skillrt/plan.h).
//
// A path is only a name: between the moment a policy judges it and the moment a runtime
// opens it, anyone who can write one of its directories can re-point it (a symbolic link
// replaced, a directory swapped with renameat2(RENAME_EXCHANGE)). So a host path is resolved
// exactly once, here, and every later open goes through ReopenPinned (or, in the sandbox
// child, OpenNoSymlinks plus an identity check): the resolved path is walked without
// following any symbolic link, and the object found must be the one that was judged.
#ifndef SKILLRT_RUNTIME_PATH_PIN_H_
#define SKILLRT_RUNTIME_PATH_PIN_H_

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <optional>
#include <string_view>

#include "skillrt/error.h"
#include "skillrt/plan.h"
#include "skillrt/fd.h"

namespace skillrt {

/// openat2(2) of the absolute `path` with RESOLVE_NO_SYMLINKS (which also refuses procfs
/// magic links): no symbolic link is followed in any component, so a link planted anywhere
/// on the path fails with ELOOP instead of redirecting the open. O_CLOEXEC is added to
/// `flags`. Returns the descriptor, or -1 with errno set. Async-signal-safe (one system
/// call), so the sandbox child may use it between clone and execve.
inline int OpenNoSymlinks(const char* path, int flags) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC);
  how.resolve = RESOLVE_NO_SYMLINKS | RESOLVE_NO_MAGICLINKS;
  return static_cast<int>(::syscall(SYS_openat2, AT_FDCWD, path, &how, sizeof(how)));
}

/// Resolves the absolute host path `path` (following symbolic links, as a grant of a link
/// means its target) and pins the object it names. The object must be a directory or a
/// regular file: sockets, FIFOs and device nodes are refused, since a grant of one would hand
/// the skill a host service or device rather than data. Errors: kInvalidArgument for a
/// relative path; kNotFound when it does not exist; kDenied for another kind of object;
/// kConflict when the path changed while it was being resolved; kIo otherwise (naming the
/// call). Thread-safe. Reads /proc/self/fd (proc(5)).
Result<PathPin> PinHostPath(const std::filesystem::path& path);

/// `pin` when set, else PinHostPath(path): for runtimes given hand-built plans.
Result<PathPin> PinOrResolve(const std::optional<PathPin>& pin,
                             const std::filesystem::path& path);

/// Opens `pin.resolved` with OpenNoSymlinks and `flags`, and checks that it is the pinned
/// object. Errors: kConflict, naming the path, when a symbolic link now lies on the path or
/// another object stands at it ("changed since it was resolved"); kIo for other failures.
/// The descriptor is owned by the caller. Thread-safe.
Result<UniqueFd> ReopenPinned(const PathPin& pin, int flags);

/// When the resolved host path `resolved` (absolute, normalized) is or lies under a host
/// location that no grant may reach (the root itself, the kernel's interfaces /proc, /sys
/// and /dev, the system directories, /boot, /run, the host's /tmp; the full list is in
/// path_pin.cc with the reason), returns that location; otherwise nullopt. Lexical: apply it
/// to a path from PinHostPath, never to a declared one that may hold symbolic links.
std::optional<std::string_view> ReservedHostPath(std::string_view resolved);

/// The reserved locations of ReservedHostPath, joined with ", " for messages.
std::string_view ReservedHostPathList();

}  // namespace skillrt

#endif  // SKILLRT_RUNTIME_PATH_PIN_H_
