// The questions the risk rules ask of one simple command, and the rules that live outside
// risk.cc (the removal rules of risk_removal.cc). The rule table itself is kRules in risk.cc.
#ifndef SKILLRT_GATE_RISK_VIEW_H_
#define SKILLRT_GATE_RISK_VIEW_H_

#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "gate/path_reading.h"
#include "gate/tool_options.h"
#include "skillrt/risk.h"

namespace skillrt::risk {

/// One simple command of a parsed command line, with the directories it may run in and the
/// paths its run declared. Borrows `cmd`, `parsed`, `line_cwd` and `declared`, which must
/// outlive it.
class View {
 public:
  View(const SimpleCommand& cmd, const ParsedCommand& parsed,
       const path_reading::WorkingDirectories& line_cwd,
       const path_reading::DeclaredPaths& declared);

  const SimpleCommand& cmd() const { return cmd_; }
  const ParsedCommand& parsed() const { return parsed_; }
  /// The base name of argv[0]; empty for a command without argv.
  std::string_view name() const { return name_; }
  bool Is(std::initializer_list<std::string_view> names) const;
  /// argv without argv[0].
  std::vector<std::string> Args() const;
  /// Words that do not start with '-' (every word after "--"). For tools without an
  /// OptionSpec; those with one use Options().
  std::vector<std::string> Operands() const;
  /// True when a short option cluster (-rf) holds `c` or a word equals `long_name`.
  bool Flag(char c, std::string_view long_name = {}) const;
  bool HasArg(std::string_view word) const;
  /// The arguments read as the tool reads them (src/gate/tool_options.h).
  shell::ReadOptionsResult Options(const shell::OptionSpec& spec) const;
  /// Files the command writes: output redirection targets, and the destinations of commands
  /// that copy or edit files.
  std::vector<std::string> WriteTargets() const;

  /// What the argument `word` can name when the command runs: read from the directories the
  /// command may be in; a run-time placeholder (`{}` of find -exec, xargs -I) is each file
  /// found below find's starting points, or any path.
  path_reading::Reading Read(std::string_view word,
                             path_reading::Mode mode = path_reading::Mode::kWorst) const;
  /// The declared path the argument `word` can be, hold or empty at its worst reading (see
  /// Read); a run-time placeholder is each file found, narrowed by find's -name test.
  std::optional<path_reading::DeclaredReading> ReadDeclared(std::string_view word) const;
  /// True when xargs appends operands read from its input to this command.
  bool AppendsOperands() const;
  /// The directories the command line may be in (before find -execdir moves).
  const path_reading::WorkingDirectories& line_cwd() const { return line_cwd_; }

 private:
  const SimpleCommand& cmd_;
  const ParsedCommand& parsed_;
  const path_reading::WorkingDirectories& line_cwd_;
  const path_reading::DeclaredPaths& declared_;
  path_reading::WorkingDirectories cwd_;  // Where this command runs.
  std::string name_;
};

/// The detail shown for a path: "WORD" when the word names the path as written, otherwise
/// "WORD' could name 'WITNESS" (the reason wraps the detail in quotes).
std::string PathDetail(std::string_view word, const path_reading::Reading& reading);

/// The detail shown for a declared path: as PathDetail, then "', which holds the declared
/// 'PATH" for a directory above it or "', all of the declared 'PATH" for its contents.
std::string DeclaredDetail(std::string_view word, const path_reading::DeclaredReading& reading);

/// The options of cp, mv, ln or install (whose destination is their last operand or the
/// value of -t), or nullptr for another name.
const shell::OptionSpec* CopyToolOptions(std::string_view name);

/// A matcher returns the detail to show (a path, an option) when its rule matches.
using Match = std::optional<std::string> (*)(const View&);

// The removal rules (risk_removal.cc): recursive removal, find -delete, moving away, each
// by the worst reading of its paths; and shells whose commands the guard cannot read.
std::optional<std::string> RmRoot(const View& v);
std::optional<std::string> RmHome(const View& v);
std::optional<std::string> RmSystem(const View& v);
std::optional<std::string> RmDeclared(const View& v);
std::optional<std::string> FindDeleteDeclared(const View& v);
std::optional<std::string> MoveDeclared(const View& v);
std::optional<std::string> RmNoPreserveRoot(const View& v);
std::optional<std::string> RmRecursiveForce(const View& v);
std::optional<std::string> FindDelete(const View& v);
std::optional<std::string> MoveSystem(const View& v);
std::optional<std::string> ShellScriptUnseen(const View& v);

}  // namespace skillrt::risk

#endif  // SKILLRT_GATE_RISK_VIEW_H_
