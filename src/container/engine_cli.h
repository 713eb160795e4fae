// The container engine's command-line interface: finding it, asking it what it can do, and
// starting it as a child process with captured pipes. Nothing here goes through a shell.
#ifndef SKILLRT_CONTAINER_ENGINE_CLI_H_
#define SKILLRT_CONTAINER_ENGINE_CLI_H_

#include <sys/types.h>

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "runtime/supervise.h"
#include "skillrt/error.h"

namespace skillrt::container {

/// Which engine a CLI belongs to; their flags differ in a few places (engine_argv.h).
enum class EngineKind { kPodman, kDocker };

/// What skillrt learned about the engine when the runtime was created.
struct EngineInfo {
  EngineKind kind = EngineKind::kPodman;
  std::string path;  ///< Absolute path of the CLI binary.
  std::string name;  ///< "podman" or "docker": the Outcome's layer name.
  /// 1 or 2 when each run can be given a cgroup parent that skillrt reads accounting from
  /// and removes afterwards (podman or a local docker daemon, as root, with the cgroupfs
  /// manager; StatsCgroupVersion); 0 otherwise.
  int stats_cgroup_version = 0;
};

/// Resolves the engine CLI: `requested` when non-empty, else $SKILLRT_CONTAINER_ENGINE,
/// else the first of podman and docker found on $PATH. A name without '/' is searched on
/// $PATH; the result is absolute. kUnsupported naming what was searched.
Result<std::string> FindEngine(std::string_view requested);

/// Runs `<path> info` to learn the engine kind and whether it can run containers here:
/// kUnsupported when it cannot (e.g. docker without a reachable daemon), with the engine's
/// message. Takes ~0.1-0.3 s. Thread-safe.
Result<EngineInfo> ProbeEngine(const std::string& path);

/// EngineInfo::stats_cgroup_version from the last line of ProbeEngine's `info` answer: 1 or 2
/// when skillrt, as root (`root`), can give each run a cgroup parent of its own, read its
/// accounting and remove it; 0 otherwise. podman answers "<cgroup manager> v<N> <rootless>"
/// and qualifies with "cgroupfs vN false". docker answers "<server version> <cgroup driver>
/// <N> <daemon's host name> <security options, JSON>" and qualifies with the cgroupfs driver,
/// no "name=rootless" option and the daemon's host name equal to `host_name` (this host's
/// uname(2) node name): a daemon elsewhere (a VM, another machine behind DOCKER_HOST) makes
/// its cgroups there. Pure.
int StatsCgroupVersion(EngineKind kind, std::string_view answer, std::string_view host_name,
                       bool root);

/// A started engine CLI process with the parent's ends of its pipes. Supervise it with
/// Supervise (which reaps it), or destroy it to kill and reap it. Move-only.
struct EngineProcess {
  EngineProcess() = default;
  EngineProcess(EngineProcess&& other) noexcept { *this = std::move(other); }
  EngineProcess& operator=(EngineProcess&& other) noexcept;
  ~EngineProcess();

  pid_t pid = 0;  ///< 0 once handed to Supervise or reaped.
  SupervisedFds fds;
};

/// Starts `argv` (argv[0] an absolute path) with posix_spawn: stdin, stdout and stderr on
/// new pipes, every other descriptor closed, default signal mask, the caller's environment
/// (the operator's: it may configure the engine, e.g. CONTAINERS_CONF or DOCKER_HOST; the
/// engine passes none of it into a container). kIo when the program cannot be started.
Result<EngineProcess> StartEngine(const std::vector<std::string>& argv);

/// What a short engine command did.
struct CommandResult {
  int exit_code = -1;  ///< -1 if killed by a signal or the timeout.
  bool timed_out = false;
  std::string out;  ///< stdout, at most 1 MiB.
  std::string err;  ///< stderr, at most 1 MiB.
};

/// Runs `argv` to completion with no input, killing it after `timeout`. kIo when it cannot
/// be started or supervised.
Result<CommandResult> RunEngineCommand(const std::vector<std::string>& argv,
                                       std::chrono::milliseconds timeout);

/// The last non-empty line of `text`, without surrounding whitespace.
std::string LastLine(std::string_view text);

/// The line of the engine CLI's stderr `err` that would carry its own error: the last
/// non-empty one, except that the docker CLI follows its error with a hint (20.10:
/// "See 'docker run --help'.", 23 and later: a blank line and "Run 'docker run --help' for
/// more information"), which is skipped. Whether that line is the engine's error at all is
/// the caller's to judge (podman's start "Error: ", docker's "docker: "). Pure.
std::string EngineErrorLine(EngineKind kind, std::string_view err);

}  // namespace skillrt::container

#endif  // SKILLRT_CONTAINER_ENGINE_CLI_H_
