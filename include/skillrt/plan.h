// The plan: exactly what one call may do, computed before a runtime starts. Every runtime
// takes the same Plan and returns the same Outcome.
#ifndef SKILLRT_PLAN_H_
#define SKILLRT_PLAN_H_

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
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
};

/// Everything a runtime needs for one run. Plain data.
struct Plan {
  /// Unique id of the run, [A-Za-z0-9_-]; also names its cgroup when one is spawned for it.
  std::string run_id;
  std::string skill_name;
  std::filesystem::path skill_dir;  ///< Host path; mounted read-only at /skill, the cwd.
  /// The object `skill_dir` named when the plan was made (see PathPin); empty in a hand-built
  /// plan, when the runtime resolves `skill_dir` itself.
  std::optional<PathPin> skill_dir_pin = std::nullopt;
  /// argv; argv[0] is a command name resolved on the sandbox PATH or an absolute path inside
  /// the sandbox. Never empty.
  std::vector<std::string> argv;
  std::vector<std::string> env;  ///< The complete environment, "NAME=value".
  std::vector<BindMount> mounts;  ///< Declared paths.
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
  /// How to launch the container, for the container runtime only (the manifest's
  /// `[container]`); argv is then the command run inside the image.
  std::optional<ContainerSpec> container;
};

}  // namespace skillrt

#endif  // SKILLRT_PLAN_H_
