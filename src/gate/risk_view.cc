// The questions the risk rules ask of one simple command (src/gate/risk_view.h).
#include "gate/risk_view.h"

#include <algorithm>

#include "gate/shell_parse.h"

namespace skillrt::risk {
namespace {

using path_reading::AnyPath;
using path_reading::Mode;
using path_reading::Reading;
using path_reading::WorkingDirectories;
using shell::LongOption;
using shell::OptionSpec;
using A = shell::OptionArg;

// Copying tools whose destination is their last operand, or the -t DIRECTORY value
// (coreutils 9 cp(1), mv(1), ln(1), install(1)).
constexpr LongOption kCpLong[] = {
    {"archive", A::kNone, "a"},         {"attributes-only", A::kNone},
    {"backup", A::kOptional, "b"},      {"copy-contents", A::kNone},
    {"debug", A::kNone},                {"dereference", A::kNone, "L"},
    {"force", A::kNone, "f"},           {"interactive", A::kNone, "i"},
    {"link", A::kNone, "l"},            {"no-clobber", A::kNone, "n"},
    {"no-dereference", A::kNone, "P"},  {"no-preserve", A::kRequired},
    {"no-target-directory", A::kNone, "T"}, {"one-file-system", A::kNone, "x"},
    {"parents", A::kNone},              {"preserve", A::kOptional},
    {"recursive", A::kNone, "r"},       {"reflink", A::kOptional},
    {"remove-destination", A::kNone},   {"sparse", A::kRequired},
    {"strip-trailing-slashes", A::kNone}, {"suffix", A::kRequired, "S"},
    {"symbolic-link", A::kNone, "s"},   {"target-directory", A::kRequired, "t"},
    {"update", A::kOptional, "u"},      {"verbose", A::kNone, "v"},
    {"keep-directory-symlink", A::kNone}, {"context", A::kOptional, "Z"},
    {"help", A::kNone},                 {"version", A::kNone}};
constexpr LongOption kMvLong[] = {
    {"backup", A::kOptional, "b"},      {"context", A::kNone, "Z"},
    {"debug", A::kNone},                {"exchange", A::kNone},
    {"force", A::kNone, "f"},           {"interactive", A::kNone, "i"},
    {"no-clobber", A::kNone, "n"},      {"no-copy", A::kNone},
    {"no-target-directory", A::kNone, "T"}, {"strip-trailing-slashes", A::kNone},
    {"suffix", A::kRequired, "S"},      {"target-directory", A::kRequired, "t"},
    {"update", A::kOptional, "u"},      {"verbose", A::kNone, "v"},
    {"help", A::kNone},                 {"version", A::kNone}};
constexpr LongOption kLnLong[] = {
    {"backup", A::kOptional, "b"},      {"directory", A::kNone, "d"},
    {"force", A::kNone, "f"},           {"interactive", A::kNone, "i"},
    {"logical", A::kNone, "L"},         {"no-dereference", A::kNone, "n"},
    {"no-target-directory", A::kNone, "T"}, {"physical", A::kNone, "P"},
    {"relative", A::kNone, "r"},        {"symbolic", A::kNone, "s"},
    {"suffix", A::kRequired, "S"},      {"target-directory", A::kRequired, "t"},
    {"verbose", A::kNone, "v"},         {"help", A::kNone},
    {"version", A::kNone}};
constexpr LongOption kInstallLong[] = {
    {"backup", A::kOptional, "b"},      {"compare", A::kNone, "C"},
    {"debug", A::kNone},                {"directory", A::kNone, "d"},
    {"group", A::kRequired, "g"},       {"mode", A::kRequired, "m"},
    {"owner", A::kRequired, "o"},       {"preserve-timestamps", A::kNone, "p"},
    {"preserve-context", A::kNone},     {"strip", A::kNone, "s"},
    {"strip-program", A::kRequired},    {"suffix", A::kRequired, "S"},
    {"target-directory", A::kRequired, "t"}, {"no-target-directory", A::kNone, "T"},
    {"verbose", A::kNone, "v"},         {"context", A::kOptional, "Z"},
    {"help", A::kNone},                 {"version", A::kNone}};

struct CopyTool {
  std::string_view name;
  OptionSpec options;
};
constexpr CopyTool kCopyTools[] = {
    {"cp", {.short_options = "abdfHilLnprst:uvxPRS:TZ", .long_options = kCpLong}},
    {"mv", {.short_options = "bfinS:t:TuvZ", .long_options = kMvLong}},
    {"ln", {.short_options = "bdFfinrsS:t:TvLP", .long_options = kLnLong}},
    {"install", {.short_options = "bcCdDg:m:o:psS:t:TvZ", .long_options = kInstallLong}},
};

}  // namespace

const OptionSpec* CopyToolOptions(std::string_view name) {
  for (const CopyTool& tool : kCopyTools) {
    if (tool.name == name) return &tool.options;
  }
  return nullptr;
}

View::View(const SimpleCommand& cmd, const ParsedCommand& parsed,
           const WorkingDirectories& line_cwd, const path_reading::DeclaredPaths& declared)
    : cmd_(cmd), parsed_(parsed), line_cwd_(line_cwd), declared_(declared), cwd_(line_cwd) {
  if (!cmd.argv.empty()) name_ = shell::BaseName(cmd.argv[0]);
  const auto& operands = cmd.run_time_operands;
  if (operands && operands->in_found_directory) {
    // find -execdir runs the command in the directory of each file it finds.
    const path_reading::Directory anywhere{.anchor = path_reading::Directory::Anchor::kAnywhere};
    cwd_ = operands->roots.empty() ? WorkingDirectories{.dirs = {anywhere}}
                                   : line_cwd.Below(operands->roots);
  }
}

bool View::Is(std::initializer_list<std::string_view> names) const {
  return std::find(names.begin(), names.end(), name_) != names.end();
}

std::vector<std::string> View::Args() const {
  if (cmd_.argv.empty()) return {};
  return {cmd_.argv.begin() + 1, cmd_.argv.end()};
}

std::vector<std::string> View::Operands() const {
  std::vector<std::string> out;
  bool options = true;
  for (const std::string& a : Args()) {
    if (options && a == "--") {
      options = false;
    } else if (!options || a.size() < 2 || a[0] != '-') {
      out.push_back(a);
    }
  }
  return out;
}

bool View::Flag(char c, std::string_view long_name) const {
  for (const std::string& a : Args()) {
    if (a == "--") break;
    if (!long_name.empty() && a == long_name) return true;
    if (c != '\0' && a.size() > 1 && a[0] == '-' && a[1] != '-' &&
        a.find(c) != std::string::npos) {
      return true;
    }
  }
  return false;
}

bool View::HasArg(std::string_view word) const {
  for (const std::string& a : Args()) {
    if (a == word) return true;
  }
  return false;
}

shell::ReadOptionsResult View::Options(const OptionSpec& spec) const {
  const std::vector<std::string> args = Args();
  return shell::ReadOptions(args, spec);
}

std::vector<std::string> View::WriteTargets() const {
  std::vector<std::string> out;
  for (const Redirection& r : cmd_.redirections) {
    bool writes = r.op == ">" || r.op == ">>" || r.op == ">|" || r.op == "&>" ||
                  r.op == "&>>" || r.op == "<>" ||
                  (r.op == ">&" && r.target != "-" &&
                   r.target.find_first_not_of("0123456789") != std::string::npos);
    if (writes) out.push_back(r.target);
  }
  if (const OptionSpec* copy = CopyToolOptions(name_)) {
    shell::ReadOptionsResult options = Options(*copy);
    if (std::optional<std::string> dir = options.Value("t")) {
      out.push_back(*dir);
    } else if (options.operands.size() >= 2) {
      out.push_back(options.operands.back());
    }
    return out;
  }
  std::vector<std::string> operands = Operands();
  if (Is({"tee", "truncate", "shred"})) {
    out.insert(out.end(), operands.begin(), operands.end());
  } else if (Is({"rsync", "scp"}) && operands.size() >= 2) {
    out.push_back(operands.back());
  } else if (Is({"sed", "perl"}) && (Flag('i', "--in-place"))) {
    out.insert(out.end(), operands.begin() + (operands.empty() ? 0 : 1), operands.end());
  } else if (Is({"dd"})) {
    for (const std::string& a : Args()) {
      if (a.starts_with("of=")) out.push_back(a.substr(3));
    }
  }
  return out;
}

Reading View::Read(std::string_view word, Mode mode) const {
  const auto& operands = cmd_.run_time_operands;
  if (mode == Mode::kWorst && operands && !operands->placeholder.empty() &&
      word.find(operands->placeholder) != std::string_view::npos) {
    if (operands->roots.empty()) return AnyPath();
    const std::string& placeholder = operands->placeholder;
    const WorkingDirectories found = line_cwd_.Below(operands->roots);
    if (word == placeholder) return path_reading::ReadPath(".", found);
    if (word.starts_with(placeholder + "/")) {
      return path_reading::ReadPath(word.substr(placeholder.size() + 1), found);
    }
    return AnyPath();  // Text around the file name: read as any path.
  }
  return path_reading::ReadPath(word, cwd_, mode);
}

std::optional<path_reading::DeclaredReading> View::ReadDeclared(std::string_view word) const {
  if (declared_.empty()) return std::nullopt;
  const auto& operands = cmd_.run_time_operands;
  if (operands && !operands->placeholder.empty() &&
      word.find(operands->placeholder) != std::string_view::npos) {
    const std::string& placeholder = operands->placeholder;
    const path_reading::Directory anywhere{.anchor = path_reading::Directory::Anchor::kAnywhere};
    const WorkingDirectories any_directory{.dirs = {anywhere}};
    if (operands->roots.empty()) return path_reading::ReadDeclared(".", any_directory, declared_);
    std::optional<path_reading::NameTest> name;
    if (!operands->name_pattern.empty()) {
      name = path_reading::NameTest{.pattern = operands->name_pattern,
                                    .ignore_case = operands->name_ignores_case};
    }
    const WorkingDirectories found = line_cwd_.Below(operands->roots, name);
    if (word == placeholder) return path_reading::ReadDeclared(".", found, declared_);
    if (word.starts_with(placeholder + "/")) {
      return path_reading::ReadDeclared(word.substr(placeholder.size() + 1), found, declared_);
    }
    // Text around the file name: read as any path.
    return path_reading::ReadDeclared(".", any_directory, declared_);
  }
  return path_reading::ReadDeclared(word, cwd_, declared_);
}

bool View::AppendsOperands() const {
  return cmd_.run_time_operands && cmd_.run_time_operands->placeholder.empty();
}

std::string PathDetail(std::string_view word, const Reading& reading) {
  if (reading.exact || reading.witness.empty()) return std::string(word);
  return std::string(word) + "' could name '" + reading.witness;
}

std::string DeclaredDetail(std::string_view word, const path_reading::DeclaredReading& reading) {
  std::string out(word);
  if (!reading.exact) out += "' could name '" + reading.witness;
  switch (reading.reach) {
    case path_reading::Reach::kItself:
      break;
    case path_reading::Reach::kAbove:
      out += "', which holds the declared '" + reading.declared;
      break;
    case path_reading::Reach::kContents:
      out += "', all of the declared '" + reading.declared;
      break;
  }
  return out;
}

}  // namespace skillrt::risk
