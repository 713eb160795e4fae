// Which executable serves HTTP. `skillrt` itself links no HTTP server: Debian's cpp-httplib
// library initialises all of OpenSSL in a constructor as soon as it is loaded, which every
// short command (`skillrt exec`, `run`, `check`) paid before `main`. The two commands that
// serve HTTP, `skillrt serve` and `skillrt mcp --http`, run in `skillrt-serve`, built from the
// same sources beside `skillrt`; `skillrt` parses and checks their flags, then replaces itself
// with `skillrt-serve` given the same arguments (docs/cli.md, "Two executables").
#ifndef SKILLRT_CLI_SERVING_H_
#define SKILLRT_CLI_SERVING_H_

namespace skillrt::cli {

/// True in `skillrt-serve` (built with SKILLRT_CLI_SERVES_HTTP), false in `skillrt`. Code that
/// serves HTTP sits behind `if constexpr (kServesHttp)`, so that `skillrt` references none of
/// it and the linker leaves the HTTP server and its libraries out.
#ifdef SKILLRT_CLI_SERVES_HTTP
inline constexpr bool kServesHttp = true;
#else
inline constexpr bool kServesHttp = false;
#endif

/// The file name of the serving executable, looked up in the directory of the running one.
inline constexpr const char* kServingExecutable = "skillrt-serve";

/// Replaces the process with `skillrt-serve` from the directory of this executable
/// (/proc/self/exe), with this process's arguments (/proc/self/cmdline) and environment
/// (execv(2)). Returns only on failure: the message is printed and kExitInternal returned
/// (the executable missing, not executable, or /proc unreadable). Call before any thread is
/// started: exec ends every other thread without unwinding it.
int HandOffServing();

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_SERVING_H_
