// `skillrt run` and `skillrt exec`.
#include <pthread.h>
#include <signal.h>
#include <unistd.h>

#include <cerrno>
#include <cmath>
#include <fstream>
#include <string.h>
#include <iterator>
#include <atomic>
#include <thread>

#include "cli/cli.h"
#include "cli/daemon.h"
#include "cli/signal_watch.h"
#include "skillrt/instance.h"

namespace skillrt::cli {
namespace {

// Reads all of stdin. kIo if read(2) fails.
Result<std::string> ReadStdin() {
  std::string data;
  char buf[64 * 1024];
  for (;;) {
    ssize_t n = ::read(STDIN_FILENO, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      if (errno == EBADF) return data;  // No stdin at all: treat as empty.
      return FailErrno(ErrorCode::kIo, "read(stdin)", errno);
    }
    if (n == 0) return data;
    data.append(buf, static_cast<size_t>(n));
  }
}

// The text after "parse error at line L, column C: " in nlohmann's message, i.e. what is
// wrong without the library's prefix.
std::string ParseErrorDetail(const std::string& what) {
  size_t column = what.find("column ");
  size_t colon = what.find(": ", column == std::string::npos ? 0 : column);
  if (colon == std::string::npos) return what;
  return what.substr(colon + 2);
}

// `--input`: literal JSON, `@FILE`, or `-` for stdin. Errors name the flag and the byte.
// Where the input given by `--input FLAG` came from, for error messages.
std::string InputSource(const std::string& flag) {
  if (flag == "-" || (!flag.empty() && flag[0] == '@')) return "--input " + flag;
  return "--input";
}


Result<RunOverrides> Overrides(const RunFlags& flags) {
  RunOverrides overrides;
  if (flags.timeout_seconds) {
    double seconds = *flags.timeout_seconds;
    if (!std::isfinite(seconds) || seconds <= 0 || seconds > 1e9) {
      return Fail(ErrorCode::kInvalidArgument, "--timeout: expected a positive number of seconds");
    }
    auto ms = std::llround(seconds * 1000.0);
    if (ms < 1) return Fail(ErrorCode::kInvalidArgument, "--timeout: shorter than 1 ms");
    overrides.wall_time = std::chrono::milliseconds(ms);
  }
  if (flags.memory_mb) {
    if (*flags.memory_mb == 0 || *flags.memory_mb > (1ull << 40)) {
      return Fail(ErrorCode::kInvalidArgument, "--memory: expected a positive number of MB");
    }
    overrides.memory_max_bytes = *flags.memory_mb << 20;
  }
  if (flags.sandbox == "strict") {
    overrides.level = SandboxLevel::kStrict;
  } else if (flags.sandbox == "best-effort") {
    overrides.level = SandboxLevel::kBestEffort;
  } else {
    return Fail(ErrorCode::kInvalidArgument,
                "--sandbox: expected strict or best-effort, got '" + flags.sandbox + "'");
  }
  auto grants = GrantsFromFlags(flags.grants);
  if (!grants) return std::unexpected(grants.error());
  overrides.grants = std::move(*grants);
  if (flags.workspace) {
    if (flags.workspace->empty()) {
      return Fail(ErrorCode::kInvalidArgument, "--workspace: expected a directory");
    }
    // Relative to the current directory; symbolic links are resolved (and pinned) by the
    // engine, which judges the object they reach.
    std::error_code ec;
    std::filesystem::path dir = std::filesystem::absolute(*flags.workspace, ec);
    if (ec) {
      return FailErrno(ErrorCode::kInvalidArgument, "--workspace " + *flags.workspace,
                       ec.value());
    }
    overrides.workspace = dir.lexically_normal();
  }
  return overrides;
}

// One line saying why a run was not ok: "timeout after 30000 ms (limits: wall_time)".
std::string Summary(const Outcome& outcome) {
  std::string text;
  switch (outcome.status) {
    case Status::kOk:
      text = "ok";
      break;
    case Status::kError:
      text = outcome.exit_code ? "exited with code " + std::to_string(*outcome.exit_code)
                               : std::string("failed");
      break;
    case Status::kTimeout:
      text = outcome.limits
                 ? "timeout after " + std::to_string(outcome.limits->wall_time.count()) + " ms"
                 : std::string("timeout");
      break;
    case Status::kKilled:
      text = "killed";
      if (outcome.signal) {
        const char* abbrev = ::sigabbrev_np(*outcome.signal);
        text += " by " + (abbrev ? "SIG" + std::string(abbrev) : std::to_string(*outcome.signal));
      }
      break;
    case Status::kDenied:
      text = "denied";
      break;
    case Status::kCancelled:
      text = "cancelled";
      break;
  }
  // An exit code or the timeout already says what the runtime's message would repeat.
  bool repeats = outcome.status == Status::kTimeout ||
                 (outcome.status == Status::kError && outcome.exit_code.has_value());
  if (!outcome.message.empty() && !repeats) text += ": " + outcome.message;
  if (!outcome.limits_hit.empty()) {
    text += " (limits: ";
    for (size_t i = 0; i < outcome.limits_hit.size(); ++i) {
      text += (i ? ", " : "") + outcome.limits_hit[i];
    }
    text += ")";
  }
  return outcome.skill + ": " + text;
}

// True when `value` holds a number that came from an integer literal too large for 64 bits
// (the JSON library stores it as a double, e.g. 2**64 as 1.8446744073709552e+19). Printing the
// parsed object would then alter the skill's answer, so its stdout is printed instead.
bool HasInexactInteger(const nlohmann::json& value) {
  if (value.is_number_float()) {
    double v = value.get<double>();
    return std::isfinite(v) && std::fabs(v) >= 9007199254740992.0 && v == std::floor(v);
  }
  if (value.is_structured()) {
    for (const auto& item : value) {
      if (HasInexactInteger(item)) return true;
    }
  }
  return false;
}

// Prints what a run or exec produced and returns the exit code.
int Report(const GlobalOptions& global, const RunFlags& flags, const Result<Outcome>& result,
           bool is_run) {
  if (!result) {
    PrintError(result.error().message);
    return ExitCodeFor(result.error());
  }
  const Outcome& outcome = *result;
  if (flags.json) {
    WriteOut(Dump(OutcomeToJson(outcome)) + "\n");
    return ExitCodeFor(outcome.status);
  }
  if (is_run && !outcome.output.is_null() && !HasInexactInteger(outcome.output)) {
    WriteOut(Dump(outcome.output, 2) + "\n");
  } else {
    WriteOut(outcome.stdout_stream.data);
  }
  WriteErr(outcome.stderr_stream.data);
  // For exec, a non-zero exit speaks for itself through the command's own stderr.
  bool summarize = outcome.status != Status::kOk && (is_run || outcome.status != Status::kError);
  if (summarize && !global.quiet) PrintError(Summary(outcome));
  return ExitCodeFor(outcome.status);
}

// Cancels a run on SIGINT or SIGTERM. Constructed before the run starts: the signals are
// blocked from then on, so that no thread the run starts takes one.
class SignalCanceller : public RunCanceller {
 public:
  void Watch(RunHandle handle) override {
    signals_.Watch([handle = std::move(handle)](int sig) mutable {
      handle.Cancel(std::string("interrupted by SIG") + ::sigabbrev_np(sig));
    });
  }

 private:
  CancelOnSignal signals_;
};

// Runs the call on this thread, its handle given to `canceller` as it starts (no thread is
// started for the run: this one would only wait for it).
Result<Outcome> RunAndWatch(Engine& engine, const RunRequest& request, RunCanceller& canceller) {
  return engine.Run(request, [&canceller](RunHandle handle) { canceller.Watch(std::move(handle)); });
}
Result<Outcome> RunAndWatch(Engine& engine, const ExecRequest& request, RunCanceller& canceller) {
  return engine.Exec(request,
                     [&canceller](RunHandle handle) { canceller.Watch(std::move(handle)); });
}

}  // namespace

Result<nlohmann::json> ParseRunInput(std::string_view text, const std::string& flag) {
  try {
    return nlohmann::json::parse(text);
  } catch (const nlohmann::json::parse_error& e) {
    return Fail(ErrorCode::kInvalidArgument, InputSource(flag) + ": invalid JSON at byte " +
                                                 std::to_string(e.byte) + ": " +
                                                 ParseErrorDetail(e.what()));
  }
}

Result<std::string> ReadInput(const std::string& flag) {
  if (flag == "-") return ReadStdin();
  if (!flag.empty() && flag[0] == '@') {
    std::string path = flag.substr(1);
    std::ifstream in(path, std::ios::binary);
    if (!in) {
      return FailErrno(ErrorCode::kInvalidArgument, "--input: cannot read " + path, errno);
    }
    return std::string(std::istreambuf_iterator<char>(in), {});
  }
  return flag;
}

int RunOnEngine(Engine& engine, const GlobalOptions& global, const RunFlags& flags,
                nlohmann::json input, RunCanceller& canceller) {
  auto overrides = Overrides(flags);
  if (!overrides) {
    PrintError(overrides.error().message);
    return ExitCodeFor(overrides.error());
  }
  RunRequest request;
  request.skill = flags.skill;
  request.input = std::move(input);
  request.overrides = *overrides;
  return Report(global, flags, RunAndWatch(engine, request, canceller), true);
}

int RunSkill(const GlobalOptions& global, const RunCommand& command) {
  auto overrides = Overrides(command.flags);
  if (!overrides) {
    PrintError(overrides.error().message);
    return ExitCodeFor(overrides.error());
  }
  auto text = ReadInput(command.input);
  if (!text) {
    PrintError(text.error().message);
    return ExitCodeFor(text.error());
  }
  auto input = ParseRunInput(*text, command.input);
  if (!input) {
    PrintError(input.error().message);
    return ExitCodeFor(input.error());
  }
  // A daemon serving this home and this caller runs it with its runtimes kept warm; where
  // there is none, or it does not serve this caller, the call runs here.
  if (auto code = RunThroughDaemon(global, command.flags, *text)) return *code;

  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code, /*approve_on_tty=*/true);
  if (!engine) return exit_code;
  SignalCanceller canceller;  // Nothing before this has started a thread.
  return RunOnEngine(*engine, global, command.flags, std::move(*input), canceller);
}

int ExecOnEngine(Engine& engine, const GlobalOptions& global, const ExecCommand& command,
                 std::optional<std::string> stdin_data, RunCanceller& canceller) {
  auto overrides = Overrides(command.flags);
  if (!overrides) {
    PrintError(overrides.error().message);
    return ExitCodeFor(overrides.error());
  }
  ExecRequest request;
  request.skill = command.flags.skill;
  request.argv = command.argv;
  request.overrides = *overrides;
  if (stdin_data) request.stdin_data = std::move(*stdin_data);
  return Report(global, command.flags, RunAndWatch(engine, request, canceller),
                false);
}

int ExecInSkill(const GlobalOptions& global, const ExecCommand& command) {
  if (auto overrides = Overrides(command.flags); !overrides) {
    PrintError(overrides.error().message);
    return ExitCodeFor(overrides.error());
  }
  if (command.argv.empty()) {
    PrintError("exec: a command is required after '--' (skillrt exec SKILL -- ARGV...)");
    return kExitUsage;
  }
  // A terminal is never forwarded: the command would wait for input nobody is typing.
  std::optional<std::string> stdin_data;
  if (!::isatty(STDIN_FILENO)) {
    auto data = ReadStdin();
    if (!data) {
      PrintError(data.error().message);
      return ExitCodeFor(data.error());
    }
    stdin_data = std::move(*data);
  }
  // A daemon serving this home and this caller runs it with a sandbox prepared ahead; where
  // there is none, or it does not serve this caller, the call runs here.
  if (auto code = ExecThroughDaemon(global, command, stdin_data)) return *code;

  int exit_code = 0;
  std::unique_ptr<Engine> engine = OpenEngine(global, &exit_code, /*approve_on_tty=*/true);
  if (!engine) return exit_code;
  SignalCanceller canceller;  // Nothing before this has started a thread.
  return ExecOnEngine(*engine, global, command, std::move(stdin_data), canceller);
}

}  // namespace skillrt::cli
