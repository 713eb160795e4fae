// The engine: the library entry point that the CLI (and later the MCP server, HTTP service
// and SDKs) are thin clients of. Loads a skill, builds the plan, runs it in the runtime the
// manifest names, interprets the output and appends the audit record.
#ifndef SKILLRT_ENGINE_H_
#define SKILLRT_ENGINE_H_

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/audit.h"
#include "skillrt/error.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// How an Engine is set up.
struct EngineOptions {
  /// State directory; empty means $SKILLRT_HOME, else ~/.skillrt.
  std::filesystem::path home;
  /// Extra skill roots (`--skills DIR`), searched before $SKILLRT_PATH and <home>/skills.
  std::vector<std::filesystem::path> skill_roots;
  /// Native sandbox options.
  NativeRuntimeOptions native;
  /// WebAssembly runtime options; an empty cache_dir means <home>/cache/wasm.
  WasmRuntimeOptions wasm;
  /// Refuse every skill that has no entry in <home>/skills.lock (docs/install-lock.md). The
  /// lock file's own `require` flag has the same effect; either one suffices.
  bool require_lock = false;
  /// Container runtime options (engine choice: docs/container.md).
  ContainerRuntimeOptions container;
};

/// Caller-side narrowing of a run; fields left empty keep the manifest's values.
struct RunOverrides {
  std::optional<std::chrono::milliseconds> wall_time;  ///< May only narrow the manifest's.
  std::optional<uint64_t> memory_max_bytes;            ///< May only narrow the manifest's.
  SandboxLevel level = SandboxLevel::kStrict;
};

/// `run`: execute the skill's entry point with `input`.
struct RunRequest {
  /// Name or path, optionally followed by "@INSTANCE" (ParseSkillSelector in instance.h).
  std::string skill;
  nlohmann::json input = nlohmann::json::object();
  RunOverrides overrides;
};

/// `exec`: run `argv` in the skill's sandbox, cwd = the skill directory.
struct ExecRequest {
  /// Name or path, optionally followed by "@INSTANCE" (ParseSkillSelector in instance.h).
  std::string skill;
  std::vector<std::string> argv;  ///< Non-empty; argv[0] must be an allowed command.
  std::string stdin_data;
  RunOverrides overrides;
};

/// Thread-safe: Run and Exec may be called concurrently from many threads.
class Engine {
 public:
  /// Resolves the home directory, opens the audit log (<home>/audit.log) and creates the
  /// native runtime. Errors: kIo (home not writable), kUnsupported (no user namespaces).
  static Result<std::unique_ptr<Engine>> Open(EngineOptions options);

  ~Engine();

  /// Runs the skill's entry point. Errors only for skillrt failures: kNotFound (unknown
  /// skill, unknown instance, a required secret without a value), kParse/kValidation (bad
  /// SKILL.md, skill.toml or instances.toml, an instance that widens the manifest),
  /// kInvalidArgument (input not matching the declared schema, a widening override),
  /// kSandbox. A call the manifest does not allow (no entry point) or that the lock refuses
  /// (the skill drifted from <home>/skills.lock, or is unlocked while a lock is required)
  /// returns an Outcome with Status::kDenied whose message is the drift. Before the skill
  /// starts, the instance (explicit "@name" or the skill's default) narrows the manifest and
  /// the declared secrets are resolved from its references; captured output is redacted
  /// (docs/secrets.md). Every call that reaches a skill, refused or not, appends one audit
  /// record; it names the instance and the secrets, never their values.
  Result<Outcome> Run(const RunRequest& request);

  /// Runs `argv` inside the skill's sandbox. The risk guard (risk.h, docs/risk-guard.md)
  /// checks it first: a single argument holding shell syntax is parsed as a command line (and
  /// run with `sh -c` only if `sh` is allowed); wrappers such as `bash -c`, `env`, `xargs` and
  /// `find -exec` are unwrapped; every simple command must be among the allowed commands on
  /// its own, and critical risks are refused. A refusal is an Outcome with Status::kDenied
  /// naming the command and the reason (audited); lock, instances, secrets and other errors
  /// as for Run.
  Result<Outcome> Exec(const ExecRequest& request);

  const Registry& registry() const { return registry_; }
  const std::filesystem::path& home() const { return home_; }
  AuditLog& audit() { return *audit_; }

 private:
  Engine(std::filesystem::path home, Registry registry, std::unique_ptr<AuditLog> audit,
         std::unique_ptr<Runtime> native, std::unique_ptr<Runtime> wasm,
         std::unique_ptr<Runtime> container);
  // `filter` is applied to the runtime's outcome before its output is parsed and audited.
  Result<Outcome> Execute(const Skill& skill, Plan plan, const nlohmann::json& invocation,
                          const std::function<void(Outcome&)>& filter);

  std::filesystem::path home_;
  Registry registry_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Runtime> native_;
  std::unique_ptr<Runtime> wasm_;
  std::unique_ptr<Runtime> container_;
  bool require_lock_ = false;
};

/// $SKILLRT_HOME if set and non-empty, else $HOME/.skillrt.
std::filesystem::path DefaultHome();

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_H_
