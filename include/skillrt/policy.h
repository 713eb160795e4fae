// The policy: allow, ask and deny rules over skills, runtimes, capabilities and `exec`
// commands, read from TOML files at the user and project level, plus a built-in default
// that allows least-privilege calls and asks for anything beyond (docs/policy.md).
//
// Deny wins over ask, and ask over allow, for every subject of a call; a call is allowed only
// when every one of its subjects is.
#ifndef SKILLRT_POLICY_H_
#define SKILLRT_POLICY_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/plan.h"
#include "skillrt/risk.h"

namespace skillrt {

/// What a rule (or the policy as a whole) says about a call. Ordered: a larger value is
/// more restrictive and wins.
enum class PolicyEffect { kAllow, kAsk, kDeny };

/// Returns "allow", "ask" or "deny".
std::string_view PolicyEffectName(PolicyEffect effect);

/// Where a policy file sits. The project level is the least trusted: a checked-out project
/// may carry a policy file, so its `allow` rules count only when the user trusts it.
enum class PolicyLayer {
  kUser,      ///< <home>/policy.toml.
  kExplicit,  ///< A file the caller named (`--policy FILE`); trusted like the user's.
  kProject,   ///< <workspace>/.skillrt/policy.toml.
};

/// Returns "user", "explicit" or "project".
std::string_view PolicyLayerName(PolicyLayer layer);

/// One `[[rule]]` of a policy file, after variable expansion. Plain data.
///
/// A rule applies to a call when every call selector it sets (skills, runtimes, kinds)
/// matches. A rule with no capability selector (network, read, write, env, commands, exec,
/// risk, sandbox) is a call rule: it decides the call itself and every capability subject that
/// no capability rule matched. A capability rule decides the subjects its selectors match.
struct PolicyRule {
  std::filesystem::path file;  ///< The policy file; empty for built-in rules.
  PolicyLayer layer = PolicyLayer::kUser;
  int index = 0;  ///< 1-based position among the file's rules.
  int line = 0;   ///< 1-based line of the rule's `[[rule]]` header.
  std::string name;  ///< `name`; "rule N" when not given.
  PolicyEffect effect = PolicyEffect::kAsk;
  std::string reason;  ///< `reason`, shown with every decision the rule takes part in.

  // Call selectors; empty means any.
  std::vector<std::string> skills;    ///< Globs over the skill name (`*`, `?`).
  std::vector<RuntimeKind> runtimes;  ///< Runtimes the manifest may name.
  std::vector<std::string> kinds;     ///< "run" and/or "exec".

  // Capability selectors.
  bool network = false;  ///< Matches a call that asks for the network.
  /// Path globs over the declared read/write paths (absolute; `*` within one component,
  /// `**` across components, a trailing `/**` also matches the directory itself); a leading
  /// `!` matches paths the rest of the pattern does not match. Lexically normalized.
  std::vector<std::string> read;
  std::vector<std::string> write;
  std::vector<std::string> env;       ///< Globs over host variable names passed (`env.pass`).
  std::vector<std::string> commands;  ///< Globs over declared commands.
  /// Globs over each simple command an `exec` would run, its words joined by single spaces
  /// (`*` matches any text, spaces included), e.g. "git push*".
  std::vector<std::string> exec;
  /// Matches `exec` commands whose risk (risk.h) is at least this level.
  std::optional<RiskLevel> risk;
  /// `sandbox = "best-effort"`: matches a call that asks for SandboxLevel::kBestEffort.
  bool best_effort = false;
  /// `grants = true`: matches what the user's grants add to a call (grants.h): each granted
  /// command, read path, write path and raised limit beyond the manifest. When the rule also sets
  /// `commands`, `read` or `write`, a granted command or path must match that list too, and
  /// grants of a kind the rule does not list are not matched. Only a rule with this selector
  /// decides a grant; call rules do not (docs/policy.md, "Grants").
  bool grants = false;

  /// True when this rule sets any capability selector.
  bool IsCapabilityRule() const;
};

/// A parsed policy: the rules of every file read, in the order they were read.
/// The host's ceilings on a run's limits: a call whose limits go above any of them is not
/// least privilege, and the policy decides it like any other capability (the default asks;
/// docs/policy.md, "Limit ceilings"). Manifests may declare far more (24 hours, 64 GiB):
/// what one machine should give a stranger's skill without a person agreeing is the host's
/// call. A policy file's `[ceilings]` table changes them, in the manifest's keys and units.
inline Limits DefaultLimitCeilings() {
  return Limits{.wall_time = std::chrono::minutes(10),
                .cpu_time = std::chrono::minutes(10),
                .memory_max_bytes = 4ull << 30,
                .pids_max = 512,
                .output_max_bytes = 16ull << 20,
                .file_size_max_bytes = 1ull << 30,
                .scratch_max_bytes = 1ull << 30,
                .open_files_max = 4096};
}

struct Policy {
  std::vector<PolicyRule> rules;
  /// Limit ceilings (DefaultLimitCeilings, or the user's or explicit file's `[ceilings]`; a
  /// project file may only lower them).
  Limits ceilings = DefaultLimitCeilings();
  /// The `[ceilings]` keys one file set, with their values in the manifest's units; used when
  /// the layers are merged (LoadPolicy).
  std::vector<std::pair<std::string, uint64_t>> ceilings_set = {};
  std::vector<std::filesystem::path> files;  ///< The files that were read.
  /// `trust_project` of the user (or explicit) file: when false, project-level `allow`
  /// rules are listed in decisions but ignored.
  bool trust_project = false;
};

/// Values of the variables a policy file may use in path patterns.
struct PolicyVariables {
  std::filesystem::path workspace = {};  ///< `{workspace}`: absolute, canonical.
  std::filesystem::path home = {};       ///< `{home}`: the user's $HOME; empty if unknown.
};

/// Where policy files are looked for (docs/policy.md, "Files and precedence").
struct PolicyOptions {
  /// `--policy FILE`: read instead of the project file, trusted like the user's. Must exist.
  std::optional<std::filesystem::path> file = std::nullopt;
  /// The project directory, `{workspace}` in patterns; empty: the current directory.
  std::filesystem::path workspace = {};
  /// Read <workspace>/.skillrt/policy.toml when it exists (the CLI does; the library's
  /// default is off, so an embedding process decides where its projects are).
  bool project = false;
  /// Read <home>/policy.toml when it exists.
  bool user = true;
};

/// Parses one policy file's text. `source` names it in errors and in rules. Strict: unknown
/// keys, wrong types, bad values, unknown `{variables}` and relative path patterns are
/// errors, kParse (TOML syntax) or kValidation, "<source>:<line>: <key path>: <what>", e.g.
/// "/h/policy.toml:7: rule[2].effect: expected \"allow\", \"ask\" or \"deny\", got \"permit\"".
/// `trust_project` is accepted only at the user and explicit layers. Thread-safe.
Result<Policy> ParsePolicy(std::string_view toml_text, const std::filesystem::path& source,
                           PolicyLayer layer, const PolicyVariables& vars);

/// Reads the files `options` names under `home`, in the order user, then explicit or
/// project, and merges them. Missing optional files are skipped; a missing `--policy` file
/// is kNotFound. A file larger than 1 MiB, or one writable by group or others or owned by
/// someone other than the user or root, is kValidation. Errors as for ParsePolicy, and
/// kIo. Thread-safe.
Result<Policy> LoadPolicy(const std::filesystem::path& home, const PolicyOptions& options);

/// One simple command of an `exec`, as the policy sees it.
struct PolicyExecCommand {
  std::string text = {};  ///< Its words joined by single spaces.
  RiskLevel risk = RiskLevel::kLow;  ///< The highest risk the guard gave it.
};

/// One thing a user grant (grants.h) adds to a call beyond its manifest.
struct PolicyGrant {
  enum class Kind {
    kCommand,  ///< A command: `value` is its name or absolute path.
    kRead,     ///< A readable host path: `value` is the path as resolved.
    kWrite,    ///< A writable host path: `value` is the path as resolved.
    kLimit,    ///< A raised limit: `value` is "KEY VALUE" in the manifest's units.
  };
  Kind kind = Kind::kCommand;
  std::string value = {};

  /// "command git", "read /data", "write /repo", "limit memory_mb 1024".
  std::string Label() const;
  bool operator==(const PolicyGrant&) const = default;
};

/// Returns "command", "read", "write" or "limit".
std::string_view PolicyGrantKindName(PolicyGrant::Kind kind);

/// What one call asks for: the subjects the policy decides. Built from the skill and its plan.
struct PolicyRequest {
  std::string skill = {};
  RuntimeKind runtime = RuntimeKind::kNative;
  std::string kind = "run";  ///< "run" or "exec".
  SandboxLevel sandbox = SandboxLevel::kStrict;
  /// Declared paths, as they will be mounted (absolute, symlinks resolved).
  std::vector<std::filesystem::path> read = {};
  std::vector<std::filesystem::path> write = {};
  bool network = false;
  std::vector<std::string> env_pass = {};  ///< Host variables passed in (names only).
  std::vector<std::string> commands = {};  ///< Commands the sandbox lets the call start.
  std::vector<PolicyExecCommand> exec = {};  ///< For "exec": every simple command it would run.
  /// What the user's grants add beyond the manifest (paths resolved as they will be
  /// mounted); each is a subject "grant " + PolicyGrant::Label().
  std::vector<PolicyGrant> grants = {};
  /// The run's limits; each one above Policy::ceilings is a subject ("limit memory_mb 8192
  /// above the ceiling 4096"). Unset: limits are not judged.
  std::optional<Limits> limits = std::nullopt;
};

/// One rule's part in a decision.
struct PolicyMatch {
  std::string source = {};  ///< The policy file, or "built-in".
  int index = 0;       ///< 1-based rule index in the file; 0 for built-in rules.
  int line = 0;        ///< Line of the rule in the file; 0 for built-in rules.
  std::string name = {};
  PolicyEffect effect = PolicyEffect::kAsk;
  std::string reason = {};
  /// The subject it decided: "skill calculator", "read /data", "write /x", "network",
  /// "env HOME", "command python3", "exec rm -rf x", "sandbox best-effort", "grant write /x",
  /// "limit memory_mb 8192 (ceiling 4096)".
  std::string subject = {};
  /// Why the rule did not count, e.g. a project `allow` without trust, or a rule overruled
  /// by a more restrictive one on the same subject; empty when it counted.
  std::string ignored = {};
};

/// The policy's verdict on one call and every rule that led to it.
struct PolicyDecision {
  PolicyEffect effect = PolicyEffect::kDeny;
  std::vector<PolicyMatch> rules;

  /// The rules that counted with the decision's own effect (those that asked, for kAsk).
  std::vector<PolicyMatch> Deciding() const;
  /// One line: "deny: rule 'no-writes' (/h/policy.toml rule 2): write /x: <reason>".
  std::string Summary() const;
};

/// Decides `request` under `policy` (docs/policy.md, "Evaluation"). Pure; thread-safe.
PolicyDecision EvaluatePolicy(const Policy& policy, const PolicyRequest& request);

/// True when `text` matches the name glob `pattern`: `*` any run of characters, `?` one
/// character, `\` escapes the next character; everything else literally.
bool NameGlobMatch(std::string_view pattern, std::string_view text);

/// True when the absolute path `path` matches the path glob `pattern` (PolicyRule::read).
/// Both are compared after lexical normalization; a leading `!` negates.
bool PathGlobMatch(std::string_view pattern, std::string_view path);

/// `rules` (a decision's matches) as JSON objects: source, index, line, name, effect,
/// subject, reason, and `ignored` when set. The form of the audit record's `decision.rules`
/// (docs/audit.md) and of `skillrt policy check --json`. Thread-safe.
nlohmann::json PolicyRulesToJson(const std::vector<PolicyMatch>& rules);

}  // namespace skillrt

#endif  // SKILLRT_POLICY_H_
