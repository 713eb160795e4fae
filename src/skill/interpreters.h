// The standard interpreters that inference may grant to a skill without skill.toml, and how
// an interpreter's command line names the file it runs (docs/inference.md).
#ifndef SKILLRT_SKILL_INTERPRETERS_H_
#define SKILLRT_SKILL_INTERPRETERS_H_

#include <cstddef>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace skillrt::interpreters {

/// One family of interpreters: the names granted together, the files they run and the
/// options that may stand before the file without changing what runs. A row of kFamilies.
struct Family {
  std::string_view name;                         ///< "python", for messages.
  std::span<const std::string_view> commands;    ///< Granted together: {"python3", "python"}.
  std::span<const std::string_view> extensions;  ///< Files they run: {".py"}.
  /// Letters of single-dash options that take no value and change only how the file runs
  /// (buffering, warnings, tracing), clustered or not: "-u", "-uB". Any other option refuses
  /// the command line, because several (-c, -e, -r, --require, -W) run other code.
  std::string_view flag_letters;
  bool module_option;  ///< `-m NAME` runs a module, which must then be a file of the skill.
  std::string_view why;  ///< Why the family is in the table, for docs and review.
};

/// Every family, in the order info shows them.
std::span<const Family> Families();

/// The family of the command name `command` ("python3" -> python), by exact name: a path
/// ("/usr/bin/python3") is not a standard interpreter by this rule. nullptr if none.
const Family* FamilyOfCommand(std::string_view command);

/// The family whose extensions include the extension of `file` ("x.py" -> python), or nullptr.
const Family* FamilyOfFile(std::string_view file);

/// The family named by a shebang line ("#!/usr/bin/env python3", "#!/bin/bash -e"): the
/// interpreter (or env's first operand, after `-S`) by base name, when that name is a
/// command of a family and the interpreter lives in /bin, /usr/bin or /usr/local/bin.
/// `command` receives the name. nullptr for anything else.
const Family* FamilyOfShebang(std::string_view line, std::string* command);

/// What an interpreter's argv runs.
struct Operand {
  enum class Kind {
    kFile,     ///< argv[index] is the file to run.
    kModule,   ///< `-m`: argv[index] is the module name.
    kRefused,  ///< Neither: `why` says what the command line does instead.
  };
  Kind kind = Kind::kRefused;
  std::size_t index = 0;
  /// For kRefused, a verb phrase: "uses the option '-c', which ...", "names no file to run".
  std::string why = {};
};

/// Finds the operand of `argv` (argv[0] a command of `family`): options of the family's
/// flag_letters are skipped, then `--` once; the next word is the file, unless `-m NAME`
/// came first. Pure.
Operand FindOperand(const Family& family, const std::vector<std::string>& argv);

/// "scripts.tool" -> the candidate files of a module relative to the directory Python puts
/// first on sys.path: "scripts/tool.py", "scripts/tool/__main__.py". Empty for names that
/// are not dotted identifiers.
std::vector<std::string> ModuleFiles(std::string_view module);

}  // namespace skillrt::interpreters

#endif  // SKILLRT_SKILL_INTERPRETERS_H_
