#include "engine/plan_builder.h"

#include <stdlib.h>

#include <algorithm>
#include <cstdio>
#include <filesystem>
#include <map>
#include <system_error>
#include <utility>

#include "container/launch_policy.h"
#include "engine/call_grants.h"
#include "gate/script_rule.h"
#include "runtime/path_pin.h"

namespace skillrt {
namespace {

// The command aliases (/skillrt/bin, kCommandAliases) first, so that `python` is Python 3 even
// on a host whose /usr/bin/python is something else.
constexpr std::string_view kSandboxPath = "/skillrt/bin:/usr/local/bin:/usr/bin:/bin";

// Where the skill directory appears inside the sandbox.
constexpr std::string_view kSkillMount = "/skill";

// "1.5s", "30s": a duration in seconds, as overrides are spelled.
std::string SecondsText(std::chrono::milliseconds ms) {
  if (ms.count() % 1000 == 0) return std::to_string(ms.count() / 1000) + "s";
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(ms.count()) / 1000.0);
  std::string text(buf);
  while (text.back() == '0') text.pop_back();
  return text + "s";
}

// "256", "0.5": bytes as MiB, the unit of memory_mb.
std::string MibText(uint64_t bytes) {
  if (bytes % (1ull << 20) == 0) return std::to_string(bytes >> 20);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.3f", static_cast<double>(bytes) / (1 << 20));
  std::string text(buf);
  while (text.back() == '0') text.pop_back();
  if (text.back() == '.') text.pop_back();
  return text;
}

Result<void> CheckEnvName(const std::filesystem::path& manifest_file, std::string_view key,
                          std::string_view name) {
  if (name.empty() || name.find('=') != std::string_view::npos ||
      name.find('\0') != std::string_view::npos) {
    return Fail(ErrorCode::kValidation, manifest_file.string() + ": " + std::string(key) +
                                            ": invalid variable name '" + std::string(name) +
                                            "'");
  }
  if (EnvNameOwnerOf(name) == EnvNameOwner::kSkillrt) {
    return Fail(ErrorCode::kValidation, manifest_file.string() + ": " + std::string(key) + ": " +
                                            std::string(name) + " is reserved by skillrt");
  }
  return {};
}

}  // namespace

Result<BindMount> WorkspaceMount(const Skill& skill, const PathPin& skill_pin,
                                 const std::filesystem::path& path) {
  const std::string shown = path.string();
  if (skill.manifest.runtime != RuntimeKind::kNative) {
    return Fail(ErrorCode::kInvalidArgument,
                "workspace " + shown + ": skill '" + skill.meta.name + "' runs in the " +
                    std::string(RuntimeKindName(skill.manifest.runtime)) +
                    " runtime; a workspace is available to native skills only");
  }
  if (!path.is_absolute()) {
    return Fail(ErrorCode::kInvalidArgument, "workspace " + shown + " is not an absolute path");
  }
  const std::filesystem::path normal = path.lexically_normal();
  // The sandbox shows it at this path: without a trailing slash or "." and ".." parts.
  std::filesystem::path inside = normal;
  if (inside.has_parent_path() && !inside.has_filename()) inside = inside.parent_path();
  Result<PathPin> pin = PinHostPath(inside);
  if (!pin) {
    Error error = pin.error();
    if (error.code == ErrorCode::kNotFound) error.message = "workspace " + shown + " does not exist";
    return std::unexpected(std::move(error));
  }
  if (!pin->directory) {
    return Fail(ErrorCode::kInvalidArgument, "workspace " + shown + " is not a directory");
  }
  if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
    return Fail(ErrorCode::kDenied, "workspace " + shown + " resolves to " +
                                        pin->resolved.string() + ", which is or lies under '" +
                                        std::string(*reserved) +
                                        "', a reserved host path that cannot be granted");
  }
  // The skill's code stays read-only: a workspace may neither be its directory, nor hold it,
  // nor lie inside it.
  const std::string ws = pin->resolved.string(), code = skill_pin.resolved.string();
  auto under = [](const std::string& path, const std::string& dir) {
    return path == dir || dir == "/" ||
           (path.starts_with(dir) && path.size() > dir.size() && path[dir.size()] == '/');
  };
  if (under(ws, code) || under(code, ws)) {
    return Fail(ErrorCode::kInvalidArgument,
                "workspace " + shown + " overlaps the skill's own directory " + code +
                    ", which stays read-only");
  }
  return BindMount{.path = inside, .writable = true, .pin = std::move(*pin), .workspace = true};
}

std::vector<std::string> BaseEnvironment(std::string_view run_id) {
  return {
      "PATH=" + std::string(kSandboxPath),
      "HOME=/tmp",  // The only writable place every sandbox has.
      "TMPDIR=/tmp",
      "LANG=C.UTF-8",
      "SKILL_DIR=" + std::string(kSkillMount),
      "SKILLRT_RUN_ID=" + std::string(run_id),
  };
}

std::vector<std::string> EgressProxyEnvironment() {
  const std::string url = "http://127.0.0.1:" + std::to_string(kEgressProxyPort);
  std::vector<std::string> env;
  // Upper and lower case: curl reads only the lower-case http_proxy, other tools the upper.
  for (const char* name : {"HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY", "http_proxy", "https_proxy",
                           "all_proxy"}) {
    env.push_back(std::string(name) + "=" + url);
  }
  // Nothing bypasses the proxy: there is no route to anything else.
  env.push_back("NO_PROXY=");
  env.push_back("no_proxy=");
  return env;
}

std::vector<std::string> AllowedCommands(const Manifest& manifest) {
  std::vector<std::string> allowed;
  auto add = [&](const std::string& command) {
    if (command.empty()) return;
    if (std::find(allowed.begin(), allowed.end(), command) == allowed.end()) {
      allowed.push_back(command);
    }
  };
  for (const std::string& command : manifest.capabilities.commands) add(command);
  if (manifest.entry && !manifest.entry->argv.empty()) add(manifest.entry->argv[0]);
  for (const InferredCommand& command : manifest.script_commands) add(command.command);
  return allowed;
}

std::string CommandGrantText(const Skill& skill) {
  const std::vector<std::string> allowed = AllowedCommands(skill.manifest);
  const std::vector<std::string> script_only = ScriptOnlyCommands(skill.manifest);
  std::string full, scripts;
  for (const std::string& command : allowed) {
    bool only = std::find(script_only.begin(), script_only.end(), command) != script_only.end();
    std::string& list = only ? scripts : full;
    list += (list.empty() ? "" : ", ") + command;
  }
  if (!skill.manifest.inferred) {
    return (skill.dir / "skill.toml").string() + " capabilities.commands allows: " +
           (full.empty() ? "none" : full);
  }
  std::string text = "the skill has no skill.toml; ";
  text += scripts.empty() ? "no command was inferred from its files"
                          : "inferred from its files: " + scripts +
                                " (only to run a file of the skill)";
  // From allowed-tools or a grant: allowed without the rule.
  if (!full.empty()) text += "; also allowed: " + full;
  return text + "; any other command needs a grant from the user (docs/inference.md)";
}

std::vector<std::string> WithSkillScript(const Plan& plan, std::vector<std::string> argv) {
  const BindMount* workspace = nullptr;
  for (const BindMount& m : plan.mounts) {
    if (m.workspace) workspace = &m;
  }
  if (workspace == nullptr) return argv;
  for (size_t i = 1; i < argv.size(); ++i) {
    const std::string& word = argv[i];
    if (word.empty() || word[0] == '-') continue;
    const std::filesystem::path relative = std::filesystem::path(word).lexically_normal();
    // Only the first operand, and only a path that stays inside the skill directory.
    if (relative.is_absolute() || relative.empty() || *relative.begin() == "..") return argv;
    std::error_code ec;
    const std::filesystem::path host_dir = workspace->pin ? workspace->pin->resolved
                                                          : workspace->path;
    if (std::filesystem::is_regular_file(plan.skill_dir / relative, ec) &&
        !std::filesystem::exists(std::filesystem::symlink_status(host_dir / relative, ec))) {
      argv[i] = std::string(kSkillMount) + "/" + relative.string();
    }
    return argv;
  }
  return argv;
}

bool IsCommandAllowed(const std::vector<std::string>& allowed, std::string_view argv0) {
  if (argv0.empty()) return false;
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& command) { return SameCommand(command, argv0); });
}

Result<Limits> ApplyOverrides(const Limits& limits, const RunOverrides& overrides) {
  Limits out = limits;
  if (overrides.wall_time) {
    std::chrono::milliseconds wall = *overrides.wall_time;
    if (wall.count() <= 0) {
      return Fail(ErrorCode::kInvalidArgument, "the wall_time override must be positive, got " +
                                                   std::to_string(wall.count()) + " ms");
    }
    if (wall > limits.wall_time) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the wall_time override " + SecondsText(wall) + " exceeds the manifest's wall_time_ms " +
                      std::to_string(limits.wall_time.count()));
    }
    out.wall_time = wall;
  }
  if (overrides.memory_max_bytes) {
    uint64_t memory = *overrides.memory_max_bytes;
    if (memory == 0) return Fail(ErrorCode::kInvalidArgument, "the memory override must be positive");
    if (memory > limits.memory_max_bytes) {
      return Fail(ErrorCode::kInvalidArgument,
                  "the memory override " + MibText(memory) + " MB exceeds the manifest's memory_mb " +
                      MibText(limits.memory_max_bytes));
    }
    out.memory_max_bytes = memory;
  }
  return out;
}

Result<Plan> BuildPlan(const Skill& skill, std::vector<std::string> argv, std::string stdin_data,
                       const RunOverrides& overrides, std::string run_id) {
  if (argv.empty() || argv[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "empty command for skill '" + skill.meta.name + "'");
  }
  const Manifest& manifest = skill.manifest;
  const std::filesystem::path manifest_file = skill.dir / "skill.toml";
  // A manifest that says network without naming hosts never parses; a hand-built one that
  // does is refused rather than run with an empty allowlist.
  if (manifest.capabilities.network && manifest.capabilities.egress.empty()) {
    return Fail(ErrorCode::kValidation,
                manifest_file.string() + ": capabilities.network: no hosts are allowed");
  }
  // Network is granted only when the (possibly instance-narrowed) manifest says so; the hosts
  // alone never grant it.
  const bool egress = manifest.capabilities.network && !manifest.capabilities.egress.empty();

  Plan plan;
  plan.run_id = std::move(run_id);
  plan.skill_name = skill.meta.name;
  plan.skill_dir = skill.dir;
  Result<PathPin> skill_pin = PinHostPath(skill.dir);
  if (!skill_pin) return std::unexpected(skill_pin.error());
  if (!skill_pin->directory) {
    return Fail(ErrorCode::kInvalidArgument, "skill directory " + skill.dir.string() +
                                                 " is not a directory");
  }
  // Installed skills live in the state directory, and are mounted read-only; a skill
  // directory that is or contains the state directory would show the skill its own grants.
  if (const std::string state = skill.grants.state_dir.string(),
      dir = skill_pin->resolved.string();
      !state.empty() && (state == dir || state.starts_with(dir == "/" ? dir : dir + "/"))) {
    return Fail(ErrorCode::kDenied, "skill directory " + dir + " contains skillrt's state "
                                    "directory " + state + ", which no sandbox may reach");
  }
  plan.skill_dir_pin = std::move(*skill_pin);
  plan.tree_sha256 = skill.tree_sha256;
  plan.argv = std::move(argv);
  plan.stdin_data = std::move(stdin_data);
  plan.level = overrides.level;
  plan.network = egress;
  if (egress) plan.egress = manifest.capabilities.egress;
  plan.commands = AllowedCommands(manifest);
  plan.container = manifest.container;

  // Environment: later definitions of a name replace earlier ones, keeping first position.
  std::vector<std::pair<std::string, std::string>> env;
  auto set_var = [&env](const std::string& name, std::string value) {
    for (auto& [existing, old_value] : env) {
      if (existing == name) {
        old_value = std::move(value);
        return;
      }
    }
    env.emplace_back(name, std::move(value));
  };
  // A WebAssembly guest sees only the variables its manifest declares: it has no PATH, home
  // or locale to find, and its files are at fixed preopens (/skill, /tmp).
  if (manifest.runtime != RuntimeKind::kWasm) {
    for (const std::string& entry : BaseEnvironment(plan.run_id)) {
      size_t eq = entry.find('=');
      env.emplace_back(entry.substr(0, eq), entry.substr(eq + 1));
    }
  }
  // With egress, the proxy variables point at skillrt's proxy; a manifest may not redirect them.
  const std::vector<std::string> proxy_env =
      egress && manifest.runtime != RuntimeKind::kWasm ? EgressProxyEnvironment()
                                                       : std::vector<std::string>{};
  auto check_name = [&](std::string_view key, const std::string& name) -> Result<void> {
    if (auto ok = CheckEnvName(manifest_file, key, name); !ok) return ok;
    for (const std::string& entry : proxy_env) {
      if (entry.substr(0, entry.find('=')) == name) {
        return Fail(ErrorCode::kValidation, manifest_file.string() + ": " + std::string(key) +
                                                ": " + name +
                                                " is reserved by skillrt for the egress proxy");
      }
    }
    return {};
  };
  for (const std::string& name : manifest.capabilities.env.pass) {
    if (auto ok = check_name("capabilities.env.pass", name); !ok) {
      return std::unexpected(ok.error());
    }
    if (const char* value = ::getenv(name.c_str()); value != nullptr) set_var(name, value);
  }
  for (const auto& [name, value] : manifest.capabilities.env.set) {
    if (auto ok = check_name("capabilities.env.set", name); !ok) {
      return std::unexpected(ok.error());
    }
    set_var(name, value);
  }
  for (const std::string& entry : proxy_env) {
    size_t eq = entry.find('=');
    set_var(entry.substr(0, eq), entry.substr(eq + 1));
  }
  if (skill.grants.python) {
    // The prepared packages come first on the module path; a manifest's own PYTHONPATH
    // (env.set) follows them.
    std::string path = std::string(kPythonEnvMount) + "/site-packages";
    for (const auto& [name, value] : env) {
      if (name == "PYTHONPATH" && !value.empty()) path += ":" + value;
    }
    set_var("PYTHONPATH", std::move(path));
  }
  plan.env.reserve(env.size());
  for (auto& [name, value] : env) plan.env.push_back(name + "=" + value);

  // `where` names the source in messages ("<dir>/skill.toml: capabilities.read", "grant
  // --write").
  auto add_mounts = [&](const std::vector<std::filesystem::path>& paths, bool writable,
                        const std::string& where, MountOrigin origin) -> Result<void> {
    for (const std::filesystem::path& path : paths) {
      if (!path.is_absolute()) {
        return Fail(ErrorCode::kValidation, where + ": " + path.string() + " is not absolute");
      }
      // Resolved once, here: the policy, the approval key and the runtime all see this one
      // object, never whatever the path names later.
      Result<PathPin> pin = PinHostPath(path);
      if (!pin) {
        Error error = pin.error();
        error.message = where + ": " + (error.code == ErrorCode::kNotFound
                                            ? path.string() + " does not exist"
                                            : error.message);
        return std::unexpected(std::move(error));
      }
      if (std::optional<std::string_view> reserved = ReservedHostPath(pin->resolved.string())) {
        return Fail(ErrorCode::kDenied,
                    where + ": " + path.string() + " resolves to " + pin->resolved.string() +
                        ", which is or lies under '" + std::string(*reserved) +
                        "', a reserved host path that cannot be granted");
      }
      if (auto ok = CheckStateDirectory(skill.grants.state_dir, *pin, where + ": " + path.string());
          !ok) {
        return ok;
      }
      plan.mounts.push_back(BindMount{
          .path = path, .writable = writable, .pin = std::move(*pin), .origin = origin});
    }
    return {};
  };
  const std::string manifest_key = manifest_file.string() + ": capabilities.";
  if (auto ok = add_mounts(manifest.capabilities.read_paths, false, manifest_key + "read",
                           MountOrigin::kManifest);
      !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add_mounts(manifest.capabilities.write_paths, true, manifest_key + "write",
                           MountOrigin::kManifest);
      !ok) {
    return std::unexpected(ok.error());
  }
  // The user's grants beyond the manifest (grants.h), pinned and checked the same way.
  const Grants& granted = skill.grants.widened;
  if (auto ok = add_mounts(granted.read_paths, false, "grant read", MountOrigin::kGrant); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = add_mounts(granted.write_paths, true, "grant write", MountOrigin::kGrant); !ok) {
    return std::unexpected(ok.error());
  }
  if (auto ok = AddPythonEnvironment(skill, plan); !ok) return std::unexpected(ok.error());
  if (overrides.workspace) {
    auto workspace = WorkspaceMount(skill, *plan.skill_dir_pin, *overrides.workspace);
    if (!workspace) return std::unexpected(workspace.error());
    // A workspace is a writable host path like any other: never the state directory.
    if (workspace->pin) {
      if (auto ok = CheckStateDirectory(skill.grants.state_dir, *workspace->pin,
                                        "workspace " + overrides.workspace->string());
          !ok) {
        return std::unexpected(ok.error());
      }
    }
    plan.mounts.push_back(std::move(*workspace));
  }
  plan.exec_profile = ExecProfile::kSystem;
  plan.argv = WithSkillScript(plan, std::move(plan.argv));

  auto limits = ApplyOverrides(manifest.limits, overrides);
  if (!limits) return std::unexpected(limits.error());
  plan.limits = *limits;
  if (manifest.runtime == RuntimeKind::kContainer) {
    // The launch policy refuses before any engine is involved; the runtime checks again.
    const std::vector<container::Refusal> refusals = container::CheckPlan(plan);
    if (!refusals.empty()) return std::unexpected(container::RefusalError(manifest_file, refusals));
  }
  return plan;
}

Result<Plan> BuildRunPlan(const Skill& skill, const RunRequest& request, std::string run_id) {
  const Manifest& manifest = skill.manifest;
  if (!manifest.entry || manifest.entry->argv.empty()) {
    return Fail(ErrorCode::kDenied,
                "skill '" + skill.meta.name + "' has no entry point; use exec");
  }
  std::string stdin_data;
  if (manifest.entry->input == InputMode::kStdin) {
    stdin_data = request.input.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
  }
  return BuildPlan(skill, manifest.entry->argv, std::move(stdin_data), request.overrides,
                   std::move(run_id));
}

Result<void> CheckExecArgv(const Skill& skill, const std::vector<std::string>& argv) {
  if (argv.empty() || argv[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "exec: a command is required");
  }
  std::vector<std::string> allowed = AllowedCommands(skill.manifest);
  if (!IsCommandAllowed(allowed, argv[0])) {
    if (skill.manifest.inferred) {
      return Fail(ErrorCode::kDenied,
                  "command '" + argv[0] + "' is not allowed: " + CommandGrantText(skill));
    }
    std::string list;
    for (const std::string& command : allowed) list += (list.empty() ? "" : ", ") + command;
    if (list.empty()) list = "none";
    return Fail(ErrorCode::kDenied, "command '" + argv[0] + "' is not allowed by " +
                                        (skill.dir / "skill.toml").string() +
                                        " capabilities.commands (allowed: " + list + ")");
  }
  return {};
}

Result<Plan> BuildExecPlan(const Skill& skill, const ExecRequest& request, std::string run_id) {
  if (auto ok = CheckExecArgv(skill, request.argv); !ok) return std::unexpected(ok.error());
  return BuildPlan(skill, request.argv, request.stdin_data, request.overrides,
                   std::move(run_id));
}

}  // namespace skillrt
