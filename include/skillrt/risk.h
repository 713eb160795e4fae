// The command risk guard: a shell parser that turns an argv or a shell string into the
// simple commands it would run, a classifier that gives each a risk level with reasons, and
// the allowlist rule that every one of those commands must pass (docs/risk-guard.md).
//
// Everything here is a pure function of its arguments: no I/O, no global state, safe to call
// from any thread, never throws (an allocation failure is reported as an unparsable input).
#ifndef SKILLRT_RISK_H_
#define SKILLRT_RISK_H_

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"

namespace skillrt {

/// Inputs longer than this many bytes are unparsable.
inline constexpr size_t kMaxShellBytes = 64 * 1024;
/// Deeper nesting than this (substitutions, subshells, groups, wrappers, `sh -c` strings
/// inside each other) is unparsable.
inline constexpr int kMaxShellDepth = 32;

/// What joins a simple command to the one after it in the same list.
enum class Connector {
  kEnd,         ///< Last command of its list.
  kSequence,    ///< `;` or a newline.
  kBackground,  ///< `&`.
  kAnd,         ///< `&&`.
  kOr,          ///< `||`.
  kPipe,        ///< `|` or `|&`.
};

/// One redirection of a simple command, e.g. `2>&1`, `>> log`, `<<EOF`.
struct Redirection {
  int fd = -1;         ///< The explicit descriptor before the operator; -1 if none was written.
  std::string op;      ///< One of < > >> <> >| <& >& &> &>> << <<- <<<.
  std::string target;  ///< The target word; for `<<` and `<<-` the here-document's body.
};

/// Operands that the program running a command supplies at run time (find -exec, xargs):
/// the guard cannot read them, only bound them.
struct RunTimeOperands {
  /// The text replaced in argv: "{}" for find, the replace string of xargs -I. Empty when
  /// xargs appends the operands after the command's own words.
  std::string placeholder = {};
  /// find's starting points: each value is one of them or a path below one. Empty when a
  /// value can be any text (xargs input, find -files0-from).
  std::vector<std::string> roots = {};
  /// The command runs in the directory of each file found (find -execdir, -okdir).
  bool in_found_directory = false;
  /// find's -name pattern (or -iname's, with `name_ignores_case`) that every file reaching the
  /// command matches, when the tests before the action require one; empty when any file may
  /// reach it (no such test, or an operator such as -o or ! that can route files around it).
  std::string name_pattern = {};
  bool name_ignores_case = false;  ///< `name_pattern` is -iname's: case is ignored.
};

/// One simple command as the shell would run it, after quote removal. Words that contain
/// expansions keep their source spelling for those parts (`$HOME`, `${X}`, `$(...)`), so
/// `"$HOME"/x` reads `$HOME/x`.
struct SimpleCommand {
  std::vector<std::string> assignments;  ///< `NAME=value` words before the command name.
  std::vector<std::string> argv;         ///< Empty for a bare assignment or redirection.
  std::vector<Redirection> redirections;
  Connector next = Connector::kEnd;
  /// 0 for the top level; one more per enclosing substitution, subshell, group, function
  /// body, here-document or wrapper.
  int depth = 0;
  /// How the command was reached, outermost first, e.g. "sh -c > $(...)"; empty at the top.
  std::string context;
  /// Commands of one pipeline share this id (>= 0); -1 outside any multi-stage pipeline.
  /// A wrapped command (`curl x | sudo sh` -> sh) shares its wrapper's pipeline and stage.
  int pipeline = -1;
  int stage = 0;  ///< Position in the pipeline, 0 for the first.
  /// Set when find -exec or xargs runs the command (and for the commands it wraps in turn).
  std::optional<RunTimeOperands> run_time_operands = std::nullopt;
};

/// Everything a command line would run, in source order (a command's substitutions and
/// wrapped commands come right after it).
struct ParsedCommand {
  std::vector<SimpleCommand> commands;
  std::vector<std::string> functions;  ///< Names of shell functions the input defines.
};

/// Parses `script` with the POSIX shell grammar subset of docs/risk-guard.md (quotes,
/// escapes, lists, pipelines, redirections, here-documents, substitutions, subshells, groups,
/// function definitions) and unwraps wrappers (`sh -c`, `env`, `xargs`, `find -exec`, `sudo`,
/// ...). Errors: kParse, message "unparsable: <reason> at byte <offset>", for anything that
/// cannot be parsed with confidence: syntax errors, unterminated quotes or substitutions,
/// `eval`, an expansion as a command name, process substitution, arithmetic beyond numbers,
/// input over kMaxShellBytes, nesting over kMaxShellDepth.
Result<ParsedCommand> ParseShell(std::string_view script);

/// Treats `argv` as one already-split command (as execve(2) receives it) and unwraps its
/// wrappers, so `{"bash", "-c", "a && b"}` yields bash, a and b. Errors as for ParseShell.
Result<ParsedCommand> ParseArgv(const std::vector<std::string>& argv);

/// True when the single string `text` needs a shell to mean what it says: it contains
/// whitespace, quotes, or any of ; & | < > ( ) $ ` \ * ? [ { } ~ # or a newline.
bool LooksLikeShell(std::string_view text);

/// Risk levels, ordered.
enum class RiskLevel { kLow, kMedium, kHigh, kCritical };

/// Returns "low", "medium", "high" or "critical".
std::string_view RiskLevelName(RiskLevel level);

/// One rule that matched one simple command.
struct RiskReason {
  RiskLevel level = RiskLevel::kLow;
  std::string rule;     ///< Stable identifier, e.g. "rm-recursive-root".
  std::string reason;   ///< Human-readable, e.g. "recursive removal of / destroys the system".
  std::string command;  ///< The simple command it matched, words joined by spaces.
};

/// The overall level (the highest reason, kLow when there is none) and every reason.
struct RiskAssessment {
  RiskLevel level = RiskLevel::kLow;
  std::vector<RiskReason> reasons;
};

/// What the guard knows about the run a command line belongs to. Plain data; the engine fills
/// it from the run's plan (PlanRiskContext in src/engine/gatekeeper.h).
struct RiskContext {
  /// Host paths the run was granted: each of the plan's mounts as declared and as resolved
  /// (symbolic links followed), since a command may name either. Absolute paths, normalised
  /// lexically by the guard; a relative one is ignored. A removal whose worst reading is one
  /// of them, a directory above one, or all the contents of one is critical
  /// (docs/risk-guard.md, "Declared paths").
  std::vector<std::string> declared_paths = {};
  /// Script files, as the command line names them, whose contents the caller has read and
  /// assessed itself (the engine does so for a skill's own shell scripts): a shell running
  /// one of them does not run commands the guard cannot read (rule shell-script-unseen).
  std::vector<std::string> seen_scripts = {};
};

/// Classifies every simple command of `parsed` against the rule table of docs/risk-guard.md.
/// What cannot be resolved statically is rated at its worst reading: a path argument of a
/// removal (rm -r, find -delete, mv) that is a glob, an expansion, a run-time operand of
/// find -exec or xargs, or relative to a directory the line changes to is judged by the most
/// dangerous path it could name, among them the paths `context` declares; a shell whose
/// commands come from a file or an inherited stdin is critical. A static reading only: no file
/// system access, `context` is only compared as text (docs/risk-guard.md, "What the guard
/// promises, and what it cannot"). Borrows nothing past the call.
RiskAssessment AssessRisk(const ParsedCommand& parsed, const RiskContext& context);

/// AssessRisk without a context: no path is declared, so only `/`, the homes and the system
/// paths make a removal critical. For callers that know no run (a line checked on its own).
RiskAssessment AssessRisk(const ParsedCommand& parsed);

/// ParseShell then AssessRisk; an unparsable script is kCritical with rule "unparsable".
RiskAssessment AssessShellRisk(std::string_view script, const RiskContext& context);

/// AssessShellRisk without a context (see AssessRisk(const ParsedCommand&)).
RiskAssessment AssessShellRisk(std::string_view script);

/// The guard's verdict on one command line.
struct GuardVerdict {
  bool allowed = false;
  /// Why not, naming the first offending command and the rule, e.g. "command 'rm' (inside
  /// $(...)) is not allowed"; empty when allowed.
  std::string message;
  std::string offending_command;  ///< argv[0] of that command, when one is to blame.
  RiskAssessment risk;
};

/// Applies the allowlist rule: every simple command of `parsed` (including those inside
/// substitutions, subshells, pipelines and wrappers) must have its argv[0] in `allowed`
/// (exact string match); a command with no argv passes. Also refused: defining a shell
/// function (it can rebind an allowed name), assigning a variable that changes how commands
/// are found or loaded (PATH, LD_PRELOAD, ...), a shell reading its commands from a pipe,
/// and any kCritical risk, as AssessRisk(parsed, context) rates it.
GuardVerdict GuardCommands(const ParsedCommand& parsed, const std::vector<std::string>& allowed,
                           const RiskContext& context);

/// GuardCommands without a context (see AssessRisk(const ParsedCommand&)).
GuardVerdict GuardCommands(const ParsedCommand& parsed, const std::vector<std::string>& allowed);

}  // namespace skillrt

#endif  // SKILLRT_RISK_H_
