// The removal rules of the risk table: what `rm -r`, `find -delete` and `mv` take away, judged
// by the worst reading of each path (src/gate/path_reading.h), with the tools' options read as
// the tools read them (src/gate/tool_options.h): first against `/`, the homes and the system
// paths, then against the paths the run declared. Also the shells whose commands the guard
// cannot read at all. docs/risk-guard.md describes both.
#include <string>
#include <vector>

#include "gate/risk_view.h"
#include "gate/shell_parse.h"
#include "gate/wrappers.h"

namespace skillrt::risk {
namespace {

using path_reading::AnyPath;
using path_reading::Danger;
using path_reading::Reading;
using shell::LongOption;
using A = shell::OptionArg;

// rm(1), coreutils 9: "dfirvIR" and the long options below; any unique prefix of a long
// option is that option (`--recur` is --recursive, `--no-p` is --no-preserve-root).
constexpr LongOption kRmLong[] = {
    {"force", A::kNone, "f"},         {"interactive", A::kOptional},
    {"one-file-system", A::kNone},    {"no-preserve-root", A::kNone},
    {"preserve-root", A::kOptional},  {"recursive", A::kNone, "r"},
    {"dir", A::kNone, "d"},           {"verbose", A::kNone, "v"},
    {"help", A::kNone},               {"version", A::kNone}};
constexpr shell::OptionSpec kRm{.short_options = "dfirvIR", .long_options = kRmLong};

// The first path among `words` (and the operands xargs appends) whose worst reading is
// exactly `want`, as a detail; each path is reported under its worst class only.
std::optional<std::string> FirstOf(const View& v, const std::vector<std::string>& words,
                                   Danger want) {
  for (const std::string& word : words) {
    Reading r = v.Read(word);
    if (r.danger == want) return PathDetail(word, r);
  }
  if (v.AppendsOperands() && AnyPath().danger == want) {
    return PathDetail("operands from xargs input", AnyPath());
  }
  return std::nullopt;
}

struct Rm {
  bool recursive = false;
  shell::ReadOptionsResult options;
};

std::optional<Rm> ReadRm(const View& v) {
  if (!v.Is({"rm"})) return std::nullopt;
  Rm rm{.options = v.Options(kRm)};
  rm.recursive = rm.options.Has("r") || rm.options.Has("R");
  return rm;
}

std::optional<std::string> RmDanger(const View& v, Danger want) {
  std::optional<Rm> rm = ReadRm(v);
  if (!rm || !rm->recursive) return std::nullopt;
  return FirstOf(v, rm->options.operands, want);
}

// The first path among `words` whose worst reading is a declared path, a directory above one,
// or all the contents of one, as a detail. A path that can also be `/`, a home or a system
// path is left to those rules, which name its worst class.
std::optional<std::string> FirstDeclared(const View& v, const std::vector<std::string>& words) {
  for (const std::string& word : words) {
    if (v.Read(word).danger != Danger::kNone) continue;
    if (auto reading = v.ReadDeclared(word)) return DeclaredDetail(word, *reading);
  }
  return std::nullopt;
}

// The sources of `mv`: every operand with -t, otherwise all but the destination; with xargs
// appending operands, every operand written is a source too.
std::vector<std::string> MoveSources(const View& v, const shell::ReadOptionsResult& options) {
  std::vector<std::string> sources = options.operands;
  if (!options.Has("t") && !sources.empty() && !v.AppendsOperands()) sources.pop_back();
  return sources;
}

}  // namespace

std::optional<std::string> RmRoot(const View& v) { return RmDanger(v, Danger::kRoot); }
std::optional<std::string> RmHome(const View& v) { return RmDanger(v, Danger::kHome); }
std::optional<std::string> RmSystem(const View& v) { return RmDanger(v, Danger::kSystem); }

std::optional<std::string> RmDeclared(const View& v) {
  std::optional<Rm> rm = ReadRm(v);
  if (!rm || !rm->recursive) return std::nullopt;
  return FirstDeclared(v, rm->options.operands);
}

std::optional<std::string> RmNoPreserveRoot(const View& v) {
  std::optional<Rm> rm = ReadRm(v);
  if (rm && rm->options.Has("no-preserve-root")) return "--no-preserve-root";
  return std::nullopt;
}

std::optional<std::string> RmRecursiveForce(const View& v) {
  std::optional<Rm> rm = ReadRm(v);
  if (rm && rm->recursive && rm->options.Has("f")) return std::string();
  return std::nullopt;
}

// find -delete removes what it finds: a starting point and everything below it, at worst.
std::optional<std::string> FindDelete(const View& v) {
  if (!v.Is({"find"})) return std::nullopt;
  const std::vector<std::string>& argv = v.cmd().argv;
  const shell::FindArgs find = shell::ReadFind(argv);
  bool deletes = false;
  for (size_t i = find.expression; i < argv.size(); ++i) deletes = deletes || argv[i] == "-delete";
  if (!deletes) return std::nullopt;
  if (find.roots_from_file) return PathDetail("-files0-from", AnyPath());
  for (const std::string& root : find.roots) {
    Reading r = v.Read(root);
    if (r.danger == Danger::kNone) {
      r = path_reading::ReadPath(".", v.line_cwd().Below({root}));
      r.exact = false;
    }
    if (r.danger != Danger::kNone) return PathDetail(root, r);
  }
  return std::nullopt;
}

// find -delete below a declared path removes all of it, unless a -name test before -delete
// narrows what is removed: -delete removes a directory only once it is empty (it implies
// -depth, and rmdir(2) refuses a directory with entries), so a name that not every entry has
// leaves the declared directory standing.
std::optional<std::string> FindDeleteDeclared(const View& v) {
  if (!v.Is({"find"})) return std::nullopt;
  const std::vector<std::string>& argv = v.cmd().argv;
  const shell::FindArgs find = shell::ReadFind(argv);
  if (find.roots_from_file) return std::nullopt;  // Any path: find-delete-system.
  for (size_t i = find.expression; i < argv.size(); ++i) {
    if (argv[i] != "-delete" || shell::FindNameFilter(argv, find.expression, i)) continue;
    return FirstDeclared(v, find.roots);
  }
  return std::nullopt;
}

std::optional<std::string> MoveSystem(const View& v) {
  if (!v.Is({"mv"})) return std::nullopt;
  const std::vector<std::string> sources = MoveSources(v, v.Options(*CopyToolOptions("mv")));
  for (Danger want : {Danger::kRoot, Danger::kHome, Danger::kSystem}) {
    if (auto detail = FirstOf(v, sources, want)) return detail;
  }
  return std::nullopt;
}

std::optional<std::string> MoveDeclared(const View& v) {
  if (!v.Is({"mv"})) return std::nullopt;
  return FirstDeclared(v, MoveSources(v, v.Options(*CopyToolOptions("mv"))));
}

// A shell whose commands the parser cannot read: a script file (`sh x.sh`, `sh < x.sh`), its
// standard input as inherited (skillrt's own stdin at the start of a line, a pipe later),
// or a startup file named by BASH_ENV or ENV. Its worst reading is any command.
std::optional<std::string> ShellScriptUnseen(const View& v) {
  const SimpleCommand& cmd = v.cmd();
  for (const std::string& a : cmd.assignments) {
    if (shell::IsShell(cmd.argv.empty() ? "" : cmd.argv[0]) &&
        (a.starts_with("BASH_ENV=") || a.starts_with("ENV="))) {
      return a;
    }
  }
  switch (shell::SourceOf(cmd)) {
    case shell::ScriptSource::kFile: {
      size_t operand = shell::ShellScriptOperand(cmd);
      return operand < cmd.argv.size() ? cmd.argv[operand] : "a script file on standard input";
    }
    case shell::ScriptSource::kStdin:
      return cmd.stage > 0 ? "commands from a pipe" : "commands from standard input";
    case shell::ScriptSource::kNotAShell:
    case shell::ScriptSource::kString:
    case shell::ScriptSource::kHereDoc:
      break;
  }
  return std::nullopt;
}

}  // namespace skillrt::risk
