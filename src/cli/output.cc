// Printing helpers and exit codes of the command line.
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <string>
#include <utility>

#include "cli/cli.h"

namespace skillrt::cli {
namespace {

// Where this thread's output goes (ScopedOutput): the process's stdout and stderr unless a
// daemon thread writes a caller's.
thread_local int t_out_fd = STDOUT_FILENO;
thread_local int t_err_fd = STDERR_FILENO;

void WriteAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::write(fd, data.data(), data.size());
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // A closed pipe: nothing more can be reported anyway.
    data.remove_prefix(static_cast<size_t>(n));
  }
}

// "1.5" from 1.5, "30" from 30.0: at most three decimals, no trailing zeros.
std::string Decimal(double value) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", value);
  std::string text(buf);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

}  // namespace

std::string InCliTerms(std::string_view message) {
  // The library names its own options; on the command line they are flags.
  static constexpr std::pair<std::string_view, std::string_view> kTerms[] = {
      {"the wall_time override", "--timeout"},
      {"the memory override", "--memory"},
      {"the best-effort sandbox level", "--sandbox best-effort"},
      {"(EngineOptions::home)", "(--home)"},
  };
  std::string text(message);
  for (const auto& [library, flag] : kTerms) {
    for (size_t at = text.find(library); at != std::string::npos;
         at = text.find(library, at + flag.size())) {
      text.replace(at, library.size(), flag);
    }
  }
  return text;
}

void PrintError(std::string_view message) {
  std::string line = "skillrt: ";
  for (char c : InCliTerms(message)) line += (c == '\n' || c == '\r') ? ' ' : c;
  line += '\n';
  std::fflush(stdout);
  WriteAll(t_err_fd, line);
}

ScopedOutput::ScopedOutput(int out_fd, int err_fd)
    : previous_out_(t_out_fd), previous_err_(t_err_fd) {
  t_out_fd = out_fd;
  t_err_fd = err_fd;
}

ScopedOutput::~ScopedOutput() {
  t_out_fd = previous_out_;
  t_err_fd = previous_err_;
}

int ExitCodeFor(const Error& error) {
  switch (error.code) {
    case ErrorCode::kInvalidArgument:
    case ErrorCode::kNotFound:
    case ErrorCode::kParse:
    case ErrorCode::kValidation:
    case ErrorCode::kConflict:
      return kExitUsage;
    case ErrorCode::kDenied:
      return kExitDenied;
    case ErrorCode::kSandbox:
    case ErrorCode::kIo:
    case ErrorCode::kUnsupported:
    case ErrorCode::kInternal:
      return kExitInternal;
  }
  return kExitInternal;
}

int ExitCodeFor(Status status) {
  switch (status) {
    case Status::kOk: return kExitOk;
    case Status::kError: return kExitFailed;
    case Status::kDenied: return kExitDenied;
    case Status::kTimeout: return kExitTimeout;
    case Status::kKilled: return kExitKilled;
    case Status::kCancelled: return kExitCancelled;
  }
  return kExitInternal;
}

void WriteOut(std::string_view data) {
  std::fflush(stdout);
  WriteAll(t_out_fd, data);
}

void WriteErr(std::string_view data) { WriteAll(t_err_fd, data); }

std::string Dump(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

std::string HumanDuration(std::chrono::milliseconds ms) {
  if (ms.count() < 1000) return std::to_string(ms.count()) + " ms";
  return Decimal(static_cast<double>(ms.count()) / 1000.0) + " s";
}

std::string HumanBytes(uint64_t bytes) {
  constexpr uint64_t kKiB = 1024, kMiB = kKiB * 1024, kGiB = kMiB * 1024;
  if (bytes >= kGiB) return Decimal(static_cast<double>(bytes) / kGiB) + " GiB";
  if (bytes >= kMiB) return Decimal(static_cast<double>(bytes) / kMiB) + " MiB";
  if (bytes >= kKiB) return Decimal(static_cast<double>(bytes) / kKiB) + " KiB";
  return std::to_string(bytes) + " B";
}

std::unique_ptr<Engine> OpenEngine(const GlobalOptions& global, int* exit_code,
                                   bool approve_on_tty, const KeptAcrossCalls* kept) {
  EngineOptions options;
  options.home = global.home;
  options.skill_roots = global.skill_roots;
  options.policy.file = global.policy_file;
  options.policy.project = true;  // ./.skillrt/policy.toml; the workspace is the cwd.
  if (approve_on_tty) {
    if (auto approver = TtyApprover()) {
      options.approver = std::move(*approver);
      options.approver_name = "tty";
    }
  }
  // One command, at most one run: a sandbox spawned ahead of need would only be killed at exit.
  options.native.keep_prepared_sandbox = false;
  // One call per process: the pooling allocator needs the instances of one call (a component
  // makes several), not the slots a server keeps for calls in parallel; each slot costs set-up.
  options.wasm.pool_instances = options.wasm.max_instances_per_call;
  options.wasm.prepared_calls = 0;  // No next call to set up for.
  options.watch_skill_roots = false;  // One call per process: nothing to watch for.
  if (kept != nullptr) {
    options.native_runtime = kept->native;
    options.wasm_runtime = kept->wasm;
    options.container_runtime = kept->container;
    options.kept_registries = kept->registries;
  }
  auto engine = Engine::Open(std::move(options));
  if (!engine) {
    PrintError(engine.error().message);
    *exit_code = ExitCodeFor(engine.error());
    return nullptr;
  }
  return std::move(*engine);
}

}  // namespace skillrt::cli
