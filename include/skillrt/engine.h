// The engine: the library entry point that the CLI (and later the MCP server, HTTP service
// and SDKs) are thin clients of. Loads a skill, builds the plan, runs it in the runtime the
// manifest names, interprets the output and appends the audit record.
#ifndef SKILLRT_ENGINE_H_
#define SKILLRT_ENGINE_H_

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <expected>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/approval.h"
#include "skillrt/audit.h"
#include "skillrt/error.h"
#include "skillrt/events.h"
#include "skillrt/grants.h"
#include "skillrt/outcome.h"
#include "skillrt/plan.h"
#include "skillrt/policy.h"
#include "skillrt/registry.h"
#include "skillrt/runtime.h"

namespace skillrt {

/// A runtime made by `factory` on its first run rather than now: the engine's own runtimes
/// are made this way, and a process that opens several engines over the same runtimes (the
/// daemon, docs/daemon.md) passes one to each as EngineOptions::native_runtime and the like.
/// The factory runs once, on the first Execute; its failure is kept and returned by every
/// Execute. `name` is what Name() returns before and after. Thread-safe.
std::shared_ptr<Runtime> MakeLazyRuntime(
    std::string name, std::function<Result<std::unique_ptr<Runtime>>()> factory);

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
  /// When set, the engine finds skills through the registry these keep for its roots
  /// (Registry::DefaultRoots of skill_roots and the home), and watch_skill_roots is not used:
  /// a process that opens an engine per call keeps one catalogue across them. Shared; may be
  /// given to any number of engines at once.
  std::shared_ptr<KeptRegistries> kept_registries;
  /// Native sandbox options.
  NativeRuntimeOptions native;
  /// WebAssembly runtime options; an empty cache_dir means <home>/cache/wasm.
  WasmRuntimeOptions wasm;
  /// Refuse every skill that has no entry in <home>/skills.lock (docs/install-lock.md). The
  /// lock file's own `require` flag has the same effect; either one suffices.
  bool require_lock = false;
  /// Container runtime options (engine choice: docs/container.md); an empty
  /// probe_cache_dir means <home>/cache/container.
  ContainerRuntimeOptions container;
  /// Which policy files are read (policy.h, docs/policy.md); read once, by Open.
  PolicyOptions policy;
  /// Answers approval requests when the policy asks (docs/approvals.md). Empty: there is no
  /// approver, and every call the policy asks about is denied.
  ApprovalCallback approver;
  /// How `approver` is named in audit records and messages ("callback"; the CLI's prompt
  /// is "tty").
  std::string approver_name = "callback";
  /// Without `approver`: how long a run the policy asks about waits for Engine::Approve
  /// (emitting `approval_requested`) before the request counts as denied (via "timeout").
  /// Zero: nobody is asked and the call is denied at once (via "none"). Front ends that show
  /// pending approvals to a person (the HTTP service, the MCP server) set it.
  std::chrono::milliseconds approval_timeout{0};
  /// What the kDenialsBeforeAbort-th denial of one approval key does. True (a one-shot
  /// process, an agent's run): it aborts the approval session, and every later call the
  /// policy asks about is refused without asking. False (a long-lived server answering many
  /// clients, where one client's refused call must not shut approvals off for the others):
  /// that key alone is refused without asking for the rest of the engine's life, with a
  /// message saying so; other keys are asked as before.
  bool repeated_denial_aborts = true;
  /// The most bytes of output (and egress) events held per run for readers of its events;
  /// past it the oldest are dropped, counted, and readers see the gap (docs/events.md).
  /// What the Outcome holds is not affected.
  uint64_t event_buffer_bytes = 1ull << 20;
  /// Runtimes to use instead of the ones the engine would make (tests, embedders with their
  /// own runtime). Null: the engine makes the native, WebAssembly or container runtime the
  /// first time a skill needs it. Shared: a runtime may serve several engines.
  std::shared_ptr<Runtime> native_runtime;
  std::shared_ptr<Runtime> wasm_runtime;
  std::shared_ptr<Runtime> container_runtime;
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
  /// A host directory the call may read and write: bound at its own path, the working
  /// directory of the program, with the skill directory still read-only at /skill. It widens
  /// the call, so the policy judges it as a path the call writes, and the approval key and
  /// the audit record name it (resolved and pinned like a declared path). Native skills only.
  /// Absolute; kInvalidArgument otherwise, kNotFound when missing, kDenied for a reserved host
  /// path. Files the skill creates there belong to the directory's owner (docs/sandbox.md,
  /// "Workspace").
  std::optional<std::filesystem::path> workspace;
};

/// `run`: execute the skill's entry point with `input`.
struct RunRequest {
  /// Name or path, optionally followed by "@INSTANCE" (ParseSkillSelector in instance.h).
  std::string skill;
  nlohmann::json input = nlohmann::json::object();
  RunOverrides overrides = {};
  /// The run id to use: 1-64 characters of [A-Za-z0-9_-], not the id of a run in flight.
  /// Empty: the engine makes one (time-sortable, random).
  std::string run_id = {};
};

/// `exec`: run `argv` in the skill's sandbox, cwd = the workspace if there is one, else the
/// skill directory.
struct ExecRequest {
  /// Name or path, optionally followed by "@INSTANCE" (ParseSkillSelector in instance.h).
  std::string skill;
  std::vector<std::string> argv = {};  ///< Non-empty; argv[0] must be an allowed command.
  std::string stdin_data = {};
  RunOverrides overrides = {};
  /// As RunRequest::run_id.
  std::string run_id = {};
};

class RunState;

/// A run in flight or finished: its id, its events, its cancellation and its result.
/// Copyable; copies refer to the same run. Thread-safe: any thread may read events, cancel
/// or wait. A handle keeps what the run produced (events, outcome) alive, not the Engine: it
/// stays usable after the Engine is destroyed (the run was cancelled and finished then).
class RunHandle {
 public:
  /// The run id, known as soon as Start returns.
  const std::string& run_id() const;

  /// Asks the run to stop. Before the skill starts, it is not started; while it waits for
  /// approval, the wait ends; while it runs, its runtime stops it (docs/events.md,
  /// "Cancellation"). The outcome is Status::kCancelled with `reason` as its message, audited
  /// once. No effect once the run finished, or after an earlier Cancel. Never blocks on the
  /// run. Returns true when this call cancelled a run that had not finished.
  bool Cancel(std::string reason = "cancelled");

  /// Blocks until the run ends; then returns what Engine::Run would have. May be called any
  /// number of times, from any thread.
  Result<Outcome> Wait() const;

  /// True once the run has ended (its `finished` event is emitted).
  bool done() const;

  /// The run's events with sequence number > `after` (0 for all), at most `max`, waiting up
  /// to `wait` for the first one when none is there yet. A reader that keeps the last seq it
  /// saw reads every event once; events never wait for readers (EventBatch::dropped).
  EventBatch ReadEvents(uint64_t after = 0, size_t max = 1024,
                        std::chrono::milliseconds wait = std::chrono::milliseconds(0)) const;

 private:
  friend class Engine;
  explicit RunHandle(std::shared_ptr<RunState> state) : state_(std::move(state)) {}
  std::shared_ptr<RunState> state_;
};

/// An approval request that waits for Engine::Approve.
struct PendingApproval {
  std::string run_id;
  ApprovalRequest request;  ///< What is asked, its key, risk and the policy's rules.
  std::chrono::system_clock::time_point since;
  std::chrono::system_clock::time_point deadline;  ///< When it counts as denied.
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

  /// Run(request), with `started` called on this thread with the run's handle once the run
  /// is registered and before anything of it is done, so that the caller can hand the handle
  /// to what watches or cancels it from another thread (a signal, a connection). The run
  /// itself runs on this thread: no thread is started for it, unlike Start.
  Result<Outcome> Run(const RunRequest& request,
                      const std::function<void(RunHandle)>& started);

  /// Starts `request` on a thread of its own and returns at once with its handle: what Run
  /// does, watched through the handle's events (docs/events.md), cancelled with its Cancel,
  /// and waiting, when the policy asks, for an approver or Approve while other runs go on.
  /// Errors, before anything runs: kInvalidArgument for a malformed RunRequest::run_id,
  /// kConflict when it is the id of a run in flight; kIo when no thread can be made. Every
  /// other failure is the handle's result, as Run would return it.
  Result<RunHandle> Start(RunRequest request);

  /// As Start, for Exec.
  Result<RunHandle> Start(ExecRequest request);

  /// The handle of the run in flight with this id, if there is one.
  std::optional<RunHandle> FindRun(std::string_view run_id) const;

  /// Answers the approval that the run `run_id_or_key` waits for (or, given an approval key,
  /// every pending request with that key), as an approver would: kApproveSession and
  /// kApproveAlways also answer other pending requests with the same key; `via` names who
  /// answered, for the events and the audit record ("http:alice", "mcp"). Returns how many
  /// requests were answered. kNotFound when nothing is pending under that name (it was
  /// answered, timed out or its run was cancelled); kInvalidArgument for an empty `via`.
  /// Thread-safe.
  Result<size_t> Approve(std::string_view run_id_or_key, ApprovalDecision decision,
                         std::string via, std::string message = {});

  /// The approval requests now waiting for Approve, oldest first.
  std::vector<PendingApproval> PendingApprovals() const;

  /// Runs `argv` inside the skill's sandbox. The risk guard (risk.h, docs/risk-guard.md)
  /// checks it first: a single argument holding shell syntax is parsed as a command line (and
  /// run with `sh -c` only if `sh` is allowed); wrappers such as `bash -c`, `env`, `xargs` and
  /// `find -exec` are unwrapped; every simple command must be among the allowed commands on
  /// its own, and critical risks are refused. A refusal is an Outcome with Status::kDenied
  /// naming the command and the reason (audited); lock, instances, secrets, the policy,
  /// approvals and other errors as for Run.
  Result<Outcome> Exec(const ExecRequest& request);

  /// Exec(request), with `started` called as for Run(request, started), on this thread.
  Result<Outcome> Exec(const ExecRequest& request,
                       const std::function<void(RunHandle)>& started);

  /// Cancels every run in flight with `reason`; the destructor does this ("engine closing")
  /// and then waits for them to finish.
  void CancelAll(const std::string& reason);

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

  /// True once an approver aborted (or, with EngineOptions::repeated_denial_aborts, denied
  /// one call kDenialsBeforeAbort times): every later call that the policy asks about is
  /// refused without asking.
  bool approvals_aborted() const;

  const Registry& registry() const { return registry_; }
  const std::filesystem::path& home() const { return home_; }
  AuditLog& audit() { return *audit_; }

 private:
  struct Call;      // One call as it moves through the pipeline (src/engine/call.h).
  struct Prepared;  // A call loaded, checked, planned and guarded.
  struct Refusal;   // Why preparing a call stopped.
  class EventRelay;

  Engine(std::filesystem::path home, Registry registry, std::unique_ptr<AuditLog> audit);
  // Registers the run and runs `call` on this thread (`detach` false; `started`, if not
  // null, is called with its handle first) or a new one.
  Result<RunHandle> Launch(Call call, bool detach,
                           const std::function<void(RunHandle)>* started = nullptr);
  // The pipeline of one call: prepare, decide, approve, execute, audit.
  Result<Outcome> Pipeline(Call& call, RunState& state);
  std::expected<Prepared, Refusal> Prepare(Call& call, bool validate_input);
  Result<Outcome> Refuse(const Call& call, const Refusal& refusal,
                         const nlohmann::json& decision);
  Result<Outcome> Execute(Call& call, Prepared& prepared, RunState& state,
                          const nlohmann::json& decision);
  Runtime& RuntimeFor(RuntimeKind kind);

  std::filesystem::path home_;
  Registry registry_;
  std::unique_ptr<AuditLog> audit_;
  std::shared_ptr<Runtime> native_;
  std::shared_ptr<Runtime> wasm_;
  std::shared_ptr<Runtime> container_;
  bool require_lock_ = false;
  Policy policy_;
  std::unique_ptr<ApprovalGate> approvals_;
  uint64_t event_buffer_bytes_ = 1ull << 20;

  mutable std::mutex runs_mu_;
  std::condition_variable runs_cv_;  // Signalled when a run leaves `active_`.
  std::map<std::string, std::shared_ptr<RunState>, std::less<>> active_;  // By run id.
  std::vector<std::thread> threads_;  // Of Start; joined by Launch (when done) and ~Engine.
  std::vector<std::thread::id> done_threads_;  // Threads whose run finished.
};

/// $SKILLRT_HOME if set and non-empty, else $HOME/.skillrt.
std::filesystem::path DefaultHome();

}  // namespace skillrt

#endif  // SKILLRT_ENGINE_H_
