// Instances: named configurations of a skill (dev, staging, prod) that the user, never the
// skill, writes in $SKILLRT_HOME/instances.toml. Each has its own config values, environment,
// secret references and a grant that may only be narrower than the manifest's.
// The file format is documented in docs/instances.md; secrets in docs/secrets.md.
#ifndef SKILLRT_INSTANCE_H_
#define SKILLRT_INSTANCE_H_

#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/manifest.h"

namespace skillrt {

/// "skill" or "skill@instance", as `run`, `exec` and `info` accept it.
struct SkillSelector {
  std::string skill;                    ///< Name or path.
  std::optional<std::string> instance;  ///< The text after the last '@', if any.
};

/// Splits `text` at its last '@' when the rest is a valid instance name (no '/'); otherwise
/// the whole text names the skill. kInvalidArgument for "skill@" or "@x".
Result<SkillSelector> ParseSkillSelector(std::string_view text);

/// True when `name` is a valid instance name: 1-64 of [a-z0-9_-], not "default".
bool IsValidInstanceName(std::string_view name);

/// Where a secret's value comes from (`"env:NAME"` or `"file:/abs/path"`).
struct SecretRef {
  enum class Kind { kEnv, kFile };
  Kind kind = Kind::kEnv;
  std::string target;  ///< The host variable name, or the absolute file path.

  /// "env" or "file".
  std::string_view KindName() const;
  /// The reference as written: "env:NAME", "file:/path".
  std::string ToString() const;
};

/// The grant an instance narrows to (`[<skill>.<instance>.capabilities]`); a key left unset
/// keeps the manifest's value.
struct InstanceCapabilities {
  std::optional<std::vector<std::filesystem::path>> read_paths;
  std::optional<std::vector<std::filesystem::path>> write_paths;
  std::optional<std::vector<std::string>> commands;
  std::optional<std::vector<std::string>> env_pass;
  std::optional<bool> network;
};

/// Limits an instance narrows to (`[<skill>.<instance>.limits]`, manifest keys and units).
struct InstanceLimits {
  std::map<std::string, int64_t> values;  ///< Key (e.g. "wall_time_ms") to value.
};

/// One instance of one skill.
struct Instance {
  std::string skill;  ///< The skill name (the table it is under).
  std::string name;   ///< The instance name.
  /// `config`: any TOML table, passed to the skill as JSON in SKILLRT_CONFIG.
  nlohmann::json config = nlohmann::json::object();
  std::map<std::string, std::string> env;      ///< `env`: variables set in the sandbox.
  std::map<std::string, SecretRef> secrets;    ///< `secrets`: NAME -> reference.
  InstanceCapabilities capabilities;
  InstanceLimits limits;
  int line = 0;  ///< Line of the instance's table in the file, for messages.
};

/// Every instance in one instances file.
struct InstanceFile {
  std::filesystem::path path;  ///< The file read (may not exist).
  /// Skill name -> instance name -> instance.
  std::map<std::string, std::map<std::string, Instance>> skills;
  /// Skill name -> its `default` instance name.
  std::map<std::string, std::string> defaults;
};

/// <home>/instances.toml.
std::filesystem::path InstanceFilePath(const std::filesystem::path& home);

/// Reads the instances file at `file`; a missing file has no instances. The file must be a
/// regular file (not a symlink), owned by the effective user and not writable by group or
/// others (kDenied otherwise: whoever can write it chooses where secrets are read from).
/// Errors name the file and the key path
/// ("instances.toml: calc.prod.limits.memory_mb: expected a positive integer, got string"):
/// kParse for TOML syntax (with line and column), kValidation for the schema. Unknown keys
/// are errors. Thread-safe.
Result<InstanceFile> ReadInstanceFile(const std::filesystem::path& file);

/// The instance a call uses: `requested` if given (kNotFound naming the file and the defined
/// instances if it does not exist), else the skill's `default`, else none.
Result<std::optional<Instance>> SelectInstance(const InstanceFile& file, std::string_view skill,
                                               const std::optional<std::string>& requested);

/// `manifest` narrowed by `instance`: each capability list the instance sets replaces the
/// manifest's and must be covered by it (a read path equal to or under a manifest read or
/// write path, a write path under a write path, commands among the allowed commands
/// including the entry point's, env.pass among the manifest's, network only if granted);
/// each limit must be at most the manifest's; every secret referenced must be declared in
/// the manifest. kValidation naming the file and key path of the first widening
/// ("instances.toml: calc.prod.capabilities.commands[1]: 'curl' is not granted by the
/// manifest"). Thread-safe.
Result<Manifest> ApplyInstance(const Manifest& manifest, const Instance& instance,
                               const std::filesystem::path& file);

}  // namespace skillrt

#endif  // SKILLRT_INSTANCE_H_
