// inotify(7) for the registry's catalogue.
#include "skill/dir_watch.h"

#include <errno.h>
#include <sys/inotify.h>

#include <cstring>
#include <string_view>

namespace skillrt {
namespace {

// What a walk's result can depend on: entries appearing, disappearing or being renamed
// (IN_CREATE, IN_DELETE, IN_MOVED_FROM, IN_MOVED_TO), permissions and types (IN_ATTRIB,
// which decides whether a directory can be listed), and the watched directory itself going
// away or moving (IN_DELETE_SELF, IN_MOVE_SELF). File contents (IN_MODIFY) do not: names
// come from directory names, and what is read from SKILL.md and skill.toml is checked by
// the caller against the files' own stamps.
constexpr uint32_t kMask = IN_CREATE | IN_DELETE | IN_MOVED_FROM | IN_MOVED_TO | IN_ATTRIB |
                           IN_DELETE_SELF | IN_MOVE_SELF | IN_ONLYDIR;

}  // namespace

Result<DirWatch> DirWatch::Open() {
  int fd = ::inotify_init1(IN_CLOEXEC | IN_NONBLOCK);
  if (fd < 0) return FailErrno(ErrorCode::kIo, "inotify_init1", errno);
  return DirWatch(UniqueFd(fd));
}

Result<int> DirWatch::Add(const std::filesystem::path& dir) {
  int wd = ::inotify_add_watch(fd_.get(), dir.c_str(), kMask);
  if (wd < 0) {
    int err = errno;
    return FailErrno(err == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "inotify_add_watch(" + dir.string() + ")", err);
  }
  // One directory reached by two paths has one watch descriptor and, as the walk looks at
  // it after watching it each time, the kind the last look found.
  kinds_[wd] = Kind::kSearched;
  return wd;
}

bool DirWatch::Matters(Kind kind, uint32_t mask, std::string_view name) {
  if (mask & (IN_Q_OVERFLOW | IN_IGNORED)) return true;  // Events lost; a watch is gone.
  if (name.empty()) return true;                         // The directory itself.
  if (kind == Kind::kSkill) return name == "SKILL.md";
  return !name.starts_with(".");  // Hidden entries are never searched.
}

bool DirWatch::Changed() {
  // Aligned for struct inotify_event; large enough for several events with NAME_MAX names.
  alignas(struct inotify_event) char buf[16 * 1024];
  bool changed = false;
  while (true) {
    ssize_t n = ::read(fd_.get(), buf, sizeof buf);
    if (n < 0) {
      if (errno == EINTR) continue;
      return changed || errno != EAGAIN;  // EAGAIN: the queue is empty.
    }
    if (n == 0) return true;
    for (ssize_t off = 0; off < n;) {
      struct inotify_event event;
      std::memcpy(&event, buf + off, sizeof event);
      std::string_view name;
      if (event.len > 0) name = std::string_view(buf + off + sizeof event);  // NUL-padded.
      off += static_cast<ssize_t>(sizeof event + event.len);
      if (changed) continue;
      auto it = kinds_.find(event.wd);
      Kind kind = it == kinds_.end() ? Kind::kSearched : it->second;
      changed = Matters(kind, event.mask, name);
    }
  }
}

}  // namespace skillrt
