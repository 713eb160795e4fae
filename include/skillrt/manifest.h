// The capability manifest: skill.toml beside SKILL.md, parsed into one set of types that the
// CLI flags and every API also fill. The schema is documented in docs/manifest.md.
//
// What the manifest does not grant, the runtime denies: no path beyond the skill directory
// (read-only) and a private scratch directory, no network beyond the declared hosts (reached
// through skillrt's egress proxy), an empty environment apart from
// a few fixed variables, no executables beyond the entry point.
#ifndef SKILLRT_MANIFEST_H_
#define SKILLRT_MANIFEST_H_

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/error.h"

namespace skillrt {

/// Which runtime executes the skill (`runtime` key).
enum class RuntimeKind {
  kNative,     ///< A process in skillrt's Linux sandbox ("native").
  kWasm,       ///< A WebAssembly module or component under Wasmtime ("wasm").
  kContainer,  ///< An OCI container through docker or podman ("container").
};

/// Returns "native", "wasm" or "container".
std::string_view RuntimeKindName(RuntimeKind kind);

/// How the input reaches the entry point (`entry.input`).
enum class InputMode {
  kStdin,  ///< The input JSON document is written to stdin ("stdin", the default).
  kNone,   ///< stdin is /dev/null ("none").
};

/// How stdout is interpreted (`entry.output`).
enum class OutputMode {
  kJson,  ///< stdout holding one JSON object is the output; anything else is text ("json").
  kText,  ///< stdout is only text; the output is null ("text").
};

/// The command a `run` executes (`[entry]`).
struct EntryPoint {
  /// argv; argv[0] is a command name looked up on the sandbox PATH or an absolute path
  /// inside the sandbox; relative arguments resolve against the skill directory (the
  /// working directory). Never empty.
  std::vector<std::string> argv;
  InputMode input = InputMode::kStdin;
  OutputMode output = OutputMode::kJson;
};

/// Environment capability (`[capabilities.env]`). Nothing from the host passes unless named.
struct EnvCapability {
  /// Names of host variables copied into the sandbox when set on the host (`pass`).
  std::vector<std::string> pass;
  /// Variables set to fixed values (`set`); these win over `pass`.
  std::map<std::string, std::string> set;
};

/// One destination a skill may reach through the egress proxy (an entry of
/// `capabilities.network.allow`; docs/network.md). Normalised by the parser.
struct EgressRule {
  /// A lower-case host name ("api.example.com"), a wildcard that matches subdomains only
  /// ("*.example.com"), an IP address ("10.1.2.3", "fd00::1", no brackets) or a CIDR block
  /// ("10.1.0.0/16"). An address or block names its range explicitly, so it may lie in a
  /// range that is otherwise refused (private, loopback, link-local, ...).
  std::string host = {};
  /// The destination port; 0 means any port (`:*`). Without a port an entry allows 443 only.
  uint16_t port = 443;
  /// CIDR blocks or single addresses in otherwise refused ranges that `host` may resolve to
  /// (`addresses`); empty for an ordinary public host.
  std::vector<std::string> addresses = {};
  /// Connections must be TLS (`tls = true`, table form only): a CONNECT tunnel to this entry has
  /// to start with a TLS ClientHello, whose server name the proxy checks. Port 443 is always
  /// treated so, whatever this says.
  bool tls = false;

  bool operator==(const EgressRule&) const = default;
};

/// `rule` as one string in the manifest's own syntax: "api.example.com:443",
/// "*.example.com:*", "[fd00::1]:8443" (an IPv6 address in brackets; port 0 as `*`).
/// Thread-safe.
std::string EgressRuleText(const EgressRule& rule);

/// What the skill may touch (`[capabilities]`).
struct Capabilities {
  /// Absolute host paths mounted read-only at the same path inside the sandbox (`read`).
  std::vector<std::filesystem::path> read_paths;
  /// Absolute host paths mounted read-write at the same path inside the sandbox (`write`).
  std::vector<std::filesystem::path> write_paths;
  /// Network access: true exactly when `egress` is not empty. `network = false` (the default)
  /// and an empty `[capabilities.network]` table both mean no network at all.
  bool network = false;
  /// The egress allowlist (`[capabilities.network] allow`): the only destinations the skill's
  /// connections through the egress proxy may reach. Empty: no network.
  std::vector<EgressRule> egress;
  EnvCapability env;
  /// Executables that may be started inside the sandbox, by command name ("python3") or
  /// absolute path (`commands`). The entry point's argv[0] is always allowed.
  std::vector<std::string> commands;
};

/// Resource limits (`[limits]`). Each has a safe default; callers may narrow, never widen.
struct Limits {
  /// Wall-clock time before the whole process tree is killed (`wall_time_ms`).
  std::chrono::milliseconds wall_time{30'000};
  /// CPU time of each process, RLIMIT_CPU (`cpu_time_ms`); the cgroup also caps CPU bandwidth.
  std::chrono::milliseconds cpu_time{30'000};
  /// Memory of the whole sandbox, including its tmpfs scratch (`memory_mb`).
  uint64_t memory_max_bytes = 256ull << 20;
  /// Processes and threads alive at once in the sandbox (`processes`).
  uint32_t pids_max = 64;
  /// Bytes kept of each of stdout and stderr; a stream past it stops the run (`output_kb`).
  uint64_t output_max_bytes = 1ull << 20;
  /// Largest file the sandbox may write, RLIMIT_FSIZE (`file_size_mb`).
  uint64_t file_size_max_bytes = 16ull << 20;
  /// Size of the private scratch tmpfs mounted at /tmp (`scratch_mb`).
  uint64_t scratch_max_bytes = 64ull << 20;
  /// Open file descriptors per process, RLIMIT_NOFILE (`open_files`).
  uint32_t open_files_max = 256;
};

/// How a container skill is launched (`[container]`, only with `runtime = "container"`;
/// docs/container.md). The launch policy (docs/container.md, "Launch policy") refuses every
/// request that would weaken the container's isolation; the fields below that can only hold
/// refused values exist so that such a request is refused by name rather than ignored.
struct ContainerSpec {
  /// The image, e.g. "localhost/skillrt-busybox:1". Must already be present in the engine's
  /// local store: images are never pulled (`image`, required).
  std::string image;
  /// Replaces the image's ENTRYPOINT when non-empty (`entrypoint`).
  std::vector<std::string> entrypoint;
  /// Working directory inside the container (`workdir`); absolute.
  std::string workdir = "/skill";
  /// "uid" or "uid:gid", numeric, never 0 (`user`).
  std::string user = "65534:65534";
  /// The root filesystem is mounted read-only (`read_only_root`); only true is accepted.
  bool read_only_root = true;
  /// CPU bandwidth in CPUs (`cpus`, e.g. 0.5 or 2); 0 leaves it unlimited.
  double cpus = 1.0;
  /// Requests the launch policy refuses, kept so that the refusal names them.
  bool privileged = false;                 ///< `privileged`: only false.
  std::string network = "none";            ///< `network`: only "none".
  std::string pid = "private";             ///< `pid` namespace: only "private".
  std::string ipc = "private";             ///< `ipc` namespace: only "private".
  std::string uts = "private";             ///< `uts` namespace: only "private".
  std::vector<std::string> cap_add;        ///< `cap_add`: only empty.
  std::vector<std::string> devices;        ///< `devices`: only empty.
};

/// Returns `a` with every limit lowered to `b`'s where `b`'s is smaller.
Limits NarrowLimits(const Limits& a, const Limits& b);

/// A secret the skill needs (`[secrets] NAME = { ... }`). The manifest declares only the
/// name; the value comes from a reference the user supplies in an instance
/// (include/skillrt/instance.h, docs/secrets.md) and reaches the sandbox as the environment
/// variable NAME. A skill never chooses where its secrets come from.
struct SecretSpec {
  std::string description;  ///< What the secret is for, shown by `info` (`description`).
  /// A run without a value is refused before anything starts (`required`, default true).
  bool required = true;
  /// Occurrences of the value in captured stdout/stderr are replaced by "[REDACTED:NAME]"
  /// (`redact`, default true).
  bool redact = true;
};

/// Packages the skill needs, installed by `skillrt prepare` outside the sandbox and mounted
/// read-only (`[dependencies]`; docs/dependencies.md). Native runtime only.
struct Dependencies {
  /// Python requirements (`python`): PEP 508 names with optional extras, version specifiers
  /// and markers; no options, URLs or paths (CheckPythonRequirement in grants.h).
  std::vector<std::string> python = {};
};

/// The language of a skill built into a WebAssembly component (`wasm.language`).
enum class WasmLanguage {
  kPython,      ///< A Python module, built with componentize-py ("python").
  kJavaScript,  ///< An ES module, built with componentize-js ("javascript").
  /// A TypeScript ES module ("typescript"): its types are stripped by esbuild at build time
  /// (not checked), then it is built as JavaScript.
  kTypeScript,
};

/// Returns "python", "javascript" or "typescript".
std::string_view WasmLanguageName(WasmLanguage language);

/// A skill written in Python or JavaScript and built into a component of the skillrt world
/// (`[wasm]`, only with `runtime = "wasm"`; docs/wasm-languages.md). `skillrt build` makes
/// the component; a run uses the built one and never builds.
struct WasmSource {
  WasmLanguage language = WasmLanguage::kPython;
  /// The module defining `run`, relative to the skill directory, without `..`: a `.py` file
  /// for Python, a `.js` or `.mjs` file for JavaScript, a `.ts` or `.mts` file for TypeScript
  /// (`source`).
  std::string source = {};
  /// Packages bundled into the component at build time, each pinned exactly: "name==1.2.3"
  /// (PyPI, pure-Python wheels only) or "name@1.2.3" (npm, no native addons)
  /// (`dependencies`).
  std::vector<std::string> dependencies = {};
};

/// Where inference found a command (docs/inference.md).
struct CommandSource {
  /// The file, relative to the skill directory: "SKILL.md", "scripts/x.py".
  std::filesystem::path file = {};
  /// 1-based line in `file` of the command; 0 when the file itself is the reason (a script
  /// with the interpreter's extension or shebang).
  int line = 0;
  /// What was found: the command as SKILL.md writes it ("python scripts/x.py"), or for a
  /// script "extension .py" or the shebang line ("#!/usr/bin/env python3").
  std::string text = {};

  bool operator==(const CommandSource&) const = default;
};

/// A command that inference found, with every place it was found (at most
/// kMaxCommandSources of them, in file order).
struct InferredCommand {
  std::string command = {};  ///< A command name: "python3", "curl".
  std::vector<CommandSource> sources = {};

  bool operator==(const InferredCommand&) const = default;
};

/// The most places kept per inferred command; more would only repeat the same reason.
inline constexpr std::size_t kMaxCommandSources = 8;

/// A parsed skill.toml, or the manifest inferred for a skill that has none.
struct Manifest {
  RuntimeKind runtime = RuntimeKind::kNative;
  /// The entry point; absent when it could not be inferred (the skill is then `exec`-only).
  std::optional<EntryPoint> entry;
  /// JSON Schema (the subset in docs/manifest.md) the input must satisfy, if declared
  /// (`entry.input_schema`: inline table or a path relative to the skill directory).
  std::optional<nlohmann::json> input_schema;
  Capabilities capabilities;
  Limits limits;
  /// The `[container]` table; set exactly when `runtime` is kContainer.
  std::optional<ContainerSpec> container;
  /// True when there was no skill.toml and the manifest was inferred.
  bool inferred = false;
  /// Inferred manifests only (empty otherwise): the standard interpreters (python3, python,
  /// bash, sh, node, ...) that the skill's own files need, each allowed to start only when it
  /// runs a file inside the skill directory (docs/inference.md, "The script rule"). Part of
  /// the commands the sandbox may execute; in `exec`, a name also in `capabilities.commands`
  /// is allowed without the rule.
  std::vector<InferredCommand> script_commands = {};
  /// Inferred manifests only: commands SKILL.md tells the agent to run that inference does
  /// not grant (anything but a standard interpreter running the skill's own file), for the
  /// user to see and grant if they choose. Grants nothing.
  std::vector<InferredCommand> mentioned_commands = {};
  /// Declared secrets by variable name (`[secrets]`); names match [A-Za-z_][A-Za-z0-9_]* and
  /// are distinct from `capabilities.env` names and from variables skillrt reserves.
  std::map<std::string, SecretSpec> secrets = {};
  /// Declared packages (`[dependencies]`).
  Dependencies dependencies = {};
  /// The `[wasm]` table: set exactly when the skill is Python or JavaScript built into a
  /// component; `entry.argv` is then `[source]` (set by the parser).
  std::optional<WasmSource> wasm = std::nullopt;
};

/// Parses the skill.toml at `file`. `skill_dir` is used to resolve `entry.input_schema`.
/// Errors (kParse, kValidation) name the file and the key path at fault,
/// e.g. "/s/skill.toml: limits.memory_mb: expected a positive integer, got string".
/// Unknown keys are errors. Thread-safe.
Result<Manifest> ParseManifestFile(const std::filesystem::path& file,
                                   const std::filesystem::path& skill_dir);

/// Parses manifest text; `source` names it in error messages.
Result<Manifest> ParseManifest(std::string_view toml_text, std::string_view source,
                               const std::filesystem::path& skill_dir);

/// Checks `input` against the JSON Schema subset documented in docs/manifest.md.
/// Returns kValidation with the JSON pointer of the first offending value.
Result<void> ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& input);

/// Who may define an environment variable of the sandbox. One rule for the manifest's
/// `capabilities.env`, secrets, instances and the planner.
enum class EnvNameOwner {
  kAnyone,  ///< Free for a manifest, an instance or a secret.
  /// PATH, HOME, TMPDIR, LANG: skillrt's base environment. A manifest's `env.set` may
  /// override them (the skill's own choice); a secret or an instance may not.
  kBase,
  /// SKILL_DIR and every SKILLRT_* name: skillrt sets them to name the skill and the run;
  /// nothing else may define them, or a skill could believe it is another run.
  kSkillrt,
};

/// Which of EnvNameOwner `name` belongs to. Pure; thread-safe.
EnvNameOwner EnvNameOwnerOf(std::string_view name);

}  // namespace skillrt

#endif  // SKILLRT_MANIFEST_H_
