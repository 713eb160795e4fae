// The wrapper table: commands that run another command (env, nice, sudo, xargs, find -exec,
// sh -c, ...), how each names the command it runs, and why the guard follows it. The parser
// (shell_parse.cc) unwraps every row; the risk classifier reads the directory changes and
// find's starting points from here, so both read these tools the same way.
#ifndef SKILLRT_GATE_WRAPPERS_H_
#define SKILLRT_GATE_WRAPPERS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "gate/path_reading.h"
#include "gate/tool_options.h"
#include "skillrt/risk.h"

namespace skillrt::shell {

/// How a wrapper says which command it runs.
enum class WrapperKind {
  /// `NAME [options] [fixed operands] [NAME=value]... COMMAND [ARG]...`: env, nice, sudo, ...
  kCommand,
  /// A POSIX-like shell: `-c STRING [ARG0 [ARG]...]` is parsed as a script, a here-document
  /// or here-string on stdin is parsed, a script file or stdin cannot be read.
  kShell,
  /// `su [options] -c STRING`: the string is run by the target user's shell.
  kSuCommand,
  /// `watch [options] WORD...`: the words joined by spaces, run by `sh -c` (`-x`: as argv).
  kWatch,
  /// `find ... -exec COMMAND ... ;` (also -execdir, -ok, -okdir, and `+`): `{}` stands for
  /// each file found.
  kFind,
  /// `xargs [options] [COMMAND [ARG]...]`: operands read from stdin are appended, or
  /// replace the -I string.
  kXargs,
};

/// One row of the table.
struct Wrapper {
  std::string_view name = {};  ///< Matched against the base name of argv[0].
  WrapperKind kind = WrapperKind::kCommand;
  OptionSpec options = {};  ///< The wrapper's own options (unused for kShell and kFind).
  std::string_view reason = {};
  /// Operands between the options and the command (timeout's DURATION, taskset's MASK).
  size_t fixed_operands = 0;
  /// `NAME=value` words before the command set its environment (env, sudo).
  bool assignments = false;
  /// A lone "-" before the command is an option (env: the same as -i).
  bool dash_is_option = false;
  /// Leading `-N` / `--N` / `-+N` words are an adjustment (nice's obsolete form).
  bool numeric_options = false;
  /// Option keys, space-separated, after which no command runs (`command -v`, `sudo -e`).
  std::string_view no_command = {};
  /// Option keys, space-separated, whose meaning the guard cannot follow: unparsable
  /// (`env -S` splits a string into a new command line).
  std::string_view refused = {};
  /// The option key that sets the wrapped command's working directory (env -C, sudo -D).
  std::string_view chdir = {};
};

/// The row for `command` (by base name), or nullptr when it wraps nothing the guard follows.
const Wrapper* FindWrapper(std::string_view command);

/// Every row, in table order.
std::span<const Wrapper> Wrappers();

/// True when `key` is one of the space-separated keys in `list`.
bool KeyIn(std::string_view list, std::string_view key);

/// find(1)'s command line (GNU findutils "find [-H] [-L] [-P] [-D opts] [-Olevel]
/// [starting-point...] [expression]").
struct FindArgs {
  std::vector<std::string> roots = {};  ///< Starting points; "." when none is given.
  bool roots_from_file = false;    ///< `-files0-from`: starting points read at run time.
  size_t expression = 0;           ///< Index in argv of the first expression word.
};

/// Reads `argv` (argv[0] is find) as GNU find does.
FindArgs ReadFind(const std::vector<std::string>& argv);

/// The name test that every file reaching the action at `argv[action]` (-delete, -exec, ...)
/// passes: the first -name or -iname before it, from `argv[expression]` on, whose pattern does
/// not match every name, when everything before the action is a test, an option or an action
/// joined by "and" (findutils evaluates an expression left to right and stops at the first
/// false term of an "and"). nullopt when any file may reach the action: no such test, an
/// operator that can route files around it (`-o`, `-or`, `!`, `-not`, `,`, parentheses), or
/// only patterns that may match any name (wildcards and dots only: `*`, `.*`, `?*`; or an
/// expansion, whose value is unknown).
std::optional<path_reading::NameTest> FindNameFilter(const std::vector<std::string>& argv,
                                                     size_t expression, size_t action);

/// The directory `command` moves to: the shell's (`cd DIR`, `pushd DIR`; "~" for a bare `cd`,
/// "-" for `cd -`) or that of the command it wraps (`env -C DIR`, `sudo -D DIR`). nullopt
/// when it moves nowhere new (`popd`, `pushd` without a directory, any other command).
std::optional<std::string> DirectoryChangeOf(const SimpleCommand& command);

}  // namespace skillrt::shell

#endif  // SKILLRT_GATE_WRAPPERS_H_
