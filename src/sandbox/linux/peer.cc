// Reading and comparing processes' confinement (peer.h).
#include "skillrt/peer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdlib>
#include <string_view>

#include "sandbox/linux/sys.h"
#include "skillrt/fd.h"

namespace skillrt::peer {
namespace {

// The namespaces of namespaces(7): a peer in any other one sees another system (a mount
// table, a network, users, a cgroup root) than the one its request would run in.
constexpr std::array<std::string_view, 8> kNamespaces = {"cgroup", "ipc", "mnt",  "net",
                                                         "pid",    "time", "user", "uts"};

// The lines of /proc/PID/status (proc(5)) that confine a process: who it is (real,
// effective, saved and filesystem ids; supplementary groups), what it may do (capability
// sets, no_new_privs, seccomp), and how the files it creates are made (umask).
constexpr std::array<std::string_view, 12> kStatusFields = {
    "Uid",    "Gid",    "Groups",     "CapInh",  "CapPrm",          "CapEff",
    "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp", "Seccomp_filters", "Umask"};

// All of a small /proc file, read at `dir_fd`/`name`. kNotFound when absent, kIo otherwise.
Result<std::string> ReadAt(int dir_fd, const char* name) {
  UniqueFd fd(::openat(dir_fd, name, O_RDONLY | O_CLOEXEC));
  if (!fd) {
    return FailErrno(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     std::string("open(/proc/PID/") + name + ")", errno);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const ssize_t n = ::read(fd.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return FailErrno(ErrorCode::kIo, std::string("read(/proc/PID/") + name + ")", errno);
    if (n == 0) return text;
    text.append(buf, static_cast<size_t>(n));
    if (text.size() > (1u << 20)) {
      return Fail(ErrorCode::kIo, std::string("/proc/PID/") + name + ": longer than 1 MiB");
    }
  }
}

// "device:inode" of what `dir_fd`/`name` leads to (a namespace, a directory).
Result<std::string> Identity(int dir_fd, const char* name) {
  struct stat st;
  if (::fstatat(dir_fd, name, &st, 0) != 0) {
    return FailErrno(errno == ENOENT ? ErrorCode::kNotFound : ErrorCode::kIo,
                     std::string("stat(/proc/PID/") + name + ")", errno);
  }
  return std::to_string(st.st_dev) + ":" + std::to_string(st.st_ino);
}

// The value of "Name:\tvalue" in `text`, whitespace as the kernel wrote it; nullopt if absent.
std::optional<std::string> Field(std::string_view text, std::string_view name) {
  for (size_t at = 0; at < text.size();) {
    size_t end = text.find('\n', at);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(at, end - at);
    if (line.size() > name.size() && line.substr(0, name.size()) == name &&
        line[name.size()] == ':') {
      std::string_view value = line.substr(name.size() + 1);
      while (!value.empty() && (value.front() == '\t' || value.front() == ' ')) {
        value.remove_prefix(1);
      }
      return std::string(value);
    }
    at = end + 1;
  }
  return std::nullopt;
}

// The pid the pidfd refers to, in this process's pid namespace: the "Pid:" line of its
// fdinfo (proc(5); -1 once the process has exited, 0 when it is not visible here).
Result<pid_t> PidOf(int pidfd) {
  UniqueFd dir(::open("/proc/self/fdinfo", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return FailErrno(ErrorCode::kIo, "open(/proc/self/fdinfo)", errno);
  auto info = ReadAt(dir.get(), std::to_string(pidfd).c_str());
  if (!info) return std::unexpected(info.error());
  auto pid = Field(*info, "Pid");
  if (!pid) return Fail(ErrorCode::kIo, "fdinfo of the pidfd has no Pid line");
  const long value = std::strtol(pid->c_str(), nullptr, 10);
  if (value == -1) return Fail(ErrorCode::kNotFound, "the process has exited");
  if (value <= 0) {
    return Fail(ErrorCode::kDenied, "the process is not in this pid namespace or below it");
  }
  return static_cast<pid_t>(value);
}

}  // namespace

Result<Confinement> ReadConfinement(int pidfd) {
  auto pid = PidOf(pidfd);
  if (!pid) return std::unexpected(pid.error());
  const std::string proc = "/proc/" + std::to_string(*pid);
  UniqueFd dir(::open(proc.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!dir) return FailErrno(ErrorCode::kIo, "open(" + proc + ")", errno);

  Confinement facts;
  for (std::string_view ns : kNamespaces) {
    const std::string name = "ns/" + std::string(ns);
    auto id = Identity(dir.get(), name.c_str());
    if (!id && id.error().code != ErrorCode::kNotFound) return std::unexpected(id.error());
    facts[name] = id ? *id : "absent";
  }
  auto status = ReadAt(dir.get(), "status");
  if (!status) return std::unexpected(status.error());
  for (std::string_view field : kStatusFields) {
    auto value = Field(*status, field);
    facts["status/" + std::string(field)] = value ? *value : "absent";
  }
  for (const char* file : {"cgroup", "limits"}) {
    auto text = ReadAt(dir.get(), file);
    if (!text) return std::unexpected(text.error());
    facts[file] = *text;
  }
  // Without an LSM that labels processes the file is absent or refuses reads (EINVAL).
  auto label = ReadAt(dir.get(), "attr/current");
  facts["attr/current"] = label ? *label : "none";
  // The executable too: a peer running another program (another build, an upgraded skillrt)
  // expects that program's behaviour, not the reader's.
  for (const char* link : {"root", "cwd", "exe"}) {
    auto id = Identity(dir.get(), link);
    if (!id) return std::unexpected(id.error());
    facts[link] = *id;
  }
  // Alive now, so the pid was its own throughout: a pid is not reused while its process
  // (or its zombie) exists.
  if (sys::PidfdSendSignal(pidfd, 0) != 0) {
    return FailErrno(errno == ESRCH ? ErrorCode::kNotFound : ErrorCode::kIo,
                     "pidfd_send_signal(0)", errno);
  }
  return facts;
}

std::optional<std::string> Difference(const Confinement& peer, const Confinement& self) {
  for (const auto& [name, mine] : self) {
    auto it = peer.find(name);
    const std::string theirs = it == peer.end() ? "absent" : it->second;
    if (theirs == mine) continue;
    auto oneline = [](std::string text) {
      for (char& c : text) {
        if (c == '\n' || c == '\t') c = ' ';
      }
      while (!text.empty() && text.back() == ' ') text.pop_back();
      return text.size() > 200 ? text.substr(0, 200) + "..." : text;
    };
    return name + ": " + oneline(theirs) + ", not " + oneline(mine);
  }
  for (const auto& [name, theirs] : peer) {
    if (!self.contains(name)) return name + ": present only in the peer";
  }
  return std::nullopt;
}

}  // namespace skillrt::peer
