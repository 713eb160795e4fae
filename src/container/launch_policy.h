// The container launch policy: what a container run may ask of the engine, checked before
// anything starts (docs/container.md, "Launch policy").
//
// The engine is driven through its CLI with an argv skillrt builds itself (engine_argv.h), so
// no flag reaches the engine that skillrt did not put there. The policy decides what a
// manifest and a plan may put into that argv: it refuses anything that would let the
// container reach the host (privileged mode, host namespaces, added capabilities, devices,
// socket or sensitive host mounts) and every refusal names the manifest key at fault.
#ifndef SKILLRT_CONTAINER_LAUNCH_POLICY_H_
#define SKILLRT_CONTAINER_LAUNCH_POLICY_H_

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/error.h"
#include "skillrt/manifest.h"
#include "skillrt/plan.h"

namespace skillrt::container {

/// One thing the policy refuses: the manifest key at fault and why.
struct Refusal {
  std::string key;      ///< e.g. "container.privileged" or "capabilities.write[0]".
  std::string message;  ///< One line, without the key.
};

/// Host paths never mounted into a container, nor anything below them, nor any directory
/// above them (mounting /var would expose /var/run). Documented in docs/container.md.
const std::vector<std::string_view>& SensitiveHostPaths();

/// Why `spec` cannot be launched, in key order; empty when the policy allows it. Checks the
/// image name (not empty, no leading '-', no whitespace or control characters), the user
/// (numeric uid[:gid], neither 0), the read-only root, the working directory, cpus, and every
/// isolation-weakening request (privileged, network, pid, ipc, uts, cap_add, devices).
/// Pure: reads no file. Thread-safe.
std::vector<Refusal> CheckSpec(const ContainerSpec& spec);

/// A host path to be bind-mounted into the container at the same path.
struct MountRequest {
  std::filesystem::path path;  ///< Absolute host path.
  bool writable = false;
  std::string key;  ///< The manifest key that asked for it, e.g. "capabilities.read".
};

/// Why `mount` cannot be bind-mounted, or nothing. Refuses: relative or unnormalized paths,
/// paths containing ',' or ':' (the engine's mount syntax), a path that is or resolves
/// (through symlinks) to a sensitive host path, lies below one, or contains one; a path
/// that is a socket, or whose name is that of an engine socket (docker.sock, podman.sock,
/// containerd.sock) even when absent; the home directory of the calling user ($HOME) and
/// anything below it. Reads file metadata (lstat, realpath). Thread-safe.
std::optional<Refusal> CheckMount(const MountRequest& mount);

/// As CheckMount for the skill directory, mounted read-only at /skill: the same refusals
/// except that it may lie below /home, /root, /tmp or $HOME (though never be one of them),
/// since skills are commonly installed or unpacked there and the skill's own files are what
/// it is meant to read. Key "skill directory".
std::optional<Refusal> CheckSkillDir(const std::filesystem::path& dir);

/// Everything the policy checks for one run: CheckSpec on `plan.container` (a missing spec is
/// refused under the key "container"), CheckSkillDir, and CheckMount for every mount (keys
/// "capabilities.read" and "capabilities.write"). Reads file metadata. Thread-safe.
std::vector<Refusal> CheckPlan(const Plan& plan);

/// Formats refusals as one error message: "<manifest>: <key>: <message>" for the first,
/// followed by "(and N more)". kDenied.
Error RefusalError(const std::filesystem::path& manifest_file,
                   const std::vector<Refusal>& refusals);

}  // namespace skillrt::container

#endif  // SKILLRT_CONTAINER_LAUNCH_POLICY_H_
