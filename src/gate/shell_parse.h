// Helpers shared by the shell parser (shell_parse.cc), the risk classifier (risk.cc) and the
// allowlist rule (allowlist.cc). The parser itself is declared in include/skillrt/risk.h.
#ifndef SKILLRT_GATE_SHELL_PARSE_H_
#define SKILLRT_GATE_SHELL_PARSE_H_

#include <cstddef>
#include <string>
#include <string_view>

#include "skillrt/risk.h"

namespace skillrt::shell {

/// The last path component of `command`: "/usr/bin/env" -> "env", "rm" -> "rm".
std::string_view BaseName(std::string_view command);

/// True for the names of POSIX-like shells whose `-c` string the parser unwraps:
/// sh, bash, dash, zsh, ksh, mksh, ash, posh, yash (by base name).
bool IsShell(std::string_view command);

/// Where a shell command (IsShell(argv[0])) takes its commands from.
enum class ScriptSource {
  kNotAShell,  ///< argv[0] is not a shell.
  kString,     ///< `-c STRING`: parsed and unwrapped by the parser.
  kFile,       ///< A script file operand, or stdin redirected from a file.
  kHereDoc,    ///< A here-document or here-string on stdin: parsed by the parser.
  kStdin,      ///< Standard input as inherited: a pipe when the command is a later stage.
};

/// Classifies `command`'s script source from its options (`-c`, clustered as in `-lc`, and
/// options taking a value such as `-o NAME`), operands and stdin redirections.
ScriptSource SourceOf(const SimpleCommand& command);

/// The index in `command.argv` of a shell's script operand: the -c string or the script
/// file; argv.size() when there is none.
size_t ShellScriptOperand(const SimpleCommand& command);

/// True when the assignment `NAME=value` (or a bare NAME) sets a variable that changes which
/// program a name runs or what it loads: PATH, LD_PRELOAD, LD_LIBRARY_PATH, LD_AUDIT,
/// BASH_ENV, ENV, IFS, PROMPT_COMMAND, SHELLOPTS, BASHOPTS, PS4, PERL5OPT, NODE_OPTIONS,
/// PYTHONSTARTUP.
bool ChangesCommandLookup(std::string_view assignment);

/// The words of `command` joined by single spaces, for messages.
std::string JoinArgv(const SimpleCommand& command);

}  // namespace skillrt::shell

#endif  // SKILLRT_GATE_SHELL_PARSE_H_
