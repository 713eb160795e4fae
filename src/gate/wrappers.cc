// The wrapper table (src/gate/wrappers.h). Option specs follow each tool's own getopt_long
// call: coreutils 9 (env, nice, nohup, timeout, stdbuf), util-linux 2.39 (setsid, ionice,
// taskset, su), sudo 1.9, OpenDoas 6.8, findutils 4.9, procps-ng 4 (watch), bash 5.2
// builtins (command, exec, builtin, time).
#include "gate/wrappers.h"

#include <algorithm>
#include <array>

#include "gate/shell_parse.h"

namespace skillrt::shell {
namespace {

using A = OptionArg;

constexpr LongOption kEnvLong[] = {
    {"ignore-environment", A::kNone, "i"}, {"null", A::kNone, "0"},
    {"unset", A::kRequired, "u"},          {"chdir", A::kRequired, "C"},
    {"split-string", A::kRequired, "S"},   {"debug", A::kNone, "v"},
    {"argv0", A::kRequired, "a"},          {"block-signal", A::kOptional},
    {"default-signal", A::kOptional},      {"ignore-signal", A::kOptional},
    {"list-signal-handling", A::kNone},    {"help", A::kNone},
    {"version", A::kNone},
};
constexpr LongOption kNiceLong[] = {
    {"adjustment", A::kRequired, "n"}, {"help", A::kNone}, {"version", A::kNone}};
constexpr LongOption kHelpVersion[] = {{"help", A::kNone}, {"version", A::kNone}};
constexpr LongOption kTimeoutLong[] = {
    {"foreground", A::kNone, "f"},  {"kill-after", A::kRequired, "k"},
    {"preserve-status", A::kNone, "p"}, {"signal", A::kRequired, "s"},
    {"verbose", A::kNone, "v"},     {"help", A::kNone}, {"version", A::kNone}};
constexpr LongOption kStdbufLong[] = {{"input", A::kRequired, "i"},
                                      {"output", A::kRequired, "o"},
                                      {"error", A::kRequired, "e"},
                                      {"help", A::kNone},
                                      {"version", A::kNone}};
constexpr LongOption kSetsidLong[] = {{"ctty", A::kNone, "c"}, {"fork", A::kNone, "f"},
                                      {"wait", A::kNone, "w"}, {"help", A::kNone, "h"},
                                      {"version", A::kNone, "V"}};
constexpr LongOption kIoniceLong[] = {
    {"class", A::kRequired, "c"}, {"classdata", A::kRequired, "n"}, {"pid", A::kRequired, "p"},
    {"pgid", A::kRequired, "P"},  {"ignore", A::kNone, "t"},        {"uid", A::kRequired, "u"},
    {"help", A::kNone, "h"},      {"version", A::kNone, "V"}};
constexpr LongOption kTasksetLong[] = {{"all-tasks", A::kNone, "a"}, {"cpu-list", A::kNone, "c"},
                                       {"pid", A::kNone, "p"},       {"help", A::kNone, "h"},
                                       {"version", A::kNone, "V"}};
constexpr LongOption kSudoLong[] = {
    {"askpass", A::kNone, "A"},         {"auth-type", A::kRequired, "a"},
    {"background", A::kNone, "b"},      {"bell", A::kNone, "B"},
    {"close-from", A::kRequired, "C"},  {"login-class", A::kRequired, "c"},
    {"chdir", A::kRequired, "D"},       {"preserve-env", A::kOptional, "E"},
    {"edit", A::kNone, "e"},            {"group", A::kRequired, "g"},
    {"set-home", A::kNone, "H"},        {"help", A::kNone, "h"},
    {"host", A::kRequired},             {"login", A::kNone, "i"},
    {"remove-timestamp", A::kNone, "K"}, {"reset-timestamp", A::kNone, "k"},
    {"list", A::kNone, "l"},            {"no-update", A::kNone, "N"},
    {"non-interactive", A::kNone, "n"}, {"preserve-groups", A::kNone, "P"},
    {"prompt", A::kRequired, "p"},      {"chroot", A::kRequired, "R"},
    {"role", A::kRequired, "r"},        {"stdin", A::kNone, "S"},
    {"shell", A::kNone, "s"},           {"command-timeout", A::kRequired, "T"},
    {"type", A::kRequired, "t"},        {"other-user", A::kRequired, "U"},
    {"user", A::kRequired, "u"},        {"version", A::kNone, "V"},
    {"validate", A::kNone, "v"}};
constexpr LongOption kTimeLong[] = {{"format", A::kRequired, "f"}, {"output", A::kRequired, "o"},
                                    {"append", A::kNone, "a"},     {"portability", A::kNone, "p"},
                                    {"quiet", A::kNone, "q"},      {"verbose", A::kNone, "v"},
                                    {"help", A::kNone},            {"version", A::kNone, "V"}};
constexpr LongOption kBusyboxLong[] = {{"list", A::kNone},    {"list-full", A::kNone},
                                       {"install", A::kNone}, {"help", A::kNone}};
constexpr LongOption kSuLong[] = {
    {"command", A::kRequired, "c"},   {"session-command", A::kRequired, "c"},
    {"fast", A::kNone, "f"},          {"group", A::kRequired, "g"},
    {"supp-group", A::kRequired, "G"}, {"login", A::kNone, "l"},
    {"preserve-environment", A::kNone, "m"}, {"pty", A::kNone, "P"},
    {"shell", A::kRequired, "s"},     {"whitelist-environment", A::kRequired, "w"},
    {"help", A::kNone, "h"},          {"version", A::kNone, "V"}};
constexpr LongOption kWatchLong[] = {
    {"beep", A::kNone, "b"},       {"color", A::kNone, "c"},     {"no-color", A::kNone, "C"},
    {"differences", A::kOptional, "d"}, {"errexit", A::kNone, "e"}, {"chgexit", A::kNone, "g"},
    {"equexit", A::kRequired, "q"}, {"exec", A::kNone, "x"},     {"help", A::kNone, "h"},
    {"interval", A::kRequired, "n"}, {"no-rerun", A::kNone, "r"}, {"no-title", A::kNone, "t"},
    {"no-wrap", A::kNone, "w"},    {"precise", A::kNone, "p"},   {"version", A::kNone, "v"}};
constexpr LongOption kXargsLong[] = {
    {"null", A::kNone, "0"},          {"arg-file", A::kRequired, "a"},
    {"delimiter", A::kRequired, "d"}, {"eof", A::kOptional, "e"},
    {"replace", A::kOptional, "i"},   {"max-lines", A::kOptional, "l"},
    {"max-args", A::kRequired, "n"},  {"open-tty", A::kNone, "o"},
    {"max-procs", A::kRequired, "P"}, {"interactive", A::kNone, "p"},
    {"no-run-if-empty", A::kNone, "r"}, {"max-chars", A::kRequired, "s"},
    {"verbose", A::kNone, "t"},       {"exit", A::kNone, "x"},
    {"show-limits", A::kNone},        {"process-slot-var", A::kRequired},
    {"help", A::kNone},               {"version", A::kNone}};

constexpr std::span<const LongOption> kNoLong;

constexpr OptionSpec Stop(std::string_view short_options,
                          std::span<const LongOption> long_options = kNoLong) {
  return OptionSpec{.short_options = short_options, .long_options = long_options,
                    .stop_at_operand = true};
}

constexpr std::string_view kShellReason =
    "a shell: its -c string, here-document or here-string is a script of its own";

// Each row says why the guard must look through it: the command it runs is what matters.
constexpr Wrapper kWrappers[] = {
    {.name = "sh", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "bash", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "dash", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "zsh", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "ksh", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "mksh", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "ash", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "posh", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "yash", .kind = WrapperKind::kShell, .reason = kShellReason},
    {.name = "env",
     .kind = WrapperKind::kCommand,
     .options = Stop("+a:C:iS:u:v0", kEnvLong),
     .reason = "runs COMMAND with a changed environment or directory (env(1))",
     .assignments = true,
     .dash_is_option = true,
     .refused = "S",
     .chdir = "C"},
    {.name = "nice",
     .kind = WrapperKind::kCommand,
     .options = Stop("+n:", kNiceLong),
     .reason = "runs COMMAND at another scheduling priority (nice(1))",
     .numeric_options = true},
    {.name = "nohup",
     .kind = WrapperKind::kCommand,
     .options = Stop("+", kHelpVersion),
     .reason = "runs COMMAND immune to hangups (nohup(1))"},
    {.name = "timeout",
     .kind = WrapperKind::kCommand,
     .options = Stop("+fk:ps:v", kTimeoutLong),
     .reason = "runs COMMAND with a time limit (timeout(1)); DURATION comes first",
     .fixed_operands = 1},
    {.name = "stdbuf",
     .kind = WrapperKind::kCommand,
     .options = Stop("+i:o:e:", kStdbufLong),
     .reason = "runs COMMAND with changed stream buffering (stdbuf(1))"},
    {.name = "setsid",
     .kind = WrapperKind::kCommand,
     .options = Stop("+cfwhV", kSetsidLong),
     .reason = "runs COMMAND in a new session (setsid(1))",
     .no_command = "h V"},
    {.name = "ionice",
     .kind = WrapperKind::kCommand,
     .options = Stop("+c:n:p:P:tu:hV", kIoniceLong),
     .reason = "runs COMMAND in another I/O scheduling class (ionice(1)); -p/-P/-u name "
               "existing processes instead",
     .no_command = "p P u h V"},
    {.name = "taskset",
     .kind = WrapperKind::kCommand,
     .options = Stop("+acphV", kTasksetLong),
     .reason = "runs COMMAND on a CPU set (taskset(1)); MASK comes first, -p names a process",
     .fixed_operands = 1,
     .no_command = "p h V"},
    {.name = "sudo",
     .kind = WrapperKind::kCommand,
     .options = Stop("+Aa:BbC:c:D:Eeg:Hh::iKklNnPp:R:r:SsT:t:U:u:Vv", kSudoLong),
     .reason = "runs COMMAND as another user (sudo(8)); -e edits files, -l lists, -v validates",
     .assignments = true,
     .no_command = "e l K V v h",
     .chdir = "D"},
    {.name = "doas",
     .kind = WrapperKind::kCommand,
     .options = Stop("+a:C:Lnsu:"),
     .reason = "runs COMMAND as another user (doas(1)); -C checks a config, -L clears",
     .no_command = "C L"},
    {.name = "command",
     .kind = WrapperKind::kCommand,
     .options = Stop("+pvV"),
     .reason = "runs COMMAND bypassing functions (bash command); -v/-V only look it up",
     .no_command = "v V"},
    {.name = "exec",
     .kind = WrapperKind::kCommand,
     .options = Stop("+a:cl"),
     .reason = "replaces the shell with COMMAND (bash exec)"},
    {.name = "builtin",
     .kind = WrapperKind::kCommand,
     .options = Stop("+"),
     .reason = "runs a shell builtin (bash builtin)"},
    {.name = "time",
     .kind = WrapperKind::kCommand,
     .options = Stop("+f:o:apqvV", kTimeLong),
     .reason = "runs COMMAND and reports its resource use (time(1), bash time)"},
    {.name = "busybox",
     .kind = WrapperKind::kCommand,
     .options = Stop("+", kBusyboxLong),
     .reason = "runs the applet its first operand names (busybox(1))"},
    {.name = "su",
     .kind = WrapperKind::kSuCommand,
     .options = OptionSpec{.short_options = "c:fg:G:lmpPs:hVw:", .long_options = kSuLong},
     .reason = "runs the -c string as another user through that user's shell (su(1))"},
    {.name = "watch",
     .kind = WrapperKind::kWatch,
     .options = Stop("+bcCd::eghn:pq:rtvwx", kWatchLong),
     .reason = "runs its operands again and again through sh -c (watch(1)); -x: as argv"},
    {.name = "find",
     .kind = WrapperKind::kFind,
     .reason = "runs the command of each -exec, -execdir, -ok, -okdir on what it finds "
               "(find(1))"},
    {.name = "xargs",
     .kind = WrapperKind::kXargs,
     .options = Stop("+0a:d:E:e::I:i::L:l::n:oP:prs:tx", kXargsLong),
     .reason = "runs COMMAND with operands read from its input (xargs(1))"},
};

}  // namespace

bool KeyIn(std::string_view list, std::string_view key) {
  while (!list.empty()) {
    size_t space = list.find(' ');
    if (list.substr(0, space) == key) return true;
    if (space == std::string_view::npos) break;
    list.remove_prefix(space + 1);
  }
  return false;
}

const Wrapper* FindWrapper(std::string_view command) {
  std::string_view base = BaseName(command);
  for (const Wrapper& w : kWrappers) {
    if (w.name == base) return &w;
  }
  return nullptr;
}

std::span<const Wrapper> Wrappers() { return kWrappers; }

FindArgs ReadFind(const std::vector<std::string>& argv) {
  FindArgs out;
  size_t i = 1;
  // Leading options (findutils find/util.c process_leading_options): each a word of its own.
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "-H" || a == "-L" || a == "-P") continue;
    if (a == "-D") {
      ++i;
      continue;
    }
    if (a.starts_with("-O")) continue;
    if (a == "--") ++i;
    break;
  }
  // Starting points run up to the first word that looks like an expression: one that starts
  // with '-' (and is not just "-"), or "(" or "!" (findutils looks_like_expression).
  for (; i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if ((a.size() > 1 && a[0] == '-') || a == "(" || a == "!") break;
    out.roots.push_back(a);
  }
  out.expression = i;
  for (size_t k = i; k < argv.size(); ++k) {
    if (argv[k] == "-files0-from") out.roots_from_file = true;
  }
  if (out.roots_from_file) {
    out.roots.clear();
  } else if (out.roots.empty()) {
    out.roots.push_back(".");
  }
  return out;
}

namespace {

// find's primaries that take one argument (findutils 4.9 find/parser.c parse_table).
constexpr std::string_view kFindUnary[] = {
    "-amin", "-anewer", "-atime", "-cmin", "-cnewer", "-context", "-ctime", "-files0-from", "-fls",
    "-fprint", "-fprint0", "-fstype", "-gid", "-group", "-ilname", "-iname", "-inum", "-ipath",
    "-iregex", "-iwholename", "-links", "-lname", "-maxdepth", "-mindepth", "-mmin", "-mtime",
    "-name", "-newer", "-path", "-perm", "-printf", "-regex", "-regextype", "-samefile", "-size",
    "-type", "-uid", "-used", "-user", "-wholename", "-xtype"};

// How many argument words follow the primary `word`: -fprintf takes two, -newerXY (any
// "-newer" with two letters after it) one.
size_t FindArgumentCount(std::string_view word) {
  if (word == "-fprintf") return 2;
  if (word.starts_with("-newer") && word.size() == 8) return 1;  // -newerXY.
  for (std::string_view p : kFindUnary) {
    if (word == p) return 1;
  }
  return 0;
}

// A -name pattern that may match any name: nothing but wildcards, bracket expressions and
// dots, as a shell's "contents" pattern; or an expansion, whose value is unknown.
bool MayMatchEveryName(std::string_view pattern) {
  if (pattern.find_first_of("$`") != std::string_view::npos) return true;
  bool wildcard = false;
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '*' || c == '?') {
      wildcard = true;
    } else if (c == '[') {
      size_t end = pattern.find(']', i + 2);
      if (end == std::string_view::npos) return false;
      i = end;
      wildcard = true;
    } else if (c != '.') {
      return false;
    }
  }
  return wildcard;
}

}  // namespace

std::optional<path_reading::NameTest> FindNameFilter(const std::vector<std::string>& argv,
                                                     size_t expression, size_t action) {
  std::optional<path_reading::NameTest> found;
  for (size_t i = expression; i < action && i < argv.size(); ++i) {
    const std::string& a = argv[i];
    if (a == "(" || a == ")" || a == "!" || a == "-not" || a == "-o" || a == "-or" ||
        a == ",") {
      return std::nullopt;
    }
    if (a == "-exec" || a == "-execdir" || a == "-ok" || a == "-okdir") {
      while (i + 1 < action && argv[i + 1] != ";" && argv[i + 1] != "+") ++i;
      ++i;  // The terminator.
      continue;
    }
    if ((a == "-name" || a == "-iname") && i + 1 < action && !found &&
        !MayMatchEveryName(argv[i + 1])) {
      found = path_reading::NameTest{.pattern = argv[i + 1], .ignore_case = a == "-iname"};
    }
    i += FindArgumentCount(a);
  }
  return found;
}

std::optional<std::string> DirectoryChangeOf(const SimpleCommand& command) {
  if (command.argv.empty()) return std::nullopt;
  const std::string_view name = BaseName(command.argv[0]);
  std::span<const std::string> args = std::span(command.argv).subspan(1);
  if (name == "cd" || name == "pushd") {
    // cd [-L|-P [-e]] [-@] [dir]; pushd [-n] [+N | -N | dir] (bash builtins).
    size_t i = 0;
    while (i < args.size() && args[i].size() > 1 && args[i][0] == '-' &&
           args[i].find_first_not_of("-LPe@n") == std::string::npos) {
      if (args[i] == "--") {
        ++i;
        break;
      }
      ++i;
    }
    if (i >= args.size()) return name == "cd" ? std::optional<std::string>("~") : std::nullopt;
    const std::string& dir = args[i];
    if (name == "pushd" && dir.size() > 1 && (dir[0] == '+' || dir[0] == '-') &&
        dir.find_first_not_of("0123456789", 1) == std::string::npos) {
      return std::nullopt;  // Rotates the stack: directories already visited.
    }
    return dir;
  }
  const Wrapper* w = FindWrapper(name);
  if (w == nullptr || w->chdir.empty()) return std::nullopt;
  return ReadOptions(args, w->options).Value(w->chdir);
}

}  // namespace skillrt::shell
