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

#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/error.h"
#include "skillrt/grants.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// How an Engine is set up.
struct EngineOptions {
  /// State directory; empty means $SKILLRT_HOME, else ~/.skillrt.
  std::filesystem::path home;
  /// Extra skill roots (`--skills DIR`), searched before $SKILLRT_PATH and <home>/skills.
  std::vector<std::filesystem::path> skill_roots;
  /// Keep the catalogue of the skill roots between calls under an inotify watch (a
  /// long-lived process). A one-shot caller (the CLI) turns it off: each call then walks the
  /// roots, and no watch has to be torn down at exit (Registry's `watch`).
  bool watch_skill_roots = true;
  /// Native sandbox options.
  NativeRuntimeOptions native;
  /// WebAssembly runtime options; an empty cache_dir means <home>/cache/wasm.
  WasmRuntimeOptions wasm;
  /// Refuse every skill that has no entry in <home>/skills.lock (docs/install-lock.md). The
  /// lock file's own `require` flag has the same effect; either one suffices.
  bool require_lock = false;
  /// Container runtime options (engine choice: docs/container.md).
  ContainerRuntimeOptions container;
  /// Which policy files are read (policy.h, docs/policy.md); read once, by Open.
  PolicyOptions policy;
  /// Answers approval requests when the policy asks (docs/approvals.md). Empty: there is no
  /// approver, and every call the policy asks about is denied.
  ApprovalCallback approver;
  /// How `approver` is named in audit records and messages ("callback"; the CLI's prompt
  /// is "tty").
  std::string approver_name = "callback";
};

/// Caller-side narrowing of a run; fields left empty keep the manifest's values. `grants`
/// is the one widening, and it is judged by the policy.
struct RunOverrides {
  std::optional<std::chrono::milliseconds> wall_time;  ///< May only narrow the manifest's.
  std::optional<uint64_t> memory_max_bytes;            ///< May only narrow the manifest's.
  SandboxLevel level = SandboxLevel::kStrict;
  /// Commands and host paths granted for this call only, beyond the manifest and the grants
  /// file (docs/grants.md): checked like the manifest's (kInvalidArgument otherwise), each
  /// a policy subject ("grant command git", asked by default), in the approval key and the
  /// audit record. `python` must be empty: dependencies are prepared, not granted per call.
  Grants grants = {};
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

/// What the policy says about a call, without running it (`skillrt policy check`).
struct PolicyCheck {
  std::string skill;      ///< The skill's name.
  std::string kind;       ///< "run" or "exec".
  PolicyDecision decision;  ///< Includes refusals by the manifest or the command guard.
  RiskAssessment risk;    ///< The command guard's assessment of the argv.
  /// The approval key of the call when the policy asks (for `run`, with the input `{}`).
  std::string approval_key;
  bool stored_approval = false;  ///< The key is in <home>/approvals.json.
};

class ApprovalGate;
struct ResolvedSecret;

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
  ///
  /// After planning, the policy decides (docs/policy.md): deny returns an Outcome with
  /// Status::kDenied naming the rule; ask puts the call to the approvers (docs/approvals.md):
  /// a stored or session approval, else EngineOptions::approver, else it is denied. Approval
  /// never changes the plan: an approved call runs in the same sandbox. The decision, and who
  /// approved and how, are in the audit record (docs/audit.md, "Decisions").
  Result<Outcome> Run(const RunRequest& request);

  /// Runs `argv` inside the skill's sandbox. The risk guard (risk.h, docs/risk-guard.md)
  /// checks it first: a single argument holding shell syntax is parsed as a command line (and
  /// run with `sh -c` only if `sh` is allowed); wrappers such as `bash -c`, `env`, `xargs` and
  /// `find -exec` are unwrapped; every simple command must be among the allowed commands on
  /// its own, and critical risks are refused. A refusal is an Outcome with Status::kDenied
  /// naming the command and the reason (audited); lock, instances, secrets, the policy,
  /// approvals and other errors as for Run.
  Result<Outcome> Exec(const ExecRequest& request);

  /// The policy's decision on `run` of `skill` (when `argv` is empty) or on `exec` of `argv`,
  /// and every rule that led to it. Prepares the call as Run would (lock, instance, secrets:
  /// a required secret without a value is an error; values are dropped unused) and plans it,
  /// but neither asks an approver nor runs nor audits anything. A call the lock, the manifest
  /// or the command guard refuses is a deny decision with a built-in rule ("lock",
  /// "manifest", "command-guard"). Errors as for Run.
  Result<PolicyCheck> CheckPolicy(const std::string& skill, const std::vector<std::string>& argv,
                                  const RunOverrides& overrides = {});

  /// The policy read when the engine opened.
  const Policy& policy() const { return policy_; }

  /// True once an approver aborted (or denied one call kDenialsBeforeAbort times): every
  /// later call that the policy asks about is refused without asking.
  bool approvals_aborted() const;

  const Registry& registry() const { return registry_; }
  const std::filesystem::path& home() const { return home_; }
  AuditLog& audit() { return *audit_; }

 private:
  Engine(std::filesystem::path home, Registry registry, std::unique_ptr<AuditLog> audit,
         std::unique_ptr<Runtime> native, std::unique_ptr<Runtime> wasm,
         std::unique_ptr<Runtime> container);
  struct GateVerdict;
  // `secrets` are redacted from the runtime's outcome once its output is parsed, before it is
  // audited or returned, and from a runtime's error; `decision` is the gate's, for the audit
  // record.
  Result<Outcome> Execute(const Skill& skill, Plan plan, const nlohmann::json& invocation,
                          const std::vector<ResolvedSecret>& secrets,
                          const nlohmann::json& decision);
  Result<GateVerdict> Gate(const Skill& skill, const Plan& plan, const nlohmann::json& invocation,
                           const std::vector<std::string>& argv, RiskAssessment risk,
                           std::vector<PolicyExecCommand> exec);
  // Gates `plan`; refuses (audited) what the gate does not allow, else runs it with Execute.
  Result<Outcome> GateAndExecute(const Skill& skill, Plan plan, const nlohmann::json& invocation,
                                 const RunOverrides& overrides,
                                 const std::vector<std::string>& argv, RiskAssessment risk,
                                 std::vector<PolicyExecCommand> exec,
                                 const std::vector<ResolvedSecret>& secrets);

  std::filesystem::path home_;
  Registry registry_;
  std::unique_ptr<AuditLog> audit_;
  std::unique_ptr<Runtime> native_;
  std::unique_ptr<Runtime> wasm_;
  std::unique_ptr<Runtime> container_;
  bool require_lock_ = false;
  Policy policy_;
  std::unique_ptr<ApprovalGate> approvals_;
};

/// $SKILLRT_HOME if set and non-empty, else $HOME/.skillrt.
std::filesystem::path DefaultHome();

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_H_
