// The table of standard interpreters and the parsing of their command lines.
#include "skill/interpreters.h"

#include <array>

namespace skillrt::interpreters {
namespace {

constexpr std::array<std::string_view, 2> kPythonCommands = {"python3", "python"};
constexpr std::array<std::string_view, 1> kPythonExtensions = {".py"};
constexpr std::array<std::string_view, 2> kShellCommands = {"bash", "sh"};
constexpr std::array<std::string_view, 2> kShellExtensions = {".sh", ".bash"};
constexpr std::array<std::string_view, 1> kNodeCommands = {"node"};
constexpr std::array<std::string_view, 3> kNodeExtensions = {".js", ".mjs", ".cjs"};
constexpr std::array<std::string_view, 1> kRubyCommands = {"ruby"};
constexpr std::array<std::string_view, 1> kRubyExtensions = {".rb"};
constexpr std::array<std::string_view, 1> kPerlCommands = {"perl"};
constexpr std::array<std::string_view, 1> kPerlExtensions = {".pl"};

// Each row: an interpreter that runs a script file given as its first operand. Options are
// limited to those that cannot make it run anything but that file.
constexpr std::array<Family, 5> kFamilies = {{
    {.name = "python",
     .commands = kPythonCommands,
     .extensions = kPythonExtensions,
     // -u unbuffered, -B no .pyc, -E/-s/-S ignore environment and site paths (they only
     // remove places code is loaded from), -O optimise, -q quiet, -b bytes warnings. Not -I
     // or -P: they drop the working directory from sys.path, so `-m` would find another module.
     .flag_letters = "uBEsSOqb",
     .module_option = true,
     .why = "Python 3; `python` and `python3` are one family because SKILL.md files use both"},
    {.name = "shell",
     .commands = kShellCommands,
     .extensions = kShellExtensions,
     // -e exit on error, -u unset variables are errors, -x trace, -v echo input.
     .flag_letters = "euxv",
     .module_option = false,
     .why = "POSIX sh and bash running a shell script of the skill"},
    {.name = "node",
     .commands = kNodeCommands,
     .extensions = kNodeExtensions,
     .flag_letters = "",
     .module_option = false,
     .why = "Node.js running a JavaScript file of the skill"},
    {.name = "ruby",
     .commands = kRubyCommands,
     .extensions = kRubyExtensions,
     .flag_letters = "w",  // -w warnings.
     .module_option = false,
     .why = "Ruby running a script of the skill"},
    {.name = "perl",
     .commands = kPerlCommands,
     .extensions = kPerlExtensions,
     .flag_letters = "w",  // -w warnings.
     .module_option = false,
     .why = "Perl running a script of the skill"},
}};

std::string_view BaseName(std::string_view path) {
  std::size_t slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

bool IsStandardBinDir(std::string_view dir) {
  return dir == "/bin" || dir == "/usr/bin" || dir == "/usr/local/bin";
}

// The words of a shebang line after "#!", split on spaces and tabs.
std::vector<std::string_view> ShebangWords(std::string_view line) {
  std::vector<std::string_view> words;
  line.remove_prefix(2);
  while (!line.empty() && (line.back() == '\r' || line.back() == '\n')) line.remove_suffix(1);
  std::size_t pos = 0;
  while (pos < line.size()) {
    std::size_t begin = line.find_first_not_of(" \t", pos);
    if (begin == std::string_view::npos) break;
    std::size_t end = line.find_first_of(" \t", begin);
    if (end == std::string_view::npos) end = line.size();
    words.push_back(line.substr(begin, end - begin));
    pos = end;
  }
  return words;
}

}  // namespace

std::span<const Family> Families() { return kFamilies; }

const Family* FamilyOfCommand(std::string_view command) {
  for (const Family& family : kFamilies) {
    for (std::string_view name : family.commands) {
      if (name == command) return &family;
    }
  }
  return nullptr;
}

const Family* FamilyOfFile(std::string_view file) {
  std::string_view base = BaseName(file);
  std::size_t dot = base.rfind('.');
  if (dot == std::string_view::npos || dot == 0) return nullptr;
  std::string_view extension = base.substr(dot);
  for (const Family& family : kFamilies) {
    for (std::string_view e : family.extensions) {
      if (e == extension) return &family;
    }
  }
  return nullptr;
}

const Family* FamilyOfShebang(std::string_view line, std::string* command) {
  if (!line.starts_with("#!")) return nullptr;
  std::vector<std::string_view> words = ShebangWords(line);
  if (words.empty()) return nullptr;
  std::string_view interpreter = words[0];
  std::size_t slash = interpreter.rfind('/');
  if (slash == std::string_view::npos || !IsStandardBinDir(interpreter.substr(0, slash))) {
    return nullptr;
  }
  std::string_view name = interpreter.substr(slash + 1);
  if (name == "env") {
    std::size_t i = 1;
    if (i < words.size() && words[i] == "-S") ++i;
    if (i >= words.size() || words[i].find('/') != std::string_view::npos) return nullptr;
    name = words[i];
  }
  const Family* family = FamilyOfCommand(name);
  if (family != nullptr) *command = std::string(name);
  return family;
}

Operand FindOperand(const Family& family, const std::vector<std::string>& argv) {
  std::size_t i = 1;
  for (; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word == "--") {
      ++i;
      break;
    }
    if (word.size() < 2 || word[0] != '-') break;
    if (word == "-m" && family.module_option) {
      if (i + 1 >= argv.size()) return Operand{.why = "gives -m no module"};
      return Operand{.kind = Operand::Kind::kModule, .index = i + 1};
    }
    bool harmless = word[1] != '-';
    for (std::size_t k = 1; harmless && k < word.size(); ++k) {
      harmless = family.flag_letters.find(word[k]) != std::string_view::npos;
    }
    if (!harmless) {
      return Operand{.why = "uses the option '" + word +
                            "', which is not one that only changes how a file runs"};
    }
  }
  if (i >= argv.size()) return Operand{.why = "names no file to run"};
  if (argv[i] == "-") return Operand{.why = "reads the program from standard input"};
  return Operand{.kind = Operand::Kind::kFile, .index = i};
}

std::vector<std::string> ModuleFiles(std::string_view module) {
  std::string path;
  bool start = true;
  for (char c : module) {
    bool letter = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    bool digit = c >= '0' && c <= '9';
    if (c == '.') {
      if (start) return {};
      path += '/';
      start = true;
    } else if (letter || (digit && !start)) {
      path += c;
      start = false;
    } else {
      return {};
    }
  }
  if (start) return {};
  return {path + ".py", path + "/__main__.py"};
}

}  // namespace skillrt::interpreters
