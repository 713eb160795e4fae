// Turns a loaded skill and a request into the Plan a runtime executes: the argv, the complete
// environment, the declared mounts, the allowed commands and the limits of one call.
#ifndef SKILLRT_ENGINE_PLAN_BUILDER_H_
#define SKILLRT_ENGINE_PLAN_BUILDER_H_

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/plan.h"
#include "skillrt/skill.h"

namespace skillrt {

/// The environment every sandboxed process starts from, before the manifest's variables
/// (`NAME=value`, in this order): PATH (the command aliases' /skillrt/bin, then
/// /usr/local/bin:/usr/bin:/bin), HOME=/tmp, TMPDIR=/tmp, LANG=C.UTF-8, SKILL_DIR=/skill,
/// SKILLRT_RUN_ID=<run_id>. Nothing of the host's environment is in it.
std::vector<std::string> BaseEnvironment(std::string_view run_id);

/// The variables that send a native skill's HTTP clients to the egress proxy on the sandbox's
/// loopback (`NAME=value`): HTTP_PROXY, HTTPS_PROXY and ALL_PROXY in upper and lower case, set
/// to http://127.0.0.1:<kEgressProxyPort>, and an empty NO_PROXY/no_proxy.
std::vector<std::string> EgressProxyEnvironment();

/// The commands a call to `manifest`'s skill may start: `capabilities.commands`, then the
/// entry point's argv[0], then the inferred `script_commands` (which `exec` allows only under
/// the script rule, src/gate/script_rule.h), each if not already listed. Order preserved, no
/// duplicates.
std::vector<std::string> AllowedCommands(const Manifest& manifest);

/// What grants commands to `skill`, for refusals, in one clause. A skill with skill.toml:
/// "<dir>/skill.toml capabilities.commands allows: a, b" ("none" when empty). An inferred
/// manifest names no skill.toml that does not exist: "the skill has no skill.toml; inferred
/// from its files: python3, python (only to run a file of the skill); any other command
/// needs a grant from the user (docs/inference.md)", with "; also allowed: jq" before the
/// last clause for commands allowed without the script rule (allowed-tools, grants). Pure.
std::string CommandGrantText(const Skill& skill);

/// The workspace of a call of `skill` (RunOverrides::workspace): `path` resolved and pinned
/// (runtime/path_pin.h), as a writable BindMount with the workspace flag, shown inside at
/// `path` (lexically normalized). Errors, each naming the workspace: kInvalidArgument for a
/// skill that is not native, a relative path, something other than a directory, or a
/// directory that is, holds or lies in the skill directory (`skill_pin`); kNotFound when it
/// does not exist; kDenied for a reserved host path (ReservedHostPath); kConflict when it
/// changed while being resolved.
Result<BindMount> WorkspaceMount(const Skill& skill, const PathPin& skill_pin,
                                 const std::filesystem::path& path);

/// `argv` with the first operand (the first word after argv[0] not starting with '-') written
/// as /skill/<operand> when `plan` has a workspace, the operand is a relative path naming a
/// regular file in the skill directory without leaving it, and it names nothing in the
/// workspace. So `python scripts/x.py in.pdf`, as a skill's instructions spell it, runs the
/// skill's script while relative data paths stay in the working directory, the workspace.
/// Without a workspace the skill directory is the working directory and `argv` is returned
/// unchanged. Reads the file system (stat(2)).
std::vector<std::string> WithSkillScript(const Plan& plan, std::vector<std::string> argv);

/// True when `argv0` is one of `allowed`, compared as exact strings (SameCommand): a bare name
/// matches only the same bare name (resolved on the sandbox PATH) or its command alias
/// (`python` and `python3`, kCommandAliases), an absolute path only the same absolute path.
/// Nothing is normalised, so "./python3" or "/tmp/python3" never match "python3".
bool IsCommandAllowed(const std::vector<std::string>& allowed, std::string_view argv0);

/// `limits` narrowed by `overrides`. An override larger than the manifest's value is
/// kInvalidArgument naming the override and the manifest key ("the wall_time override 100s
/// exceeds the manifest's wall_time_ms 30000"), as is a zero or negative override; never
/// widens.
Result<Limits> ApplyOverrides(const Limits& limits, const RunOverrides& overrides);

/// The plan of `run`: the skill's entry point with `stdin_data` (the input JSON text when
/// `entry.input` is stdin). kDenied when the skill has no entry point. Other errors as for
/// BuildPlan. Does not validate the input against the schema (the engine does).
Result<Plan> BuildRunPlan(const Skill& skill, const RunRequest& request, std::string run_id);

/// The plan of `exec`: `request.argv` in the skill's sandbox. Errors as CheckExecArgv, then
/// as BuildPlan.
Result<Plan> BuildExecPlan(const Skill& skill, const ExecRequest& request, std::string run_id);

/// Whether `argv` may be the argv of an `exec` call of `skill`: kInvalidArgument for an empty
/// argv or argv[0]; kDenied, naming the allowed commands (CommandGrantText for an inferred
/// manifest), when argv[0] is not allowed (IsCommandAllowed).
Result<void> CheckExecArgv(const Skill& skill, const std::vector<std::string>& argv);

/// The common part (the argv then passes through WithSkillScript): environment (BaseEnvironment, then `capabilities.env.pass` variables set
/// on the host, then `capabilities.env.set`, which wins, then EgressProxyEnvironment for a
/// native skill with an egress allowlist), the allowlist itself, mounts (each declared path must
/// exist: kNotFound "<dir>/skill.toml: capabilities.read: /x does not exist"), the workspace
/// (WorkspaceMount, after the declared paths), commands, limits (ApplyOverrides), level and
/// the system execution profile. kValidation for an env name that is empty, contains
/// '=', or is reserved (SKILL_DIR, SKILLRT_RUN_ID, and the proxy variables when the skill has
/// an egress allowlist). Reads the host environment with getenv(3):
/// thread-safe as long as no thread modifies the environment.
Result<Plan> BuildPlan(const Skill& skill, std::vector<std::string> argv, std::string stdin_data,
                       const RunOverrides& overrides, std::string run_id);

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_PLAN_BUILDER_H_
