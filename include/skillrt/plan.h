// The plan: exactly what one call may do, computed before a runtime starts. Every runtime
// takes the same Plan and returns the same Outcome.
#ifndef SKILLRT_PLAN_H_
#define SKILLRT_PLAN_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/manifest.h"

namespace skillrt {

/// How strictly isolation layers are required.
enum class SandboxLevel {
  /// Every layer must be applied; one that cannot be is an error and nothing runs (default).
  kStrict,
  /// Optional layers (Landlock, cgroups) that the host cannot provide are skipped; the
  /// Outcome and the audit record list what was applied. Namespaces, pivot_root, seccomp,
  /// no_new_privs and rlimits remain mandatory.
  kBestEffort,
};

/// Returns "strict" or "best-effort".
std::string_view SandboxLevelName(SandboxLevel level);

/// The TCP port of the egress proxy on the native sandbox's loopback (127.0.0.1). The sandbox
/// has its own network namespace, so the port never collides with the host's.
inline constexpr uint16_t kEgressProxyPort = 3128;

/// A command name the native sandbox provides for another: `name` runs the program that
/// `target` names on the sandbox PATH. A name and its target are one command for the
/// allowlist: allowing either allows both.
struct CommandAlias {
  std::string_view name;
  std::string_view target;
};

/// The sandbox's command aliases. `python` runs Python 3, as most published skills' own
/// instructions assume (`python scripts/x.py`), whatever the host calls it.
inline constexpr CommandAlias kCommandAliases[] = {{"python", "python3"}};

/// True when the command names `a` and `b` are one command: equal, or a bare alias name and
/// its target's bare name (kCommandAliases). Paths are compared exactly.
constexpr bool SameCommand(std::string_view a, std::string_view b) {
  if (a == b) return true;
  for (const CommandAlias& alias : kCommandAliases) {
    if ((a == alias.name && b == alias.target) || (a == alias.target && b == alias.name)) {
      return true;
    }
  }
  return false;
}

/// The host object a host path named when the plan was made. A path is resolved once
/// (symbolic links followed), and every later step acts on the object it reached: the policy
/// and the approval key judge `resolved`, and a runtime opens `resolved` again without
/// following any symbolic link and refuses to run unless it finds the same device and inode.
/// So a path re-pointed or swapped after the decision (a symlink to `/`, a rename race) is
/// refused, never bound (docs/sandbox.md, "Paths").
struct PathPin {
  std::filesystem::path resolved;  ///< Absolute, normalized, no symbolic link in any part.
  uint64_t device = 0;             ///< st_dev of the object (stat(2)).
  uint64_t inode = 0;              ///< st_ino of the object.
  bool directory = false;          ///< A directory; otherwise a regular file.
};

/// Who asked for a host path to be made visible to a sandbox.
enum class MountOrigin {
  kManifest,      ///< The manifest's `capabilities.read`/`write` (as an instance narrowed it).
  kGrant,         ///< A user grant (grants.h): a policy subject of its own, "grant read PATH".
  /// skillrt's prepared dependency environment (dependencies.h): read-only code the user
  /// prepared, mounted at a fixed path; not a policy subject, named in the approval key.
  kDependencies,
};

/// A host path made visible inside the sandbox (at the same absolute path, except for
/// dependency environments).
struct BindMount {
  /// Absolute, as declared: where the object appears inside the sandbox. Must exist.
  std::filesystem::path path;
  bool writable = false;
  /// The host object to bind. Set by the plan builder; a runtime given a plan without it
  /// resolves `path` itself before anything else.
  std::optional<PathPin> pin = std::nullopt;
  /// Why the path is in the plan.
  MountOrigin origin = MountOrigin::kManifest;
  /// The run's workspace (RunOverrides::workspace): a writable directory that is the working
  /// directory of the program, whose files the skill sees as its own and whose new files
  /// belong to the directory's owner on the host; not executable (noexec), and without the
  /// mounts below it. At most one mount of a plan has it, and it must be `writable`. The
  /// native runtime only; the others refuse such a plan (docs/sandbox.md, "Workspace").
  bool workspace = false;
};

/// Which files a sandboxed process may execute (docs/sandbox.md, "Execution profile").
/// Whatever the profile, the caller may start only the plan's `commands`; the profile governs
/// what those programs start in turn.
enum class ExecProfile {
  /// Only the plan's commands and their interpreters. A script that starts `sh` or `sort`
  /// without declaring them fails with EACCES.
  kDeclared,
  /// The plan's commands, and every program in the read-only system directories (/usr, /bin,
  /// /sbin, /lib*) and the sandbox's command aliases (/skillrt/bin): the utilities a script
  /// expects (a shell, coreutils, git, Python). Never the skill's other files, the workspace,
  /// declared paths or scratch (default).
  kSystem,
};

/// Everything a runtime needs for one run. Plain data.
struct Plan {
  /// Unique id of the run, [A-Za-z0-9_-]; also names its cgroup when one is spawned for it.
  std::string run_id;
  std::string skill_name;
  /// Host path; mounted read-only at /skill, the working directory unless there is a workspace.
  std::filesystem::path skill_dir;
  /// The object `skill_dir` named when the plan was made (see PathPin); empty in a hand-built
  /// plan, when the runtime resolves `skill_dir` itself.
  std::optional<PathPin> skill_dir_pin = std::nullopt;
  /// argv; argv[0] is a command name resolved on the sandbox PATH or an absolute path inside
  /// the sandbox. Never empty.
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< The complete environment, "NAME=value".
  std::vector<BindMount> mounts;  ///< Declared paths and the workspace, if any.
  /// Executables that may be started (command names or absolute in-sandbox paths). Landlock
  /// grants execute only on these (and the dynamic loader); argv[0] must be among them.
  std::vector<std::string> commands;
  /// True when the run may reach the network through the egress proxy; then `egress` is not
  /// empty. A runtime that cannot enforce the allowlist refuses such a plan.
  bool network = false;
  /// The destinations the egress proxy lets the run reach (the manifest's allowlist).
  std::vector<EgressRule> egress;
  Limits limits;
  std::string stdin_data;  ///< Written to stdin, then stdin is closed.
  SandboxLevel level = SandboxLevel::kStrict;
  /// What the started programs may execute in turn.
  ExecProfile exec_profile = ExecProfile::kSystem;
  /// How to launch the container, for the container runtime only (the manifest's
  /// `[container]`); argv is then the command run inside the image.
  std::optional<ContainerSpec> container;
  /// For the wasm runtime only: the component built from a Python or JavaScript skill (the
  /// manifest's `[wasm]`), an absolute host path in skillrt's state directory chosen by the
  /// engine, loaded instead of argv[0]. Empty: argv[0] names the module inside `skill_dir`.
  std::filesystem::path wasm_component = {};
  /// The skill's tree hash (hex SHA-256 of its files, as in the audit) when the engine made
  /// the plan; empty in a hand-built plan. The native runtime keeps sandboxes prepared for a
  /// plan ahead of need only for plans that carry it, and only for the same hash
  /// (docs/sandbox.md, "Prepared sandboxes").
  std::string tree_sha256 = {};
};

}  // namespace skillrt

#endif  // SKILLRT_PLAN_H_
