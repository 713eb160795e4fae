#include "container/engine_cli.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <filesystem>
#include <utility>


extern char** environ;

namespace skillrt::container {
namespace {

constexpr uint64_t kCommandOutputCap = 1 << 20;

bool IsExecutableFile(const std::string& path) {
  std::error_code ec;
  return std::filesystem::is_regular_file(path, ec) && ::access(path.c_str(), X_OK) == 0;
}

std::string SearchPath(std::string_view name) {
  const char* path = ::getenv("PATH");
  std::string_view dirs = path != nullptr && *path != '\0' ? path : "/usr/local/bin:/usr/bin:/bin";
  while (!dirs.empty()) {
    const size_t colon = dirs.find(':');
    std::string_view dir = dirs.substr(0, colon);
    dirs = colon == std::string_view::npos ? std::string_view() : dirs.substr(colon + 1);
    if (dir.empty() || dir.front() != '/') continue;  // Never the working directory.
    std::string candidate = std::string(dir) + "/" + std::string(name);
    if (IsExecutableFile(candidate)) return candidate;
  }
  return {};
}

int PidfdOpen(pid_t pid) { return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)); }

// A pipe whose both ends are close-on-exec; the child's end is dup2'd onto 0, 1 or 2 by
// posix_spawn, which clears the flag on the copy.
Result<std::pair<UniqueFd, UniqueFd>> Pipe() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) return FailErrno(ErrorCode::kIo, "pipe2", errno);
  return std::make_pair(UniqueFd(fds[0]), UniqueFd(fds[1]));
}

}  // namespace

Result<std::string> FindEngine(std::string_view requested) {
  std::string wanted(requested);
  std::string where = "the runtime options";
  if (wanted.empty()) {
    if (const char* env = ::getenv("SKILLRT_CONTAINER_ENGINE"); env != nullptr && *env != '\0') {
      wanted = env;
      where = "$SKILLRT_CONTAINER_ENGINE";
    }
  }
  if (!wanted.empty()) {
    std::string path = wanted.find('/') == std::string::npos ? SearchPath(wanted) : wanted;
    if (path.empty() || path.front() != '/' || !IsExecutableFile(path)) {
      return Fail(ErrorCode::kUnsupported, "container engine '" + wanted + "' (from " + where +
                                            ") is not an executable absolute path or a "
                                            "command on $PATH");
    }
    return path;
  }
  for (std::string_view name : {"podman", "docker"}) {
    if (std::string path = SearchPath(name); !path.empty()) return path;
  }
  return Fail(ErrorCode::kUnsupported,
              "no container engine: neither podman nor docker is on $PATH (install podman, "
              "or set SKILLRT_CONTAINER_ENGINE)");
}

EngineProcess& EngineProcess::operator=(EngineProcess&& other) noexcept {
  if (this != &other) {
    this->~EngineProcess();
    pid = std::exchange(other.pid, 0);
    fds = std::move(other.fds);
  }
  return *this;
}

EngineProcess::~EngineProcess() {
  if (pid > 0) {
    if (fds.pidfd) {
      ::syscall(SYS_pidfd_send_signal, fds.pidfd.get(), SIGKILL, nullptr, 0);
    } else {
      ::kill(pid, SIGKILL);
    }
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    pid = 0;
  }
}

Result<EngineProcess> StartEngine(const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty() || argv[0].front() != '/') {
    return Fail(ErrorCode::kInvalidArgument, "engine command must start with an absolute path");
  }
  auto in = Pipe();
  if (!in) return std::unexpected(in.error());
  auto out = Pipe();
  if (!out) return std::unexpected(out.error());
  auto err = Pipe();
  if (!err) return std::unexpected(err.error());

  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  ::posix_spawn_file_actions_init(&actions);
  ::posix_spawnattr_init(&attr);
  ::posix_spawn_file_actions_adddup2(&actions, in->first.get(), 0);
  ::posix_spawn_file_actions_adddup2(&actions, out->second.get(), 1);
  ::posix_spawn_file_actions_adddup2(&actions, err->second.get(), 2);
  ::posix_spawn_file_actions_addclosefrom_np(&actions, 3);
  // The supervisor blocks SIGPIPE in its thread; the engine starts with a clean mask and
  // default dispositions.
  sigset_t empty, defaults;
  sigemptyset(&empty);
  sigemptyset(&defaults);
  sigaddset(&defaults, SIGPIPE);
  ::posix_spawnattr_setsigmask(&attr, &empty);
  ::posix_spawnattr_setsigdefault(&attr, &defaults);
  ::posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> args;
  for (const std::string& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  pid_t pid = 0;
  const int rc = ::posix_spawn(&pid, argv[0].c_str(), &actions, &attr, args.data(), environ);
  ::posix_spawn_file_actions_destroy(&actions);
  ::posix_spawnattr_destroy(&attr);
  if (rc != 0) return FailErrno(ErrorCode::kIo, "posix_spawn(" + argv[0] + ")", rc);

  EngineProcess process;
  process.pid = pid;
  // The child is not reaped until Supervise or the destructor does it, so its pid cannot be
  // reused in between.
  process.fds.pidfd = UniqueFd(PidfdOpen(pid));
  if (!process.fds.pidfd) return FailErrno(ErrorCode::kIo, "pidfd_open(" + argv[0] + ")", errno);
  process.fds.stdin_w = std::move(in->second);
  process.fds.stdout_r = std::move(out->first);
  process.fds.stderr_r = std::move(err->first);
  return process;
}

Result<CommandResult> RunEngineCommand(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout) {
  auto process = StartEngine(argv);
  if (!process) return std::unexpected(process.error());
  CapturedStream out, err;
  const pid_t pid = std::exchange(process->pid, 0);
  auto sup = Supervise(pid, std::move(process->fds), "", timeout, kCommandOutputCap,
                                &out, &err);
  if (!sup) return std::unexpected(sup.error());
  CommandResult result;
  result.timed_out = sup->timed_out;
  if (WIFEXITED(sup->wait_status) && !sup->timed_out) {
    result.exit_code = WEXITSTATUS(sup->wait_status);
  }
  result.out = std::move(out.data);
  result.err = std::move(err.data);
  return result;
}

std::string LastLine(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  while (!text.empty()) {
    const size_t end = text.find_last_not_of(kSpace);
    if (end == std::string_view::npos) return {};
    text = text.substr(0, end + 1);
    const size_t start = text.rfind('\n');
    std::string_view line = start == std::string_view::npos ? text : text.substr(start + 1);
    const size_t first = line.find_first_not_of(kSpace);
    if (first != std::string_view::npos) return std::string(line.substr(first));
    text = text.substr(0, start == std::string_view::npos ? 0 : start);
  }
  return {};
}

std::string EngineErrorLine(EngineKind kind, std::string_view err) {
  std::string line = LastLine(err);
  if (kind != EngineKind::kDocker) return line;
  const bool hint = (line.starts_with("See '") || line.starts_with("Run '")) &&
                    line.find(" --help'") != std::string::npos;
  if (!hint) return line;
  // The hint is the last line; the error is the last non-empty line before it.
  const size_t end = err.rfind(line);
  return LastLine(err.substr(0, end));
}

int StatsCgroupVersion(EngineKind kind, std::string_view answer, std::string_view host_name,
                       bool root) {
  if (!root) return 0;
  std::vector<std::string_view> words;
  while (!answer.empty()) {
    const size_t space = answer.find(' ');
    if (space != 0) words.push_back(answer.substr(0, space));
    answer = space == std::string_view::npos ? std::string_view() : answer.substr(space + 1);
  }
  if (kind == EngineKind::kPodman) {
    // "<manager> v<N> <rootless>"
    if (words.size() != 3 || words[0] != "cgroupfs" || words[2] != "false") return 0;
    return words[1] == "v1" ? 1 : words[1] == "v2" ? 2 : 0;
  }
  // "<server version> <driver> <N> <daemon host name> <security options as JSON>": only a
  // daemon on this host (its name is ours) that is not rootless makes its cgroups here.
  if (words.size() != 5 || words[1] != "cgroupfs" || words[3] != host_name ||
      words[4].find("name=rootless") != std::string_view::npos) {
    return 0;
  }
  return words[2] == "1" ? 1 : words[2] == "2" ? 2 : 0;
}

Result<EngineInfo> ProbeEngine(const std::string& path) {
  EngineInfo info;
  info.path = path;
  const std::string base = std::filesystem::path(path).filename().string();
  info.kind = base.find("docker") != std::string::npos ? EngineKind::kDocker : EngineKind::kPodman;
  info.name = info.kind == EngineKind::kDocker ? "docker" : "podman";
  // docker's `info` needs the daemon, podman's the storage and OCI runtime: either failing
  // means no container can run.
  const std::vector<std::string> argv =
      info.kind == EngineKind::kDocker
          ? std::vector<std::string>{path, "info", "--format",
                                     "{{.ServerVersion}} {{.CgroupDriver}} {{.CgroupVersion}} "
                                     "{{.Name}} {{json .SecurityOptions}}"}
          : std::vector<std::string>{path, "info", "--format",
                                     "{{.Host.CgroupManager}} {{.Host.CgroupsVersion}} "
                                     "{{.Host.Security.Rootless}}"};
  auto result = RunEngineCommand(argv, std::chrono::seconds(30));
  if (!result) return std::unexpected(result.error());
  if (result->exit_code != 0) {
    std::string why = LastLine(result->err);
    if (why.empty()) why = result->timed_out ? "timed out" : "exit status " +
                                                              std::to_string(result->exit_code);
    return Fail(ErrorCode::kUnsupported,
                "container engine " + path + " cannot run containers here: " + why);
  }
  struct utsname uts;
  const std::string host_name = ::uname(&uts) == 0 ? uts.nodename : "";
  info.stats_cgroup_version =
      StatsCgroupVersion(info.kind, LastLine(result->out), host_name, ::geteuid() == 0);
  return info;
}

}  // namespace skillrt::container
