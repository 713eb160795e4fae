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

/// `skillrt daemon [--prepared-sandboxes N]`.
struct DaemonFlags {
  /// Sandboxes kept prepared for native plans run before (NativeRuntimeOptions).
  size_t prepared_sandboxes = 4;
};

/// Serves `<home>/run/daemon.sock` until SIGINT, SIGTERM or SIGHUP, then cancels the calls
/// in flight, removes the socket and returns 0. Refuses to start (exit 2) when another
/// daemon serves the home, and (exit 70) when `<home>/run` is not a directory of this user
/// that no one else may enter, or the socket cannot be made. Prints one line when it serves
/// and, unless `--quiet`, one line per call (whether served, and why not).
int DaemonCommand(const GlobalOptions& global, const DaemonFlags& flags);

/// Hands `command` to the daemon serving the caller's home, if there is one and it serves
/// this caller: the daemon runs it with the caller's flags, environment and directory, and
/// writes its output to this process's stdout and stderr. Returns the exit code when the
/// daemon ran the call; nullopt when the caller must run it itself (no daemon, a caller
/// with a controlling terminal, whose approvals are asked there, or one the daemon does not
/// serve). SIGINT and SIGTERM while the daemon runs it cancel the run, as they do a local
/// one. A daemon that ends during the call is reported (exit 70): the call is not run again.
std::optional<int> ExecThroughDaemon(const GlobalOptions& global, const ExecCommand& command,
                                     const std::optional<std::string>& stdin_data);

/// `skillrt run` handed to the daemon as ExecThroughDaemon hands `exec`: `input_text` is the
/// input's JSON text, already read from `--input` and checked to parse.
std::optional<int> RunThroughDaemon(const GlobalOptions& global, const RunFlags& flags,
                                    const std::string& input_text);

/// `<home>/run/daemon.sock`.
std::filesystem::path DaemonSocketPath(const std::filesystem::path& home);

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_DAEMON_H_
