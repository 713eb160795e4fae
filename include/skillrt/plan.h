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

/// A host path made visible inside the sandbox at the same absolute path.
struct BindMount {
  std::filesystem::path path;  ///< Absolute host path; must exist.
  bool writable = false;
};

/// Everything a runtime needs for one run. Plain data.
struct Plan {
  /// Unique id of the run, [A-Za-z0-9_-]; also names its cgroup when one is spawned for it.
  std::string run_id;
  std::string skill_name;
  std::filesystem::path skill_dir;  ///< Host path; mounted read-only at /skill, the cwd.
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
