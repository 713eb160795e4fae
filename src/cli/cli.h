// The skillrt command line: shared options, exit codes and printing helpers. The commands are
// thin clients of the Engine (include/skillrt/engine.h); docs/cli.md documents them.
#ifndef SKILLRT_CLI_CLI_H_
#define SKILLRT_CLI_CLI_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/outcome.h"

namespace CLI {
class App;
}  // namespace CLI

namespace skillrt::cli {

/// Process exit codes (docs/cli.md, "Exit codes").
enum ExitCode : int {
  kExitOk = 0,        ///< The skill ran and succeeded; or the command did what was asked.
  kExitFailed = 1,    ///< The skill exited non-zero or failed; `validate` found errors.
  kExitUsage = 2,     ///< Bad flags, bad input, unknown skill, invalid SKILL.md/skill.toml.
  kExitDenied = 3,    ///< Refused: the manifest does not grant what the call needs.
  kExitTimeout = 4,   ///< The wall-clock limit passed.
  kExitKilled = 5,    ///< Killed by a limit (memory, CPU, output, file size) or a signal.
  kExitAsk = 6,       ///< `policy check`: the policy would ask for approval.
  kExitInternal = 70, ///< skillrt itself failed: sandbox setup, I/O, missing feature (EX_SOFTWARE).
  kExitCancelled = 130,  ///< The run was cancelled (SIGINT or SIGTERM): 128 + SIGINT, as shells do.
};

/// Options that apply to every command.
struct GlobalOptions {
  std::vector<std::filesystem::path> skill_roots;  ///< `--skills DIR`, repeatable.
  std::filesystem::path home;                       ///< `--home DIR`; empty: default.
  bool quiet = false;                               ///< `-q`: no informational lines.
  /// `--policy FILE`: read instead of ./.skillrt/policy.toml (docs/policy.md).
  std::optional<std::filesystem::path> policy_file;
};

/// The grant flags (docs/grants.md): `--allow-command`, `--read`, `--write`, `--limit` (and,
/// for `grant` and `revoke`, `--python`). Each is repeatable.
struct GrantFlags {
  std::vector<std::string> commands;
  std::vector<std::string> read;   ///< Host paths; relative ones are taken from the cwd.
  std::vector<std::string> write;
  std::vector<std::string> python;
  std::vector<std::string> limits;  ///< `--limit KEY=VALUE`, manifest keys and units.
};

/// Adds the grant flags to `command`, which keeps pointers into `flags`.
void AddGrantFlags(CLI::App* command, GrantFlags* flags, bool with_python);

/// The Grants the flags name, paths made absolute against the current directory and
/// checked (CheckGrants). kInvalidArgument naming the flag at fault.
Result<Grants> GrantsFromFlags(const GrantFlags& flags);

/// Options shared by `run` and `exec`.
struct RunFlags {
  std::string skill;
  bool json = false;
  std::optional<double> timeout_seconds;  ///< `--timeout`, decimals allowed.
  std::optional<uint64_t> memory_mb;      ///< `--memory`, MiB.
  std::string sandbox = "strict";         ///< `--sandbox strict|best-effort`.
  GrantFlags grants;                      ///< Grants for this call only.
  std::optional<std::string> workspace;   ///< `--workspace DIR`, as typed.
};

/// `skillrt grant SKILL[@INSTANCE] ...`, `skillrt grant --list [SKILL]` and
/// `skillrt revoke SKILL[@INSTANCE] ... | --all`.
struct GrantCommandFlags {
  std::string selector;  ///< SKILL or SKILL@INSTANCE; empty with --list: every entry.
  GrantFlags grants;
  bool revoke = false;   ///< `revoke` rather than `grant`.
  bool all = false;      ///< `revoke --all`: drop the whole entry.
  bool list = false;     ///< `grant --list`.
  bool json = false;
};
int GrantCommand(const GlobalOptions& global, const GrantCommandFlags& command);

/// `skillrt prepare SKILL`.
struct PrepareFlags {
  std::string skill;
  std::string index_url;  ///< `--index-url`: instead of the grants file's [python] index_url.
  bool force = false;     ///< `--force`: install again and replace the environment.
  bool json = false;
};
int PrepareCommand(const GlobalOptions& global, const PrepareFlags& flags);

struct RunCommand {
  RunFlags flags;
  std::string input = "{}";  ///< `--input`: JSON text, `@FILE` or `-` (stdin).
};

struct ExecCommand {
  RunFlags flags;
  std::vector<std::string> argv;  ///< After `--`.
};

/// `skillrt install PATH`.
struct InstallFlags {
  std::string path;
  bool force = false;  ///< `--force`: replace an installed skill of the same name.
  bool lock = false;   ///< `--lock`: lock the installed skill too.
  bool prepare = true; ///< Prepare its dependencies (`--no-prepare` turns it off).
  bool json = false;
};

/// `skillrt lock [SKILL...]`.
struct LockFlags {
  std::vector<std::string> skills;  ///< Empty: every skill under the roots (or, with
                                    ///< --check, every locked skill).
  bool check = false;       ///< `--check`: report drift, change nothing.
  bool remove = false;      ///< `--remove`: drop the entries of the named skills.
  bool require = false;     ///< `--require`: unlocked skills are refused from now on.
  bool no_require = false;  ///< `--no-require`: unlocked skills may run again.
  bool json = false;
};

/// Prints "skillrt: <message>" as one line on stderr (newlines in `message` become spaces).
void PrintError(std::string_view message);

/// `message` with the library's names for options replaced by the CLI's flags ("the
/// wall_time override" becomes "--timeout"), so that errors speak of what the user typed.
std::string InCliTerms(std::string_view message);

/// The exit code for an Error that stopped a command.
int ExitCodeFor(const Error& error);

/// The exit code for a run's status.
int ExitCodeFor(Status status);

/// Sends the calling thread's WriteOut, WriteErr and PrintError to `out_fd` and `err_fd`
/// while it lives, then back to where they went before: the daemon writes each request's
/// output to its caller's stdout and stderr. Borrows both descriptors; not movable.
class ScopedOutput {
 public:
  ScopedOutput(int out_fd, int err_fd);
  ~ScopedOutput();
  ScopedOutput(const ScopedOutput&) = delete;
  ScopedOutput& operator=(const ScopedOutput&) = delete;

 private:
  int previous_out_;
  int previous_err_;
};

/// Writes `data` to stdout or stderr (or where ScopedOutput sends them) as raw bytes.
void WriteOut(std::string_view data);
void WriteErr(std::string_view data);

/// `value` as JSON text that never throws on invalid UTF-8 (bytes are replaced).
std::string Dump(const nlohmann::json& value, int indent = -1);

/// "30 s", "1.5 s", "250 ms".
std::string HumanDuration(std::chrono::milliseconds ms);

/// "256 MiB", "64 KiB", "512 B".
std::string HumanBytes(uint64_t bytes);

/// Opens the engine with the global options (policy: the user's, then `--policy FILE` or
/// ./.skillrt/policy.toml); prints the error and returns nullptr on failure. With
/// `approve_on_tty`, approval requests are put to the person at the controlling terminal
/// (TtyApprover); without a terminal there is no approver and asking calls are denied.
///
/// `kept`, when given, is what a long-lived process keeps across the engines it opens, one
/// per call (the daemon): the runtimes the engine runs skills on instead of making its own
/// (and their prepared sandboxes), and the registries whose catalogues outlive each engine.
/// Without it the engine is set up for one call in a short-lived process (no sandbox prepared
/// ahead, a WebAssembly pool sized for one call, the roots walked once, nothing watched).
struct KeptAcrossCalls {
  std::shared_ptr<Runtime> native;
  std::shared_ptr<Runtime> wasm;
  std::shared_ptr<Runtime> container;
  std::shared_ptr<KeptRegistries> registries;
};
std::unique_ptr<Engine> OpenEngine(const GlobalOptions& global, int* exit_code,
                                   bool approve_on_tty = false,
                                   const KeptAcrossCalls* kept = nullptr);

/// Cancels a run when something outside it says so: a signal (`skillrt exec` and `run`), the
/// caller's connection (the daemon). Watch is called once, as soon as the run has started;
/// the canceller may cancel it from any thread until it is destroyed.
class RunCanceller {
 public:
  virtual ~RunCanceller() = default;
  virtual void Watch(RunHandle handle) = 0;
};

/// `skillrt exec` on an engine the caller opened: the overrides read from `command.flags`
/// (relative paths against the current directory), `stdin_data` given to the command
/// (nullopt: none), the run handed to `canceller`, and what it produced printed (WriteOut,
/// WriteErr, PrintError) as `skillrt exec` prints it. Returns the process exit code.
int ExecOnEngine(Engine& engine, const GlobalOptions& global, const ExecCommand& command,
                 std::optional<std::string> stdin_data, RunCanceller& canceller);

/// `skillrt run` on an engine the caller opened, as ExecOnEngine, with the input parsed
/// (ParseRunInput). Returns the process exit code.
int RunOnEngine(Engine& engine, const GlobalOptions& global, const RunFlags& flags,
                nlohmann::json input, RunCanceller& canceller);

/// The input's JSON, parsed from `text`, the text that `--input FLAG` named (ReadInput).
/// Errors: kInvalidArgument naming the flag's source and the byte where the JSON breaks.
Result<nlohmann::json> ParseRunInput(std::string_view text, const std::string& flag);

/// The text `--input FLAG` names: FLAG itself, the contents of FILE for `@FILE`, or stdin
/// for `-`. Errors: kInvalidArgument when the file cannot be read, kIo when stdin cannot.
Result<std::string> ReadInput(const std::string& flag);

/// An approver that asks on the controlling terminal, /dev/tty, opened now (O_NOCTTY): never
/// stdin, so piped input cannot answer. Shows FormatApprovalPrompt, discards input typed
/// before the question (tcflush), and reads one line: y/yes (once), s/session, a/always,
/// n/no (deny), q/abort; anything else is asked again, up to three times, then denied; end
/// of input denies. nullopt when the process has no controlling terminal.
std::optional<ApprovalCallback> TtyApprover();

/// `skillrt policy check SKILL [-- ARGV...]`.
struct PolicyCheckCommand {
  std::string skill;
  GrantFlags grants;  ///< Grants for the checked call.
  std::vector<std::string> argv;  ///< After `--`: check `exec` of it; empty: check `run`.
  bool json = false;
  std::string sandbox = "strict";
};
int CheckPolicyCommand(const GlobalOptions& global, const PolicyCheckCommand& command);

/// `skillrt tools [SKILL...] --format openai|responses|anthropic|mcp [--json]`.
struct ToolsFlags {
  std::vector<std::string> skills;  ///< Only these (name or name@instance); empty: all.
  std::string format = "openai";
  bool json = false;
};
int ToolsCommand(const GlobalOptions& global, const ToolsFlags& flags);

/// `skillrt mcp [--http [--listen ADDR:PORT] [--token-ref REF]] ...` (docs/mcp.md).
struct McpFlags {
  bool http = false;                    ///< Streamable HTTP instead of stdio.
  std::string listen = "127.0.0.1:8765";  ///< `--listen ADDR:PORT`.
  std::string token_ref;                ///< `--token-ref env:NAME|file:PATH`.
  std::vector<std::string> allowed_origins;  ///< `--allow-origin`, beyond the loopback ones.
  std::vector<std::string> expose;      ///< `--expose SKILL`: also a tool of its own.
  size_t expose_all_max = 16;           ///< `--expose-all-max N`.
  size_t page_size = 0;                 ///< `--page-size N` of tools/list; 0: default.
  bool elicit_approvals = false;        ///< `--elicit-approvals`.
  std::string focus;                    ///< `--focus TEXT`: orders `instructions` by search.
  /// `--prepared-sandboxes N` (NativeRuntimeOptions::prepared_sandboxes).
  size_t prepared_sandboxes = 4;
};
int McpCommand(const GlobalOptions& global, const McpFlags& flags);

}  // namespace skillrt::cli
namespace skillrt::mcp {
class Server;
}  // namespace skillrt::mcp
namespace skillrt::cli {

/// `skillrt mcp --http`: serves `server` over Streamable HTTP (mcp_http_command.cc).
int McpHttpCommand(const GlobalOptions& global, const McpFlags& flags, mcp::Server& server);

/// The commands; each returns the process exit code.
int RunSkill(const GlobalOptions& global, const RunCommand& command);
int ExecInSkill(const GlobalOptions& global, const ExecCommand& command);
int ListSkills(const GlobalOptions& global, bool json);
int ShowInfo(const GlobalOptions& global, const std::string& skill, bool json);
int ValidatePaths(const GlobalOptions& global, const std::vector<std::string>& paths, bool json);
int InstallCommand(const GlobalOptions& global, const InstallFlags& flags);
int LockCommand(const GlobalOptions& global, const LockFlags& flags);

/// The `audit` command's subcommands (`tail`, `query`, `verify`; audit_commands.cc), added to
/// `audit` on construction, which keeps pointers into this object: it must outlive parsing.
class AuditCommands {
 public:
  explicit AuditCommands(CLI::App* audit);
  ~AuditCommands();
  AuditCommands(const AuditCommands&) = delete;
  AuditCommands& operator=(const AuditCommands&) = delete;

  /// The subcommands, to which the caller adds the global flags.
  std::vector<CLI::App*> subcommands() const;

  /// After parsing: runs the chosen subcommand and returns its exit code; nullopt if none
  /// was chosen.
  std::optional<int> Run(const GlobalOptions& global) const;

 private:
  struct Flags;
  std::unique_ptr<Flags> flags_;
  CLI::App* tail_ = nullptr;    // Owned by the parent App.
  CLI::App* query_ = nullptr;   // Owned by the parent App.
  CLI::App* verify_ = nullptr;  // Owned by the parent App.
};

}  // namespace skillrt::cli

#endif  // SKILLRT_CLI_CLI_H_
