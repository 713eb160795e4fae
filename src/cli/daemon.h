// `skillrt daemon`: a resident process that keeps the runtimes, and sandboxes prepared ahead
// of need, for the `skillrt exec` and `skillrt run` calls of its own user that are made in
// its own surroundings (docs/daemon.md). The engine and everything it reads are opened
// afresh for each call, as a one-shot call opens them; only the runtimes are kept.
#ifndef SKILLRT_CLI_DAEMON_H_
#define SKILLRT_CLI_DAEMON_H_

#include <cstddef>
#include <filesystem>
#include <optional>
#include <string>

#include "cli/cli.h"

namespace skillrt::cli {

/// `skillrt daemon [--prepared-sandboxes N] [--idle-exit SECONDS] [--log FILE]`.
struct DaemonFlags {
  /// Sandboxes kept prepared for native plans run before (NativeRuntimeOptions).
  size_t prepared_sandboxes = 4;
  /// Seconds without a call (none in flight, none arriving) after which the daemon stops as
  /// it does on SIGTERM, exit 0; 0: it stays until signalled.
  unsigned idle_exit_seconds = 0;
  /// Where the daemon writes its lines (made mode 600, emptied) once it holds the home's
  /// daemon lock; empty: stderr. A daemon refused for another's lock leaves it untouched.
  std::filesystem::path log;
};

/// The idle limit of a daemon started on demand (SKILLRT_DAEMON=auto): ten minutes.
inline constexpr unsigned kOnDemandIdleExitSeconds = 600;

/// Serves `<home>/run/daemon.sock` until SIGINT, SIGTERM or SIGHUP (or `idle_exit_seconds`
/// without a call), then cancels the calls in flight, removes the socket and returns 0.
/// One daemon per home: it holds `<home>/run/daemon.lock` (flock(2), exclusive) while it
/// lives. Refuses to start (exit 2) when another daemon holds it, and (exit 70) when
/// `<home>/run` is not a directory of this user that no one else may enter, or the lock,
/// log or socket cannot be made. Prints one line when it serves and, unless `--quiet`, one
/// line per call (whether served, and why not).
int DaemonCommand(const GlobalOptions& global, const DaemonFlags& flags);

/// Hands `command` to the daemon serving the caller's home, if there is one and it serves
/// this caller: the daemon runs it with the caller's flags, environment and directory, and
/// writes its output to this process's stdout and stderr. Returns the exit code when the
/// daemon ran the call; nullopt when the caller must run it itself (no daemon, a caller
/// with a controlling terminal, whose approvals are asked there, one the daemon does not
/// serve, or one whose call was still queued when the daemon stopped). SIGINT and SIGTERM
/// while the daemon runs it cancel the run, as they do a local one. A daemon that ends
/// during the call is reported (exit 70): the call is not run again.
///
/// The environment variable SKILLRT_DAEMON chooses: unset or empty, a daemon is used when
/// one serves; `off`, never; `auto`, as unset, and when none serves the home, one is
/// started (StartDaemonOnDemand) while this call runs itself. Another value is an error
/// (exit 2, the variable named), before anything runs.
std::optional<int> ExecThroughDaemon(const GlobalOptions& global, const ExecCommand& command,
                                     const std::optional<std::string>& stdin_data);

/// `skillrt run` handed to the daemon as ExecThroughDaemon hands `exec`: `input_text` is the
/// input's JSON text, already read from `--input` and checked to parse.
std::optional<int> RunThroughDaemon(const GlobalOptions& global, const RunFlags& flags,
                                    const std::string& input_text);

/// Starts `skillrt daemon --idle-exit kOnDemandIdleExitSeconds --log <home>/run/daemon.log`
/// for `home` from this process's executable, in this process's environment, directory and
/// confinement (so it serves callers like this one), in a session of its own, stdin and
/// stdout on /dev/null and no other descriptor. Does nothing when the home does not exist
/// yet (the call being made creates it) or a daemon holds its lock (one serves or is
/// starting). Does not wait for it to serve. Errors (the run directory unfit, the spawn
/// failing) are returned for the caller to report; the call goes on without a daemon.
Result<void> StartDaemonOnDemand(const std::filesystem::path& home);

/// Connects to the daemon of the home the environment names, before the arguments are
/// parsed, when they ask for `exec` or `run` (the first word of argv that is not an option
/// or a global option's value; no `--home`), SKILLRT_DAEMON is not `off` and the process has
/// no controlling terminal: the
/// daemon, which checks the caller's confinement as soon as it connects, does so while this
/// process parses its arguments. ExecThroughDaemon and RunThroughDaemon send their call on
/// it; a process that sends none closes it at exit, and the daemon passes it over in
/// silence. Does nothing when no daemon listens. Not thread-safe: call it first in main.
void ConnectToDaemonEarly(int argc, char** argv);

/// `<home>/run/daemon.sock`.
std::filesystem::path DaemonSocketPath(const std::filesystem::path& home);

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_DAEMON_H_
