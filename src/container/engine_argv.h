// The engine command line of one container run, built as an argv (never a shell string).
// Every flag and the reason for it: docs/container.md, "Always-on flags".
#ifndef SKILLRT_CONTAINER_ENGINE_ARGV_H_
#define SKILLRT_CONTAINER_ENGINE_ARGV_H_

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

#include "container/engine_cli.h"
#include "skillrt/manifest.h"
#include "skillrt/plan.h"

namespace skillrt::container {

/// Mount point of the skill directory inside the container (read-only).
inline constexpr std::string_view kSkillMountPoint = "/skill";

/// Everything one `run` command line is built from. REQUIRES: the launch policy allowed
/// `spec`, `skill_dir` and every mount (launch_policy.h).
struct LaunchSpec {
  std::string run_id;  ///< [A-Za-z0-9_-]; names the container "skillrt-<run_id>".
  ContainerSpec spec;
  std::filesystem::path skill_dir;  ///< Host path, mounted read-only at /skill.
  std::vector<BindMount> mounts;    ///< Declared paths, each at its own path.
  std::vector<std::string> argv;    ///< The command run in the image (after the entrypoint).
  std::filesystem::path env_file;   ///< NAME=value lines; the container's whole environment.
  Limits limits;
  /// Cgroup parent to create the container under (podman with cgroupfs), e.g.
  /// "/skillrt.container/<run_id>"; empty for the engine's default.
  std::string cgroup_parent;
  /// Hard RLIMIT_NPROC, the same for every run: it counts processes per user across the
  /// host, so it is a ceiling, not the per-run limit (that is the pids cgroup limit).
  uint64_t nproc_limit = 32768;
  /// A network namespace for the container to join instead of "none" (podman's
  /// `--network ns:PATH`): the one skillrt made for the egress proxy, as /proc/<pid>/fd/<n>.
  /// Empty: no network at all.
  std::string network_namespace = {};
};

/// "skillrt-<run_id>": the container's name, used to kill and remove it.
std::string ContainerName(const std::string& run_id);

/// The label every run's container carries: "skillrt.run_id=<run_id>".
std::string RunLabel(const std::string& run_id);

/// `<engine> run ...` for `launch`: argv[0] is the engine's path. Deterministic; pure.
std::vector<std::string> BuildRunArgv(const EngineInfo& engine, const LaunchSpec& launch);

/// Kills (SIGKILL, no grace period) and removes the named container; exit status ignored by
/// the caller, which checks with ListArgv afterwards.
std::vector<std::string> RemoveArgv(const EngineInfo& engine, const std::string& name);

/// Lists the ids of containers, running or not, that carry `label`.
std::vector<std::string> ListArgv(const EngineInfo& engine, const std::string& label);

}  // namespace skillrt::container

#endif  // SKILLRT_CONTAINER_ENGINE_ARGV_H_
