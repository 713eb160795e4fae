// The engine: load, check, plan, run, interpret, audit (include/skillrt/engine.h).
#include "skillrt/engine.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <cerrno>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <utility>
#include <variant>

#include "engine/call_grants.h"
#include "engine/gatekeeper.h"
#include "engine/plan_builder.h"
#include "engine/run_journal.h"
#include "engine/run_id.h"
#include "engine/secrets.h"
#include "gate/approval_gate.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/risk.h"
#include "util/sha256.h"

namespace skillrt {
namespace {

// Creates a runtime on its first run rather than when the engine opens, so that listing,
// inspecting and validating skills work on hosts without user namespaces (native) and cost
// nothing for runtimes no skill uses. The factory runs once; its failure is remembered and
// returned by every run.
class LazyRuntime : public Runtime {
 public:
  using Factory = std::function<Result<std::unique_ptr<Runtime>>()>;
  LazyRuntime(std::string_view name, Factory factory)
      : name_(name), factory_(std::move(factory)) {}

  std::string_view Name() const override { return name_; }

  Result<Outcome> Run(const Plan& plan) override {
    std::call_once(once_, [this] {
      auto runtime = factory_();
      if (runtime) {
        inner_ = std::move(*runtime);
      } else {
        error_ = runtime.error();
      }
    });
    if (!inner_) {
      return std::unexpected(error_.value_or(Error::Make(
          ErrorCode::kInternal, std::string(name_) + " runtime could not be created")));
    }
    return inner_->Run(plan);
  }

 private:
  std::string_view name_;
  Factory factory_;
  std::once_flag once_;
  std::unique_ptr<Runtime> inner_;  // Written once under once_, then only read.
  std::optional<Error> error_;
};

std::string DumpText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

// What was asked, without the input itself: its hash and size stand in for it, so the log
// proves what ran without recording data or secrets that may be in it.
nlohmann::json Invocation(std::string_view kind, const std::vector<std::string>& argv,
                          std::string_view input_text) {
  return {
      {"kind", kind},
      {"argv", argv},
      {"input_sha256", Sha256Hex(input_text)},
      {"input_bytes", input_text.size()},
      {"env", nlohmann::json::array()},
  };
}

// Variable names only: values may hold secrets passed from the host.
nlohmann::json EnvNames(const std::vector<std::string>& env) {
  nlohmann::json names = nlohmann::json::array();
  for (const std::string& entry : env) names.push_back(entry.substr(0, entry.find('=')));
  return names;
}

// Runs started by a process that is gone (killed, crashed) never got their audit record:
// end what is left of them (their sandbox's cgroup) and record them as abandoned. Best
// effort: a failure here must not stop the engine from opening, and an entry whose record
// could not be written stays for the next engine.
void FinishAbandonedRuns(const std::filesystem::path& home, AuditLog& audit) {
  RunJournal journal(home);
  for (nlohmann::json& entry : journal.Abandoned()) {
    const std::string run_id = entry.value("run_id", "");
    nlohmann::json record = {
        {"run_id", run_id},
        {"event", "run"},
        {"kind", entry.value("kind", "run")},
        {"skill", entry.value("skill", "")},
        {"runtime", entry.value("runtime", "")},
        {"started", entry.value("started", "")},
        {"owner", entry.value("owner", nlohmann::json::object())},
        {"status", "abandoned"},
        {"message", "skillrt ended before the run did (killed or crashed); the run's "
                    "sandbox was ended when this was found"},
    };
    if (entry.value("runtime", "native") == "native") {
      if (auto reaped = ReapNativeRun(run_id); !reaped) {
        record["reap_error"] = reaped.error().message;
      }
    }
    if (audit.Append(record)) journal.Forget(run_id);
  }
}

// The audit record's fields that do not depend on how the run ended.
nlohmann::json BaseRecord(const Skill& skill, const std::string& run_id, std::string_view event,
                          nlohmann::json invocation, SandboxLevel level, const Limits& limits) {
  std::string kind = invocation.value("kind", "run");
  invocation.erase("kind");
  nlohmann::json instance = nullptr;
  if (invocation.contains("instance")) {
    instance = invocation["instance"];
    invocation.erase("instance");
  }
  return {
      {"run_id", run_id},
      {"event", event},
      {"kind", kind},
      {"instance", instance},
      {"skill", skill.meta.name},
      {"skill_dir", skill.dir.string()},
      {"tree_sha256", skill.tree_sha256},
      {"invocation", std::move(invocation)},
      {"sandbox_level", SandboxLevelName(level)},
      {"limits", LimitsToJson(limits)},
  };
}

void AddOutcome(nlohmann::json& record, const Outcome& outcome) {
  nlohmann::json full = OutcomeToJson(outcome);
  record["status"] = full["status"];
  record["exit_code"] = full["exit_code"];
  record["signal"] = full["signal"];
  record["limits_hit"] = full["limits_hit"];
  record["layers"] = full["layers"];
  record["duration_ms"] = full["duration_ms"];
  record["cpu_ms"] = full["cpu_ms"];
  record["max_rss_kb"] = full["max_rss_kb"];
  record["stdout_bytes"] = outcome.stdout_stream.total_bytes;
  record["stderr_bytes"] = outcome.stderr_stream.total_bytes;
  record["message"] = full["message"];
  uint64_t refused = 0;
  for (const EgressRecord& connection : outcome.egress) refused += connection.allowed ? 0 : 1;
  record["egress_connections"] = outcome.egress.size();
  record["egress_refused"] = refused;
}

void AddError(nlohmann::json& record, const Error& error) {
  Outcome empty;
  empty.message = error.message;
  AddOutcome(record, empty);
  record["status"] = "error";
  record["error_code"] = ErrorCodeName(error.code);
}

// Audits a call refused before it ran, with the policy's `decision` when there was one.
// Returns the audit failure, if any.
Result<void> AuditRefusal(AuditLog& audit, const Skill& skill, const std::string& run_id,
                          const nlohmann::json& invocation, const RunOverrides& overrides,
                          const std::variant<Outcome, Error>& why,
                          const nlohmann::json& decision) {
  nlohmann::json record =
      BaseRecord(skill, run_id, "refusal", invocation, overrides.level, skill.manifest.limits);
  if (!decision.is_null()) record["decision"] = decision;
  if (const Outcome* outcome = std::get_if<Outcome>(&why)) {
    AddOutcome(record, *outcome);
  } else {
    AddError(record, std::get<Error>(why));
  }
  return audit.Append(record);
}

// Returns the audit failure if there was one, else `result`.
Result<Outcome> AfterAudit(Result<void> audited, Result<Outcome> result) {
  if (!audited) {
    return Fail(audited.error().code, "audit log: " + audited.error().message);
  }
  return result;
}

// Turns a planning failure into what the caller sees: kDenied becomes a denied Outcome,
// anything else stays an Error. Both are audited, with the policy's `decision` if any.
Result<Outcome> Refuse(AuditLog& audit, const Skill& skill, const std::string& run_id,
                       const nlohmann::json& invocation, const RunOverrides& overrides,
                       const Error& error, const nlohmann::json& decision = nullptr) {
  if (error.code == ErrorCode::kDenied) {
    Outcome outcome;
    outcome.run_id = run_id;
    outcome.skill = skill.meta.name;
    outcome.status = Status::kDenied;
    outcome.message = error.message;
    auto audited = AuditRefusal(audit, skill, run_id, invocation, overrides, outcome, decision);
    return AfterAudit(std::move(audited), std::move(outcome));
  }
  auto audited = AuditRefusal(audit, skill, run_id, invocation, overrides, error, decision);
  return AfterAudit(std::move(audited), std::unexpected(error));
}

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
}

// The command guard of `exec` (docs/risk-guard.md): returns the argv to run, or kDenied.
// A single word with shell syntax ("pytest && rm -rf /") is a shell command line: it is
// parsed, and runs as `sh -c` only when sh itself is allowed. Any other argv is taken
// literally, with wrappers (`bash -c`, `env`, `find -exec`, ...) unwrapped. Either way every
// simple command must be allowed on its own and no critical risk may be present, with the
// paths of `context` declared. On success `commands` receives every simple command with its
// risk, and `risk` the assessment.
Result<std::vector<std::string>> GuardExec(const Skill& skill,
                                           const std::vector<std::string>& argv,
                                           const RiskContext& context,
                                           std::vector<PolicyExecCommand>* commands,
                                           RiskAssessment* risk) {
  const std::vector<std::string> allowed = AllowedCommands(skill.manifest);
  std::string list;
  for (const std::string& command : allowed) list += (list.empty() ? "" : ", ") + command;
  const std::string where = "; " + (skill.dir / "skill.toml").string() +
                            " capabilities.commands allows: " + (list.empty() ? "none" : list);
  const bool shell_line = argv.size() == 1 && LooksLikeShell(argv[0]);
  auto parsed = shell_line ? ParseShell(argv[0]) : ParseArgv(argv);
  if (!parsed) return Fail(ErrorCode::kDenied, "exec refused: " + parsed.error().message);
  GuardVerdict verdict = GuardCommands(*parsed, allowed, context);
  if (!verdict.allowed) return Fail(ErrorCode::kDenied, verdict.message + where);
  *commands = ExecCommands(*parsed, verdict.risk);
  *risk = verdict.risk;
  if (!shell_line) return argv;
  if (!IsCommandAllowed(allowed, "sh")) {
    // Never add a shell the manifest did not declare.
    return Fail(ErrorCode::kDenied,
                "'" + argv[0] + "' is a shell command line, which needs 'sh'" + where);
  }
  return std::vector<std::string>{"sh", "-c", argv[0]};
}

// A skill made ready for one call: checked against the lock, narrowed by its instance, with
// its secrets resolved.
struct Prepared {
  Skill skill;  // The manifest is the instance's narrowing of the skill's.
  std::optional<Instance> instance;
  std::vector<ResolvedSecret> secrets;
};

// The steps between loading a skill and planning its call, in order: the drift gate on the
// skill as it is on disk (docs/install-lock.md), the instance (docs/instances.md), the user's
// `grants` and the prepared dependencies (docs/grants.md, docs/dependencies.md), the secrets
// (docs/secrets.md). Records the instance, the lock state, the grants, the dependency
// environment and the secret names in `invocation` for the audit record. Errors are refusals
// for the caller to audit.
Result<Prepared> Prepare(const std::filesystem::path& home, Skill skill,
                         const std::optional<std::string>& requested, bool require_lock,
                         const Grants& grants, nlohmann::json& invocation) {
  const std::filesystem::path lock_file = LockFilePath(home);
  auto lock = ReadLockFile(lock_file);
  if (!lock) return std::unexpected(lock.error());
  auto drift = CheckLock(skill, *lock, lock_file, require_lock);
  if (!drift) return std::unexpected(drift.error());
  const bool locked = lock->skills.contains(skill.meta.name);
  invocation["lock"] = !locked ? "unlocked" : drift->tree_changed ? "narrowed" : "locked";

  const std::filesystem::path instances_file = InstanceFilePath(home);
  auto instances = ReadInstanceFile(instances_file);
  if (!instances) return std::unexpected(instances.error());
  auto instance = SelectInstance(*instances, skill.meta.name, requested);
  if (!instance) return std::unexpected(instance.error());
  if (*instance) {
    invocation["instance"] = (*instance)->name;
    auto narrowed = ApplyInstance(skill.manifest, **instance, instances_file);
    if (!narrowed) return std::unexpected(narrowed.error());
    skill.manifest = std::move(*narrowed);
  }
  // The user's grants and the prepared dependencies (docs/grants.md, docs/dependencies.md).
  const std::optional<std::string> instance_name =
      *instance ? std::optional<std::string>((*instance)->name) : std::nullopt;
  if (auto granted = ApplyCallGrants(home, *lock, grants, instance_name, skill, invocation);
      !granted) {
    return std::unexpected(granted.error());
  }
  auto secrets = ResolveSecrets(skill.manifest, skill.meta.name, *instance, instances_file);
  if (!secrets) return std::unexpected(secrets.error());
  nlohmann::json names = nlohmann::json::array();
  for (const ResolvedSecret& secret : *secrets) names.push_back(secret.name);
  invocation["secrets"] = std::move(names);
  return Prepared{.skill = std::move(skill), .instance = std::move(*instance),
                  .secrets = std::move(*secrets)};
}

}  // namespace

// What the gate decided about one planned call.
struct Engine::GateVerdict {
  bool allowed = false;
  std::string message;      // Why not, for the denied Outcome.
  nlohmann::json decision;  // The audit record's `decision` field.
};

std::filesystem::path DefaultHome() {
  if (const char* home = ::getenv("SKILLRT_HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const char* home = ::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".skillrt";
  }
  return {};
}

Engine::Engine(std::filesystem::path home, Registry registry, std::unique_ptr<AuditLog> audit,
               std::unique_ptr<Runtime> native, std::unique_ptr<Runtime> wasm,
               std::unique_ptr<Runtime> container)
    : home_(std::move(home)),
      registry_(std::move(registry)),
      audit_(std::move(audit)),
      native_(std::move(native)),
      wasm_(std::move(wasm)),
      container_(std::move(container)) {}

Engine::~Engine() = default;

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  std::filesystem::path home = options.home.empty() ? DefaultHome() : options.home;
  if (home.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no state directory: set SKILLRT_HOME or HOME, or pass --home");
  }
  std::error_code ec;
  home = std::filesystem::absolute(home, ec);
  if (ec) return FailErrno(ErrorCode::kIo, "absolute(" + home.string() + ")", ec.value());
  for (const std::filesystem::path& dir : {home, home / "skills"}) {
    if (std::filesystem::is_directory(dir, ec)) continue;
    std::filesystem::create_directories(dir, ec);
    if (ec) return FailErrno(ErrorCode::kIo, "mkdir(" + dir.string() + ")", ec.value());
    // State holds the audit log and installed skills: private to the owner.
    if (::chmod(dir.c_str(), 0700) != 0) {
      return FailErrno(ErrorCode::kIo, "chmod(" + dir.string() + ")", errno);
    }
  }
  auto audit = AuditLog::Open(home / "audit.log");
  if (!audit) return std::unexpected(audit.error());
  // A policy that cannot be read stops the engine: running under a partial policy would
  // silently drop its deny rules.
  auto policy = LoadPolicy(home, options.policy);
  if (!policy) return std::unexpected(policy.error());
  Registry registry(Registry::DefaultRoots(options.skill_roots, home), options.watch_skill_roots);
  // Compiled WebAssembly lives with the rest of the private state, where no skill can write.
  if (options.wasm.cache_dir.empty()) options.wasm.cache_dir = home / "cache" / "wasm";
  auto native = std::make_unique<LazyRuntime>(
      "native", [native_options = options.native] { return MakeNativeRuntime(native_options); });
  auto wasm = std::make_unique<LazyRuntime>(
      "wasm", [wasm_options = options.wasm] { return MakeWasmRuntime(wasm_options); });
  auto container = std::make_unique<LazyRuntime>(
      "container", [container_options = options.container] {
        return MakeContainerRuntime(container_options);
      });
  std::unique_ptr<Engine> engine(new Engine(home, std::move(registry),
                                            std::make_unique<AuditLog>(std::move(*audit)),
                                            std::move(native), std::move(wasm),
                                            std::move(container)));
  FinishAbandonedRuns(home, *engine->audit_);
  engine->require_lock_ = options.require_lock;
  engine->policy_ = std::move(*policy);
  engine->approvals_ = std::make_unique<ApprovalGate>(home, std::move(options.approver),
                                                      std::move(options.approver_name));
  return engine;
}

Result<Outcome> Engine::Run(const RunRequest& request) {
  auto selector = ParseSkillSelector(request.skill);
  if (!selector) return std::unexpected(selector.error());
  auto loaded = registry_.Load(selector->skill);
  if (!loaded) return std::unexpected(loaded.error());
  auto run_id = NewRunId();
  if (!run_id) return std::unexpected(run_id.error());

  std::string input_text = DumpText(request.input);
  nlohmann::json invocation = Invocation(
      "run", loaded->manifest.entry ? loaded->manifest.entry->argv : std::vector<std::string>{},
      input_text);
  if (selector->instance) invocation["instance"] = *selector->instance;
  auto prepared = Prepare(home_, *loaded, selector->instance, require_lock_,
                          request.overrides.grants, invocation);
  if (!prepared) {
    return Refuse(*audit_, *loaded, *run_id, invocation, request.overrides, prepared.error());
  }
  const Skill& skill = prepared->skill;
  const Manifest& manifest = skill.manifest;

  auto plan = BuildRunPlan(skill, request, *run_id);
  if (!plan) return Refuse(*audit_, skill, *run_id, invocation, request.overrides, plan.error());
  if (manifest.input_schema) {
    auto valid = ValidateAgainstSchema(*manifest.input_schema, request.input);
    if (!valid) {
      // The validator names the place ("input at /a/0: ..."); keep one "input" prefix.
      std::string detail = valid.error().message;
      if (!detail.starts_with("input")) detail = "input: " + detail;
      return Refuse(*audit_, skill, *run_id, invocation, request.overrides,
                    Error::Make(ErrorCode::kInvalidArgument, std::move(detail)));
    }
  }
  AddCallEnvironment(*plan, prepared->instance, prepared->secrets);
  invocation["env"] = EnvNames(plan->env);
  RiskAssessment risk;
  if (auto parsed = ParseArgv(plan->argv)) risk = AssessRisk(*parsed, PlanRiskContext(*plan));
  const std::vector<std::string> argv = plan->argv;
  return GateAndExecute(skill, std::move(*plan), invocation, request.overrides, argv,
                        std::move(risk), {}, prepared->secrets);
}

Result<Outcome> Engine::Exec(const ExecRequest& request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "exec: a command is required after '--'");
  }
  auto selector = ParseSkillSelector(request.skill);
  if (!selector) return std::unexpected(selector.error());
  auto loaded = registry_.Load(selector->skill);
  if (!loaded) return std::unexpected(loaded.error());
  auto run_id = NewRunId();
  if (!run_id) return std::unexpected(run_id.error());

  nlohmann::json invocation = Invocation("exec", request.argv, request.stdin_data);
  if (selector->instance) invocation["instance"] = *selector->instance;
  auto prepared = Prepare(home_, *loaded, selector->instance, require_lock_,
                          request.overrides.grants, invocation);
  if (!prepared) {
    return Refuse(*audit_, *loaded, *run_id, invocation, request.overrides, prepared.error());
  }
  const Skill& skill = prepared->skill;
  const Manifest& manifest = skill.manifest;
  if (manifest.runtime != RuntimeKind::kNative) {
    return Refuse(*audit_, skill, *run_id, invocation, request.overrides,
                  Error::Make(ErrorCode::kUnsupported,
                              "exec runs commands in the native sandbox; skill '" +
                                  skill.meta.name + "' uses the " +
                                  std::string(RuntimeKindName(manifest.runtime)) +
                                  " runtime (use run)"));
  }
  // Planned first: the guard judges removals against the paths this call is granted, as the
  // plan pinned them. The plan then runs the argv the guard returns instead of the caller's;
  // a refusal is audited like any other, and the audit record keeps the caller's argv.
  auto plan = BuildPlan(skill, request.argv, request.stdin_data, request.overrides, *run_id);
  if (!plan) return Refuse(*audit_, skill, *run_id, invocation, request.overrides, plan.error());
  std::vector<PolicyExecCommand> commands;
  RiskAssessment risk;
  auto argv = GuardExec(skill, request.argv, PlanRiskContext(*plan), &commands, &risk);
  if (!argv) return Refuse(*audit_, skill, *run_id, invocation, request.overrides, argv.error());
  if (auto ok = CheckExecArgv(skill, *argv); !ok) {
    return Refuse(*audit_, skill, *run_id, invocation, request.overrides, ok.error());
  }
  plan->argv = std::move(*argv);
  AddCallEnvironment(*plan, prepared->instance, prepared->secrets);
  invocation["env"] = EnvNames(plan->env);
  return GateAndExecute(skill, std::move(*plan), invocation, request.overrides, request.argv,
                        std::move(risk), std::move(commands), prepared->secrets);
}

Result<Outcome> Engine::GateAndExecute(const Skill& skill, Plan plan,
                                       const nlohmann::json& invocation,
                                       const RunOverrides& overrides,
                                       const std::vector<std::string>& argv, RiskAssessment risk,
                                       std::vector<PolicyExecCommand> exec,
                                       const std::vector<ResolvedSecret>& secrets) {
  auto verdict = Gate(skill, plan, invocation, argv, std::move(risk), std::move(exec));
  if (!verdict) {
    return Refuse(*audit_, skill, plan.run_id, invocation, overrides, verdict.error());
  }
  if (!verdict->allowed) {
    return Refuse(*audit_, skill, plan.run_id, invocation, overrides,
                  Error::Make(ErrorCode::kDenied, verdict->message), verdict->decision);
  }
  return Execute(skill, std::move(plan), invocation, secrets, verdict->decision);
}

Result<Outcome> Engine::Execute(const Skill& skill, Plan plan, const nlohmann::json& invocation,
                                const std::vector<ResolvedSecret>& secrets,
                                const nlohmann::json& decision) {
  const bool is_run = invocation.value("kind", "run") == "run";
  nlohmann::json record =
      BaseRecord(skill, plan.run_id, "run", invocation, plan.level, plan.limits);
  record["decision"] = decision;

  Runtime& runtime = skill.manifest.runtime == RuntimeKind::kWasm        ? *wasm_
                     : skill.manifest.runtime == RuntimeKind::kContainer ? *container_
                                                                         : *native_;
  // Nothing runs that could not be recorded: room for its records is set aside, and its
  // start is written down, so that a run outliving this process is found and ended by the
  // next engine to open this home (FinishAbandonedRuns).
  if (auto reserved = audit_->Reserve(); !reserved) {
    AddError(record, reserved.error());
    return AfterAudit(audit_->Append(record), std::unexpected(reserved.error()));
  }
  RunJournal journal(home_);
  if (auto begun = journal.Begin(plan.run_id, {{"skill", skill.meta.name},
                                               {"kind", is_run ? "run" : "exec"},
                                               {"runtime", RuntimeKindName(skill.manifest.runtime)}});
      !begun) {
    AddError(record, begun.error());
    return AfterAudit(audit_->Append(record), std::unexpected(begun.error()));
  }
  struct EndJournal {
    RunJournal& journal;
    const std::string& run_id;
    ~EndJournal() { journal.End(run_id); }
  } end_journal{journal, plan.run_id};
  auto result = runtime.Run(plan);
  if (!result) {
    Error error = result.error();
    RedactError(error, secrets);
    AddError(record, error);
    return AfterAudit(audit_->Append(record), std::unexpected(std::move(error)));
  }
  Outcome& outcome = *result;
  outcome.run_id = plan.run_id;
  outcome.skill = skill.meta.name;
  const bool wants_json = !is_run || !skill.manifest.entry ||
                          skill.manifest.entry->output == OutputMode::kJson;
  if (outcome.status == Status::kOk && wants_json) {
    // The output is stdout only when all of it is one JSON object; anything else stays text
    // and the status is unchanged.
    std::string_view text = Trim(outcome.stdout_stream.data);
    if (!outcome.stdout_stream.truncated && !text.empty() && text.front() == '{') {
      nlohmann::json parsed = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
      if (!parsed.is_discarded() && parsed.is_object()) outcome.output = std::move(parsed);
    }
  }
  // Before anything else reads the outcome (the audit records, the caller): the streams as
  // written and the output as parsed, so that neither a value nor its JSON-escaped spelling
  // gets through.
  RedactOutcome(outcome, secrets);
  AddOutcome(record, outcome);
  // Each connection through the egress proxy is its own record, ahead of the run's, which
  // counts them: the log says what the skill reached, or tried to, while it ran.
  for (const EgressRecord& connection : outcome.egress) {
    nlohmann::json entry = EgressRecordToJson(connection);
    entry["run_id"] = plan.run_id;
    entry["event"] = "egress";
    entry["skill"] = skill.meta.name;
    if (auto audited = audit_->Append(entry); !audited) {
      return AfterAudit(std::move(audited), std::move(outcome));
    }
  }
  return AfterAudit(audit_->Append(record), std::move(outcome));
}

bool Engine::approvals_aborted() const { return approvals_->aborted(); }

Result<Engine::GateVerdict> Engine::Gate(const Skill& skill, const Plan& plan,
                                         const nlohmann::json& invocation,
                                         const std::vector<std::string>& argv,
                                         RiskAssessment risk,
                                         std::vector<PolicyExecCommand> exec) {
  const std::string kind = invocation.value("kind", "run");
  PolicyDecision decision =
      EvaluatePolicy(policy_, MakePolicyRequest(skill, plan, kind, std::move(exec)));
  GateVerdict verdict;
  if (decision.effect != PolicyEffect::kAsk) {
    verdict.allowed = decision.effect == PolicyEffect::kAllow;
    if (!verdict.allowed) verdict.message = "policy: " + decision.Summary();
    verdict.decision = DecisionRecord(decision, nullptr, nullptr);
    return verdict;
  }
  auto request = MakeApprovalRequest(skill, plan, invocation, argv, std::move(risk), decision);
  if (!request) return std::unexpected(request.error());
  auto approval = approvals_->Resolve(*request);
  if (!approval) return std::unexpected(approval.error());
  verdict.decision = DecisionRecord(decision, &*request, &*approval);
  // The answer is recorded as soon as it is known, before anything runs.
  nlohmann::json event = {
      {"event", "approval"},
      {"run_id", plan.run_id},
      {"kind", kind},
      {"instance", invocation.value("instance", nlohmann::json())},
      {"skill", skill.meta.name},
      {"skill_dir", skill.dir.string()},
      {"tree_sha256", skill.tree_sha256},
      {"approval_key", request->key},
      {"answer", ApprovalDecisionName(approval->decision)},
      {"via", approval->via},
      {"asked_by", PolicyRulesToJson(decision.Deciding())},
      // One line for `audit tail` and `audit query`, which show `message`.
      {"message", std::string(ApprovalDecisionName(approval->decision)) + " via " +
                      approval->via + "; " + decision.Summary()},
  };
  if (auto ok = audit_->Append(event); !ok) {
    return Fail(ok.error().code, "audit log: " + ok.error().message);
  }
  verdict.allowed = IsApproved(approval->decision);
  if (!verdict.allowed) {
    verdict.message = "approval " + std::string(ApprovalDecisionName(approval->decision)) +
                      " (via " + approval->via + ")";
    if (!approval->message.empty()) verdict.message += ": " + approval->message;
    verdict.message += "; policy: " + decision.Summary();
  }
  return verdict;
}

Result<PolicyCheck> Engine::CheckPolicy(const std::string& skill_arg,
                                        const std::vector<std::string>& argv,
                                        const RunOverrides& overrides) {
  auto selector = ParseSkillSelector(skill_arg);
  if (!selector) return std::unexpected(selector.error());
  auto loaded = registry_.Load(selector->skill);
  if (!loaded) return std::unexpected(loaded.error());
  auto run_id = NewRunId();
  if (!run_id) return std::unexpected(run_id.error());
  PolicyCheck check;
  check.skill = loaded->meta.name;
  check.kind = argv.empty() ? "run" : "exec";
  // A refusal before the policy is reached is shown as the built-in rule that refused.
  auto refused = [&](std::string name, const Error& error) -> Result<PolicyCheck> {
    if (error.code != ErrorCode::kDenied) return std::unexpected(error);
    check.decision.effect = PolicyEffect::kDeny;
    check.decision.rules.push_back(PolicyMatch{.source = "built-in",
                                               .name = std::move(name),
                                               .effect = PolicyEffect::kDeny,
                                               .reason = error.message,
                                               .subject = "skill " + check.skill});
    return check;
  };

  std::string input_text = argv.empty() ? DumpText(nlohmann::json::object()) : "";
  nlohmann::json invocation = Invocation(check.kind, argv, input_text);
  if (selector->instance) invocation["instance"] = *selector->instance;
  auto prepared = Prepare(home_, *loaded, selector->instance, require_lock_, overrides.grants,
                          invocation);
  if (!prepared) return refused("lock", prepared.error());
  const Skill& skill = prepared->skill;
  std::vector<PolicyExecCommand> commands;
  Result<Plan> plan = std::unexpected(Error{});
  if (argv.empty()) {
    RunRequest request;
    request.skill = skill_arg;
    request.overrides = overrides;
    plan = BuildRunPlan(skill, request, *run_id);
    if (!plan) return refused("manifest", plan.error());
    if (auto parsed = ParseArgv(plan->argv)) {
      check.risk = AssessRisk(*parsed, PlanRiskContext(*plan));
    }
    invocation["argv"] = plan->argv;
  } else {
    // As Exec: planned first, so that the guard knows the paths the call is granted.
    plan = BuildPlan(skill, argv, "", overrides, *run_id);
    if (!plan) return refused("manifest", plan.error());
    auto checked = GuardExec(skill, argv, PlanRiskContext(*plan), &commands, &check.risk);
    if (!checked) return refused("command-guard", checked.error());
    if (auto ok = CheckExecArgv(skill, *checked); !ok) return refused("manifest", ok.error());
    plan->argv = std::move(*checked);
  }
  AddCallEnvironment(*plan, prepared->instance, prepared->secrets);
  check.decision = EvaluatePolicy(
      policy_, MakePolicyRequest(skill, *plan, check.kind, std::move(commands)));
  if (check.decision.effect == PolicyEffect::kAsk) {
    auto request = MakeApprovalRequest(skill, *plan, invocation,
                                       argv.empty() ? plan->argv : argv, check.risk,
                                       check.decision);
    if (!request) return std::unexpected(request.error());
    check.approval_key = request->key;
    auto stored = ApprovalStore(home_).Contains(request->key);
    if (!stored) return std::unexpected(stored.error());
    check.stored_approval = *stored;
  }
  return check;
}

}  // namespace skillrt
