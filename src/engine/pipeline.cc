// The pipeline of one call: prepare (load, lock, instance, secrets, plan, guard), decide
// (policy, approval), execute, audit; emitting the run's events as it goes
// (include/skillrt/engine.h, docs/events.md).
#include <algorithm>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <string>
#include <system_error>
#include <tuple>
#include <utility>
#include <variant>

#include "engine/call.h"
#include "engine/call_grants.h"
#include "engine/gatekeeper.h"
#include "engine/plan_builder.h"
#include "engine/run_journal.h"
#include "engine/run_state.h"
#include "engine/secrets.h"
#include "gate/approval_gate.h"
#include "gate/script_rule.h"
#include "gate/shell_parse.h"
#include "skillrt/engine.h"
#include "skillrt/lock.h"
#include "skillrt/risk.h"
#include "skillrt/sha256.h"
#include "skillrt/wasm_build.h"

namespace skillrt {

std::string_view CallKindName(CallKind kind) { return kind == CallKind::kRun ? "run" : "exec"; }

nlohmann::json Engine::Call::Invocation() const {
  nlohmann::json invocation = {
      {"kind", CallKindName(kind)},
      {"argv", argv},
      {"input_sha256", Sha256Hex(input_text)},
      {"input_bytes", input_text.size()},
      {"env", env_names},
  };
  if (instance) invocation["instance"] = *instance;
  if (overrides.workspace) invocation["workspace"] = overrides.workspace->string();
  if (lock) invocation["lock"] = *lock;
  if (secret_names) invocation["secrets"] = *secret_names;
  if (grants) invocation.update(CallGrantsRecord(*grants));
  return invocation;
}

namespace {

std::string_view Trim(std::string_view text) {
  constexpr std::string_view kSpace = " \t\r\n";
  size_t begin = text.find_first_not_of(kSpace);
  if (begin == std::string_view::npos) return {};
  size_t end = text.find_last_not_of(kSpace);
  return text.substr(begin, end - begin + 1);
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
  for (const char* key : {"status", "exit_code", "signal", "limits_hit", "layers", "duration_ms",
                          "cpu_ms", "max_rss_kb", "message"}) {
    record[key] = full[key];
  }
  record["stdout_bytes"] = outcome.stdout_stream.total_bytes;
  record["stderr_bytes"] = outcome.stderr_stream.total_bytes;
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

// Returns the audit failure if there was one, else `result`.
Result<Outcome> AfterAudit(Result<void> audited, Result<Outcome> result) {
  if (!audited) {
    return Fail(audited.error().code, "audit log: " + audited.error().message);
  }
  return result;
}

// The largest shell script of a skill that the guard reads to assess it.
constexpr uintmax_t kMaxSeenScriptBytes = 1 << 20;

// `context` with the skill's own shell scripts that `parsed` runs (`bash scripts/x.sh`) read
// and assessed: a script that is a regular file of the skill (SkillFileOf: below /skill, no
// symbolic link) and parses is assessed as if its commands were on the line; a critical risk
// in it refuses the call (kDenied), anything else marks it seen, so that the shell running it
// is not a shell running what nobody read. Scripts elsewhere (the workspace, /tmp) stay unseen.
Result<RiskContext> SkillScriptsSeen(const Skill& skill, const ParsedCommand& parsed,
                                     RiskContext context, std::string_view cwd) {
  for (const SimpleCommand& command : parsed.commands) {
    if (command.argv.empty() || !shell::IsShell(command.argv[0]) ||
        shell::SourceOf(command) != shell::ScriptSource::kFile) {
      continue;
    }
    const size_t at = shell::ShellScriptOperand(command);
    if (at >= command.argv.size()) continue;
    const std::string& operand = command.argv[at];
    auto file = SkillFileOf(operand, skill.dir, cwd);
    if (!file) continue;
    std::error_code ec;
    if (std::filesystem::file_size(*file, ec) > kMaxSeenScriptBytes || ec) continue;
    std::ifstream in(*file, std::ios::binary);
    std::string text((std::istreambuf_iterator<char>(in)), {});
    if (!in.good() && !in.eof()) continue;
    auto script = ParseShell(text);
    if (!script) continue;  // Unparsable: it stays unseen, and the guard refuses it as such.
    RiskAssessment risk = AssessRisk(*script, context);
    if (risk.level == RiskLevel::kCritical) {
      const RiskReason& why = risk.reasons.front();
      return Fail(ErrorCode::kDenied, "exec refused: the skill's script " + operand + ": " +
                                          why.reason + " (rule " + why.rule + ")");
    }
    context.seen_scripts.push_back(operand);
  }
  return context;
}

// The command guard of `exec` (docs/risk-guard.md): returns the argv to run, or kDenied.
// A single word with shell syntax ("pytest && rm -rf /") is a shell command line: it is
// parsed, and runs as `sh -c` only when sh itself is allowed. Any other argv is taken
// literally, with wrappers (`bash -c`, `env`, `find -exec`, ...) unwrapped. Either way every
// simple command must be allowed on its own and no critical risk may be present, with the
// paths of `context` declared. Relative operands are read against `cwd`, the working
// directory inside the sandbox. On success `commands` receives every simple command with its
// risk, and `risk` the assessment.
Result<std::vector<std::string>> GuardExec(const Skill& skill,
                                           const std::vector<std::string>& argv,
                                           const RiskContext& context, std::string_view cwd,
                                           std::vector<PolicyExecCommand>* commands,
                                           RiskAssessment* risk) {
  const std::vector<std::string> allowed = AllowedCommands(skill.manifest);
  const std::vector<std::string> script_only = ScriptOnlyCommands(skill.manifest);
  const std::string where = "; " + CommandGrantText(skill);
  const bool shell_line = argv.size() == 1 && LooksLikeShell(argv[0]);
  auto parsed = shell_line ? ParseShell(argv[0]) : ParseArgv(argv);
  if (!parsed) return Fail(ErrorCode::kDenied, "exec refused: " + parsed.error().message);
  auto seen = SkillScriptsSeen(skill, *parsed, context, cwd);
  if (!seen) return Fail(ErrorCode::kDenied, seen.error().message + where);
  GuardVerdict verdict = GuardCommands(*parsed, allowed, *seen);
  if (!verdict.allowed) return Fail(ErrorCode::kDenied, verdict.message + where);
  // Inferred interpreters run only the skill's own files (docs/inference.md).
  auto scripts = CheckScriptRule(*parsed, script_only, skill.dir, cwd);
  if (!scripts) return Fail(ErrorCode::kDenied, scripts.error().message + where);
  *commands = ExecCommands(*parsed, verdict.risk);
  *risk = verdict.risk;
  if (!shell_line) return argv;
  if (!IsCommandAllowed(allowed, "sh") || IsCommandAllowed(script_only, "sh")) {
    // Never add a shell the manifest did not declare.
    return Fail(ErrorCode::kDenied,
                "'" + argv[0] + "' is a shell command line, which needs 'sh'" + where);
  }
  return std::vector<std::string>{"sh", "-c", argv[0]};
}

// The capabilities of an approval request, for the `planned` event (names, never values).
nlohmann::json CapabilitiesShown(const Skill& skill, const Plan& plan, const nlohmann::json& invocation,
                            const std::vector<std::string>& argv) {
  auto request = MakeApprovalRequest(skill, plan, invocation, argv, {}, {});
  if (!request) return nlohmann::json::object();
  return request->request.value("capabilities", nlohmann::json::object());
}

}  // namespace

// Turns what a runtime reports into the run's events: output redacted as the outcome will
// be, and layers as they are applied.
class Engine::EventRelay : public RunObserver {
 public:
  EventRelay(RunState& state, const std::vector<ResolvedSecret>& secrets)
      : state_(state), secrets_(secrets), out_(secrets), err_(secrets) {}

  void OnStarted(const std::vector<std::string>& layers) override {
    state_.Emit(StartedEvent{.layers = layers});
  }
  void OnOutput(OutputStream stream, std::string_view bytes) override {
    StreamRedactor& redactor = stream == OutputStream::kStdout ? out_ : err_;
    std::string data = redactor.Push(bytes);
    if (!data.empty()) state_.Emit(OutputEvent{.stream = stream, .data = std::move(data)});
  }
  // From the egress proxy's threads, as each connection ends: redacted as the outcome's
  // records will be. Stateless, so concurrent calls are safe (RunState::Emit locks).
  void OnEgress(const EgressRecord& record) override {
    EgressRecord shown = record;
    RedactEgressRecord(shown, secrets_);
    state_.Emit(EgressEvent{.record = std::move(shown)});
  }
  // What the redactors held back, once the run is over.
  void Flush(const Outcome& outcome) {
    for (auto [stream, redactor, cut] :
         {std::tuple{OutputStream::kStdout, &out_, outcome.stdout_stream.truncated},
          std::tuple{OutputStream::kStderr, &err_, outcome.stderr_stream.truncated}}) {
      std::string data = redactor->Flush(cut);
      if (!data.empty()) state_.Emit(OutputEvent{.stream = stream, .data = std::move(data)});
    }
  }

 private:
  RunState& state_;
  const std::vector<ResolvedSecret>& secrets_;
  StreamRedactor out_;
  StreamRedactor err_;
};

std::expected<Engine::Prepared, Engine::Refusal> Engine::Prepare(Call& call,
                                                                 bool validate_input) {
  auto refuse = [&](const std::optional<Skill>& skill, Error error, std::string stage) {
    return std::unexpected(Refusal{.skill = skill, .error = std::move(error), .stage = std::move(stage)});
  };
  auto loaded = registry_.Load(call.parsed.skill);
  if (!loaded) return refuse(std::nullopt, loaded.error(), "load");
  if (call.kind == CallKind::kRun) {
    call.argv = loaded->manifest.entry ? loaded->manifest.entry->argv : std::vector<std::string>{};
  }
  call.instance = call.parsed.instance;

  // The drift gate on the skill as it is on disk (docs/install-lock.md), the instance
  // (docs/instances.md), the secrets (docs/secrets.md).
  const std::filesystem::path lock_file = LockFilePath(home_);
  auto lock = ReadLockFile(lock_file);
  if (!lock) return refuse(*loaded, lock.error(), "lock");
  auto drift = CheckLock(*loaded, *lock, lock_file, require_lock_);
  if (!drift) return refuse(*loaded, drift.error(), "lock");
  const bool locked = lock->skills.contains(loaded->meta.name);
  call.lock = !locked ? "unlocked" : drift->tree_changed ? "narrowed" : "locked";

  const std::filesystem::path instances_file = InstanceFilePath(home_);
  auto instances = ReadInstanceFile(instances_file);
  if (!instances) return refuse(*loaded, instances.error(), "lock");
  auto instance = SelectInstance(*instances, loaded->meta.name, call.parsed.instance);
  if (!instance) return refuse(*loaded, instance.error(), "lock");
  Prepared prepared{.skill = std::move(*loaded), .instance = std::move(*instance)};
  Skill& skill = prepared.skill;
  if (prepared.instance) {
    call.instance = prepared.instance->name;
    auto narrowed = ApplyInstance(skill.manifest, *prepared.instance, instances_file);
    if (!narrowed) return refuse(skill, narrowed.error(), "lock");
    skill.manifest = std::move(*narrowed);
  }
  // The user's grants and the prepared dependencies (docs/grants.md, docs/dependencies.md).
  const std::optional<std::string> instance_name =
      prepared.instance ? std::optional<std::string>(prepared.instance->name) : std::nullopt;
  if (auto granted = ApplyCallGrants(home_, *lock, call.overrides.grants, instance_name, skill);
      !granted) {
    return refuse(skill, granted.error(), "lock");
  }
  call.grants = skill.grants;
  auto secrets = ResolveSecrets(skill.manifest, skill.meta.name, prepared.instance,
                                instances_file);
  if (!secrets) return refuse(skill, secrets.error(), "lock");
  prepared.secrets = std::move(*secrets);
  call.secret_names.emplace();
  for (const ResolvedSecret& secret : prepared.secrets) call.secret_names->push_back(secret.name);

  if (call.kind == CallKind::kRun) {
    RunRequest request{.skill = call.selector, .input = call.input, .overrides = call.overrides};
    auto plan = BuildRunPlan(skill, request, call.run_id);
    if (!plan) return refuse(skill, plan.error(), "manifest");
    prepared.plan = std::move(*plan);
    if (skill.manifest.wasm) {
      // A Python or JavaScript skill runs the component built from its current source;
      // building is `skillrt build`'s, never a run's (docs/wasm-languages.md).
      auto component =
          BuiltWasmComponent(home_, skill.meta.name, skill.dir, *skill.manifest.wasm);
      if (!component) return refuse(skill, component.error(), "manifest");
      prepared.plan.wasm_component = std::move(*component);
    }
    if (validate_input && skill.manifest.input_schema) {
      auto valid = ValidateAgainstSchema(*skill.manifest.input_schema, call.input);
      if (!valid) {
        // The validator names the place ("input at /a/0: ..."); keep one "input" prefix.
        std::string detail = valid.error().message;
        if (!detail.starts_with("input")) detail = "input: " + detail;
        return refuse(skill, Error::Make(ErrorCode::kInvalidArgument, std::move(detail)),
                      "input");
      }
    }
    call.argv = prepared.plan.argv;
    if (auto parsed = ParseArgv(prepared.plan.argv)) {
      prepared.risk = AssessRisk(*parsed, PlanRiskContext(prepared.plan));
    }
  } else {
    if (skill.manifest.runtime != RuntimeKind::kNative) {
      return refuse(skill,
                    Error::Make(ErrorCode::kUnsupported,
                                "exec runs commands in the native sandbox; skill '" +
                                    skill.meta.name + "' uses the " +
                                    std::string(RuntimeKindName(skill.manifest.runtime)) +
                                    " runtime (use run)"),
                    "manifest");
    }
    // Planned first: the guard judges removals against the paths this call is granted, as
    // the plan pinned them. The plan then runs the argv the guard returns instead of the
    // caller's; the audit record keeps the caller's argv.
    auto plan = BuildPlan(skill, call.argv, call.input_text, call.overrides, call.run_id);
    if (!plan) return refuse(skill, plan.error(), "manifest");
    prepared.plan = std::move(*plan);
    // With a workspace as the working directory, a skill's own script named as its
    // instructions spell it ("python scripts/x.py") is passed by its path in the skill
    // (WithSkillScript); the guard then judges what will run, against that directory.
    std::string cwd(kSandboxSkillDir);
    for (const BindMount& mount : prepared.plan.mounts) {
      if (mount.workspace) cwd = mount.path.lexically_normal().string();
    }
    auto argv = GuardExec(skill, WithSkillScript(prepared.plan, call.argv),
                          PlanRiskContext(prepared.plan), cwd, &prepared.exec, &prepared.risk);
    if (!argv) return refuse(skill, argv.error(), "command-guard");
    if (auto ok = CheckExecArgv(skill, *argv); !ok) return refuse(skill, ok.error(), "manifest");
    prepared.plan.argv = std::move(*argv);
  }
  // The environment once, complete: the manifest's (in the plan), the instance's, secrets.
  AddCallEnvironment(prepared.plan, prepared.instance, prepared.secrets);
  call.env_names.clear();
  for (const std::string& entry : prepared.plan.env) {
    call.env_names.push_back(entry.substr(0, entry.find('=')));
  }
  return prepared;
}

Result<Outcome> Engine::Refuse(const Call& call, const Refusal& refusal,
                               const nlohmann::json& decision) {
  if (!refusal.skill) return std::unexpected(refusal.error);
  const Skill& skill = *refusal.skill;
  nlohmann::json record = BaseRecord(skill, call.run_id, "refusal", call.Invocation(),
                                     call.overrides.level, skill.manifest.limits);
  if (!decision.is_null()) record["decision"] = decision;
  // A refusal by the manifest, the lock, the guard or the policy is what the skill may not do:
  // a denied outcome. Anything else is an error of the call (bad input, a broken file).
  if (refusal.error.code == ErrorCode::kDenied) {
    Outcome outcome;
    outcome.run_id = call.run_id;
    outcome.skill = skill.meta.name;
    outcome.status = Status::kDenied;
    outcome.message = refusal.error.message;
    outcome.limits = skill.manifest.limits;
    AddOutcome(record, outcome);
    return AfterAudit(audit_->Append(record), std::move(outcome));
  }
  AddError(record, refusal.error);
  return AfterAudit(audit_->Append(record), std::unexpected(refusal.error));
}

Runtime& Engine::RuntimeFor(RuntimeKind kind) {
  return kind == RuntimeKind::kWasm        ? *wasm_
         : kind == RuntimeKind::kContainer ? *container_
                                           : *native_;
}

Result<Outcome> Engine::Pipeline(Call& call, RunState& state) {
  state.Emit(AcceptedEvent{.kind = std::string(CallKindName(call.kind)),
                           .skill = call.selector,
                           .instance = call.parsed.instance});
  auto prepared = Prepare(call, /*validate_input=*/true);
  if (!prepared) return Refuse(call, prepared.error(), nullptr);
  Skill& skill = prepared->skill;
  Plan& plan = prepared->plan;
  PlannedEvent planned;
  planned.skill = skill.meta.name;
  planned.runtime = RuntimeKindName(skill.manifest.runtime);
  planned.tree_sha256 = skill.tree_sha256;
  planned.lock = call.lock.value_or("unlocked");
  planned.level = plan.level;
  planned.limits = plan.limits;
  planned.argv = plan.argv;
  planned.capabilities = CapabilitiesShown(skill, plan, call.Invocation(), call.argv);
  state.Emit(std::move(planned));
  auto cancelled = [&](std::string_view when) -> Result<Outcome> {
    Outcome outcome;
    outcome.run_id = call.run_id;
    outcome.skill = skill.meta.name;
    outcome.status = Status::kCancelled;
    outcome.message = state.cancel().reason() + " (" + std::string(when) + ")";
    outcome.limits = plan.limits;
    nlohmann::json record =
        BaseRecord(skill, call.run_id, "refusal", call.Invocation(), plan.level, plan.limits);
    AddOutcome(record, outcome);
    return AfterAudit(audit_->Append(record), std::move(outcome));
  };
  if (state.cancel().cancelled()) return cancelled("before the policy decided");

  // The policy decides (docs/policy.md); when it asks, an approver does (docs/approvals.md).
  const std::string kind(CallKindName(call.kind));
  PolicyDecision decision = EvaluatePolicy(
      policy_, MakePolicyRequest(skill, plan, kind, std::move(prepared->exec)));
  state.Emit(DecidedEvent{.decision = decision});
  if (decision.effect == PolicyEffect::kDeny) {
    return Refuse(call,
                  Refusal{.skill = skill,
                          .error = Error::Make(ErrorCode::kDenied, "policy: " + decision.Summary()),
                          .stage = "policy"},
                  DecisionRecord(decision, nullptr, nullptr));
  }
  if (decision.effect == PolicyEffect::kAllow) {
    return Execute(call, *prepared, state, DecisionRecord(decision, nullptr, nullptr));
  }
  auto request = MakeApprovalRequest(skill, plan, call.Invocation(), call.argv, prepared->risk,
                                     decision);
  if (!request) return Refuse(call, Refusal{.skill = skill, .error = request.error(), .stage = "approval"}, nullptr);
  auto approval = approvals_->Resolve(
      call.run_id, *request, &state.cancel(), [&](std::chrono::milliseconds timeout) {
        state.Emit(ApprovalRequestedEvent{.approval_key = request->key,
                                          .invocation = request->invocation,
                                          .request = request->request,
                                          .risk = request->risk,
                                          .timeout = timeout});
      });
  if (!approval) return Refuse(call, Refusal{.skill = skill, .error = approval.error(), .stage = "approval"}, nullptr);
  if (approval->via == "cancelled") return cancelled("while it waited for approval");
  state.Emit(ApprovalDecidedEvent{.decision = approval->decision,
                                  .via = approval->via,
                                  .message = approval->message});
  nlohmann::json record = DecisionRecord(decision, &*request, &*approval);
  // The answer is recorded as soon as it is known, before anything runs.
  nlohmann::json event = {
      {"event", "approval"},
      {"run_id", call.run_id},
      {"kind", kind},
      {"instance", call.instance ? nlohmann::json(*call.instance) : nlohmann::json()},
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
  if (!IsApproved(approval->decision)) {
    std::string message = "approval " + std::string(ApprovalDecisionName(approval->decision)) +
                          " (via " + approval->via + ")";
    if (!approval->message.empty()) message += ": " + approval->message;
    message += "; policy: " + decision.Summary();
    return Refuse(call,
                  Refusal{.skill = skill,
                          .error = Error::Make(ErrorCode::kDenied, std::move(message)),
                          .stage = "approval"},
                  record);
  }
  if (state.cancel().cancelled()) return cancelled("after it was approved");
  return Execute(call, *prepared, state, record);
}

Result<Outcome> Engine::Execute(Call& call, Prepared& prepared, RunState& state,
                                const nlohmann::json& decision) {
  const Skill& skill = prepared.skill;
  const Plan& plan = prepared.plan;
  nlohmann::json record =
      BaseRecord(skill, plan.run_id, "run", call.Invocation(), plan.level, plan.limits);
  record["decision"] = decision;
  Runtime& runtime = RuntimeFor(skill.manifest.runtime);
  // Nothing runs that could not be recorded: room for its records is set aside, and its
  // start is written down, so that a run outliving this process is found and ended by the
  // next engine to open this home (FinishAbandonedRuns).
  if (auto reserved = audit_->Reserve(); !reserved) {
    AddError(record, reserved.error());
    return AfterAudit(audit_->Append(record), std::unexpected(reserved.error()));
  }
  RunJournal journal(home_);
  if (auto begun = journal.Begin(plan.run_id,
                                 {{"skill", skill.meta.name},
                                  {"kind", CallKindName(call.kind)},
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

  EventRelay relay(state, prepared.secrets);
  auto result = runtime.Execute(plan, RunContext{.cancel = &state.cancel(), .observer = &relay});
  if (!result) {
    Error error = result.error();
    RedactError(error, prepared.secrets);
    AddError(record, error);
    return AfterAudit(audit_->Append(record), std::unexpected(std::move(error)));
  }
  Outcome& outcome = *result;
  outcome.run_id = plan.run_id;
  outcome.skill = skill.meta.name;
  outcome.limits = plan.limits;
  const bool is_run = call.kind == CallKind::kRun;
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
  RedactOutcome(outcome, prepared.secrets);
  relay.Flush(outcome);
  AddOutcome(record, outcome);
  // Each connection through the egress proxy is its own record, ahead of the run's, which
  // counts them: the log says what the skill reached, or tried to, while it ran. (Its event
  // went out as the connection ended: EventRelay::OnEgress.)
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

}  // namespace skillrt
