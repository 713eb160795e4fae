// A skill's Python dependencies: found in what the skill declares (skill.toml's
// `[dependencies] python`, a requirements.txt, PEP 723 inline script metadata) or, when the
// author declared none, in the user's grants file; installed by skillrt itself, outside the
// sandbox, from the index the user configures, into a content-addressed environment under
// $SKILLRT_HOME/envs that runs mount read-only (docs/dependencies.md). The skill never gets
// network for this, and nothing of the packages runs while they are installed: only wheels
// are accepted, which are unpacked, never built.
#ifndef SKILLRT_DEPENDENCIES_H_
#define SKILLRT_DEPENDENCIES_H_

#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"

namespace skillrt {

struct Skill;
struct GrantFile;

/// Where inside the sandbox a prepared environment appears (read-only); its packages are at
/// `<kPythonEnvMount>/site-packages`, which is put on PYTHONPATH.
inline constexpr std::string_view kPythonEnvMount = "/opt/skillrt/python";

/// A skill's Python requirements and where they were found.
struct PythonRequirements {
  /// Sorted, without duplicates; each passed CheckPythonRequirement (grants.h).
  std::vector<std::string> requirements = {};
  /// "skill.toml", "requirements.txt", "script metadata (scripts/a.py, ...)" or
  /// "grants file"; empty when there are none.
  std::string source = {};
  /// True when the user's grants file named requirements that were not used because the
  /// skill declares its own.
  bool grants_ignored = false;
};

/// What `skill` declares, in this order, the first that has any: skill.toml's
/// `[dependencies] python`; `requirements.txt` in the skill directory (one requirement per
/// line, `#` comments; option lines such as `-r` or `--index-url` are refused); PEP 723
/// `# /// script` blocks in the skill's `.py` files (their `dependencies` arrays, merged).
/// Failing those, the `python` entry of `grants` for the skill (and `instance`). Errors:
/// kValidation naming the file, line and requirement that is refused; kParse for a PEP 723
/// block that is not TOML; kIo. Reads at most 1,000 `.py` files of at most 1 MiB each.
/// Thread-safe.
Result<PythonRequirements> FindPythonRequirements(const Skill& skill, const GrantFile* grants,
                                                  const std::optional<std::string>& instance);

/// The interpreter a native sandbox runs as `python3`: the first `python3` on the sandbox's
/// PATH (/usr/local/bin, /usr/bin, /bin), symbolic links resolved, and its "MAJOR.MINOR"
/// version (from its file name, e.g. python3.11, or else by running it). kNotFound when
/// there is none. Thread-safe.
struct PythonInterpreter {
  std::filesystem::path path;  ///< Host path, resolved.
  std::string version;         ///< "3.11".
};
Result<PythonInterpreter> FindSandboxPython();

/// The id of the environment for `requirements` under Python `version`: the sha256 (hex) of
/// the version and the sorted requirements. Pure.
std::string PythonEnvironmentId(const std::vector<std::string>& requirements,
                                std::string_view version);

/// A prepared environment: <home>/envs/<id>, read-only, holding `site-packages/` and
/// `skillrt-env.json` (requirements, interpreter, index, installer, packages installed).
struct PythonEnvironment {
  std::string id;
  std::filesystem::path dir;
  std::vector<std::string> requirements;
};

/// The prepared environment of `requirements` for the sandbox's Python, if there is one.
/// nullopt when it was never prepared (or was removed). Errors: as FindSandboxPython, kIo.
/// Thread-safe.
Result<std::optional<PythonEnvironment>> FindPythonEnvironment(
    const std::filesystem::path& home, const std::vector<std::string>& requirements);

/// How `PreparePython` installs.
struct PrepareOptions {
  /// The package index (`--index-url`, the grants file's `[python] index_url`); empty: the
  /// installer's own configuration ($PIP_INDEX_URL, pip.conf, or PyPI).
  std::string index_url = {};
  /// Install again even when the environment exists (it is replaced atomically).
  bool force = false;
};

/// What `PreparePython` did.
struct PrepareResult {
  PythonEnvironment environment;
  bool created = false;     ///< False: it existed and was kept.
  std::string installer;    ///< "uv" or "pip", with its path.
  std::string python;       ///< The interpreter's path and version.
  std::vector<std::string> packages;  ///< "name==version" of every distribution installed.
  std::chrono::milliseconds duration{0};
};

/// Installs `requirements` for the sandbox's Python into <home>/envs/<id>: with `uv pip
/// install` when `uv` is on the host PATH, else `python3 -m pip install`, `--target` a
/// temporary directory under <home>/envs, wheels only (`--only-binary :all:`: no package
/// code runs while installing), from `options.index_url` when set. The result is made
/// read-only and renamed into place, so an environment is either complete or absent. Runs
/// outside any sandbox, with the host's network, as the calling user. Errors: kInvalidArgument
/// for an empty requirement list; kNotFound without python3 or pip; kIo when the installer
/// fails (its last lines of output in the message). Thread-safe for distinct homes;
/// concurrent calls for one environment each leave a complete one.
Result<PrepareResult> PreparePython(const std::filesystem::path& home,
                                    const std::vector<std::string>& requirements,
                                    const PrepareOptions& options);

}  // namespace skillrt

#endif  // SKILLRT_DEPENDENCIES_H_
