// Inferring the commands of a skill without skill.toml (docs/inference.md).
#include "skill/infer.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <string>

#include "gate/script_rule.h"
#include "gate/shell_parse.h"
#include "skill/interpreters.h"
#include "skillrt/risk.h"
#include "skillrt/fd.h"

namespace skillrt::infer {
namespace {

namespace fs = std::filesystem;
using interpreters::Family;

// Directories of installed packages and caches: what they hold is not the skill's own code.
constexpr std::array<std::string_view, 2> kSkippedDirs = {"node_modules", "__pycache__"};

// Fenced block languages whose every line is a command.
constexpr std::array<std::string_view, 4> kShellLanguages = {"bash", "sh", "shell", "zsh"};
// Fenced block languages that show a session: commands follow a `$ ` prompt, the rest is output.
constexpr std::array<std::string_view, 3> kSessionLanguages = {"console", "shell-session",
                                                               "terminal"};

// Shell builtins and keywords: not programs, so never something to grant or mention.
constexpr std::array<std::string_view, 17> kBuiltins = {
    "cd",  "export", "set",   "unset", "alias", "source", ".",     "exit",  "return",
    "pushd", "popd", "shift", "wait",  "read",  "local",  "declare", "true"};

// The longest shebang line read, in bytes.
constexpr std::size_t kMaxShebangBytes = 256;

class Collector {
 public:
  explicit Collector(const fs::path& dir) : dir_(dir) {}

  void Grant(const Family& family, const CommandSource& source) {
    for (std::string_view name : family.commands) Add(&out_.script_commands, name, source);
  }
  void Mention(std::string_view name, const CommandSource& source) {
    Add(&out_.mentioned_commands, name, source);
  }
  Commands Take() { return std::move(out_); }
  const fs::path& dir() const { return dir_; }

 private:
  static void Add(std::vector<InferredCommand>* list, std::string_view name,
                  const CommandSource& source) {
    auto it = std::find_if(list->begin(), list->end(),
                           [&](const InferredCommand& c) { return c.command == name; });
    if (it == list->end()) {
      if (list->size() >= kMaxCommands) return;
      list->push_back(InferredCommand{.command = std::string(name)});
      it = std::prev(list->end());
    }
    if (it->sources.size() < kMaxCommandSources &&
        std::find(it->sources.begin(), it->sources.end(), source) == it->sources.end()) {
      it->sources.push_back(source);
    }
  }

  fs::path dir_;
  Commands out_;
};

// The first line of the file at `path`, at most kMaxShebangBytes; empty if unreadable.
std::string FirstLine(const fs::path& path) {
  UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY | O_NOFOLLOW));
  if (!fd) return "";
  char buf[kMaxShebangBytes];
  ssize_t n;
  do {
    n = ::read(fd.get(), buf, sizeof buf);
  } while (n < 0 && errno == EINTR);
  if (n <= 0) return "";
  std::string_view text(buf, static_cast<std::size_t>(n));
  return std::string(text.substr(0, text.find('\n')));
}

// Scans the skill's files, depth-first in sorted order so sources come out the same each time.
void ScanFiles(const fs::path& dir, const fs::path& relative, int depth, std::size_t* seen,
               Collector* out) {
  if (depth > kMaxDepth) return;
  std::vector<fs::directory_entry> entries;
  std::error_code ec;
  for (fs::directory_iterator it(dir, ec); !ec && it != fs::directory_iterator();
       it.increment(ec)) {
    entries.push_back(*it);
  }
  std::sort(entries.begin(), entries.end(),
            [](const auto& a, const auto& b) { return a.path().filename() < b.path().filename(); });
  for (const fs::directory_entry& entry : entries) {
    if (++*seen > kMaxFiles) return;
    const std::string name = entry.path().filename().string();
    if (name.starts_with(".")) continue;
    struct stat st {};
    if (::lstat(entry.path().c_str(), &st) != 0 || S_ISLNK(st.st_mode)) continue;
    const fs::path rel = relative / name;
    if (S_ISDIR(st.st_mode)) {
      if (std::find(kSkippedDirs.begin(), kSkippedDirs.end(), name) != kSkippedDirs.end()) {
        continue;
      }
      ScanFiles(entry.path(), rel, depth + 1, seen, out);
      continue;
    }
    if (!S_ISREG(st.st_mode)) continue;
    if (const Family* family = interpreters::FamilyOfFile(name)) {
      std::string extension = name.substr(name.rfind('.'));
      out->Grant(*family, CommandSource{.file = rel, .line = 0, .text = "extension " + extension});
    } else if ((st.st_mode & S_IXUSR) != 0) {
      std::string line = FirstLine(entry.path());
      std::string command;
      if (const Family* by_shebang = interpreters::FamilyOfShebang(line, &command)) {
        out->Grant(*by_shebang, CommandSource{.file = rel, .line = 0, .text = line});
      }
    }
  }
}

// True when `operand`, as SKILL.md writes it, names a file of the skill: the path itself, or
// a tail of it after any prefix the reader fills in ("~/.claude/skills/x/", "{baseDir}/",
// "$SKILL_DIR/", "/path/to/skill/").
bool NamesSkillFile(std::string_view operand, const fs::path& dir) {
  if (operand.empty()) return false;
  if (SkillFileOf(operand, dir, kSandboxSkillDir)) return true;
  for (std::size_t slash = operand.find('/'); slash != std::string_view::npos;
       slash = operand.find('/', slash + 1)) {
    std::string_view tail = operand.substr(slash + 1);
    if (!tail.empty() && !tail.starts_with("/") && SkillFileOf(tail, dir, kSandboxSkillDir)) {
      return true;
    }
  }
  return false;
}

// True when `cmd` runs a file of the skill with the standard interpreter `family`.
bool RunsSkillFile(const Family& family, const SimpleCommand& cmd, const fs::path& dir) {
  interpreters::Operand operand = interpreters::FindOperand(family, cmd.argv);
  switch (operand.kind) {
    case interpreters::Operand::Kind::kFile:
      return NamesSkillFile(cmd.argv[operand.index], dir);
    case interpreters::Operand::Kind::kModule:
      for (const std::string& file : interpreters::ModuleFiles(cmd.argv[operand.index])) {
        if (SkillFileOf(file, dir, kSandboxSkillDir)) return true;
      }
      return false;
    case interpreters::Operand::Kind::kRefused:
      return false;
  }
  return false;
}

bool LooksLikeCommandName(std::string_view word) {
  if (word.empty() || word.size() > 128) return false;
  return std::all_of(word.begin(), word.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
           c == '+' || c == '/';
  });
}

// The first word of `line`, as far as the first blank.
std::string_view FirstWord(std::string_view line) {
  std::size_t begin = line.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return {};
  line.remove_prefix(begin);
  return line.substr(0, line.find_first_of(" \t"));
}

// Reads one command line found at SKILL.md line `line`. `any_command`: a shell block, where
// every command counts; otherwise only lines starting with an interpreter's name do.
void ReadCommandLine(std::string_view text, int line, bool any_command, Collector* out) {
  std::size_t begin = text.find_first_not_of(" \t");
  if (begin == std::string_view::npos) return;
  text.remove_prefix(begin);
  while (!text.empty() && (text.back() == ' ' || text.back() == '\t' || text.back() == '\r')) {
    text.remove_suffix(1);
  }
  if (text.empty() || text.starts_with("#")) return;
  if (!any_command && interpreters::FamilyOfCommand(FirstWord(text)) == nullptr) return;
  auto parsed = ParseShell(text);
  if (!parsed) return;
  const CommandSource source{.file = "SKILL.md", .line = line, .text = std::string(text)};
  for (const SimpleCommand& cmd : parsed->commands) {
    if (cmd.argv.empty()) continue;
    const std::string& name = cmd.argv[0];
    if (std::find(kBuiltins.begin(), kBuiltins.end(), name) != kBuiltins.end()) continue;
    if (!LooksLikeCommandName(name)) continue;
    const Family* family = interpreters::FamilyOfCommand(name);
    if (family != nullptr && RunsSkillFile(*family, cmd, out->dir())) {
      out->Grant(*family, source);
    } else if (any_command || family != nullptr) {
      out->Mention(name, source);
    }
  }
}

// The inline code spans of one Markdown line (CommonMark 6.1: a run of N backticks up to the
// next run of exactly N).
std::vector<std::string_view> CodeSpans(std::string_view line) {
  std::vector<std::string_view> spans;
  std::size_t pos = 0;
  while ((pos = line.find('`', pos)) != std::string_view::npos) {
    std::size_t run = line.find_first_not_of('`', pos);
    if (run == std::string_view::npos) break;
    std::size_t ticks = run - pos;
    std::size_t close = run;
    bool found = false;
    while ((close = line.find('`', close)) != std::string_view::npos) {
      std::size_t end = line.find_first_not_of('`', close);
      if (end == std::string_view::npos) end = line.size();
      if (end - close == ticks) {
        spans.push_back(line.substr(run, close - run));
        pos = end;
        found = true;
        break;
      }
      close = end;
    }
    if (!found) break;
  }
  return spans;
}

template <std::size_t N>
bool OneOf(const std::array<std::string_view, N>& list, std::string_view word) {
  return std::find(list.begin(), list.end(), word) != list.end();
}

// True when `trimmed` closes a fence of `len` `ch` characters: at least as many, then blanks.
bool ClosesFence(std::string_view trimmed, char ch, std::size_t len) {
  std::size_t run = trimmed.find_first_not_of(ch);
  if (run == std::string_view::npos) return trimmed.size() >= len;
  return run >= len && trimmed.substr(run).find_first_not_of(" \t") == std::string_view::npos;
}

// Walks the Markdown body: fenced code blocks (CommonMark 4.5) and inline code elsewhere.
void ScanBody(std::string_view body, int body_line, Collector* out) {
  enum class Block { kNone, kShell, kSession, kOther, kPlain };
  Block block = Block::kNone;
  char fence_char = 0;
  std::size_t fence_len = 0;
  std::string pending;  // A shell line continued with a trailing backslash.
  int pending_line = 0;
  int line_no = body_line - 1;
  std::size_t pos = 0;
  while (pos < body.size()) {
    std::size_t eol = body.find('\n', pos);
    if (eol == std::string_view::npos) eol = body.size();
    std::string_view line = body.substr(pos, eol - pos);
    pos = eol + 1;
    ++line_no;
    if (!line.empty() && line.back() == '\r') line.remove_suffix(1);
    std::size_t indent = line.find_first_not_of(' ');
    std::string_view trimmed = indent == std::string_view::npos ? "" : line.substr(indent);
    // Any indentation: fences inside list items are indented further than CommonMark's 3
    // spaces at the top level, and reading a line too many only finds more to show.
    const bool fence_line = trimmed.starts_with("```") || trimmed.starts_with("~~~");
    if (block == Block::kNone) {
      if (fence_line) {
        fence_char = trimmed[0];
        fence_len = trimmed.find_first_not_of(fence_char);
        if (fence_len == std::string_view::npos) fence_len = trimmed.size();
        std::string info(FirstWord(trimmed.substr(fence_len)));
        std::transform(info.begin(), info.end(), info.begin(),
                       [](unsigned char c) { return std::tolower(c); });
        block = OneOf(kShellLanguages, info)     ? Block::kShell
                : OneOf(kSessionLanguages, info) ? Block::kSession
                : info.empty()                   ? Block::kPlain
                                                 : Block::kOther;
        continue;
      }
      for (std::string_view span : CodeSpans(line)) ReadCommandLine(span, line_no, false, out);
      continue;
    }
    if (fence_line && ClosesFence(trimmed, fence_char, fence_len)) {
      if (!pending.empty()) ReadCommandLine(pending, pending_line, block == Block::kShell, out);
      pending.clear();
      block = Block::kNone;
      continue;
    }
    if (block == Block::kOther) continue;
    std::string_view text = line;
    if (block == Block::kSession) {
      std::string_view t = trimmed;
      if (!t.starts_with("$ ") && pending.empty()) continue;
      text = pending.empty() ? t.substr(2) : line;
    }
    if (pending.empty()) pending_line = line_no;
    if (!text.empty() && text.back() == '\\') {
      pending += std::string(text.substr(0, text.size() - 1)) + " ";
      continue;
    }
    pending += text;
    ReadCommandLine(pending, pending_line, block == Block::kShell || block == Block::kSession,
                    out);
    pending.clear();
  }
}

}  // namespace

Commands InferCommands(const fs::path& dir, std::string_view body, int body_line) {
  Collector out(dir);
  std::size_t seen = 0;
  ScanFiles(dir, fs::path(), 1, &seen, &out);
  ScanBody(body, body_line, &out);
  return out.Take();
}

}  // namespace skillrt::infer
