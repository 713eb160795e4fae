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

#include "engine/call.h"
#include "engine/gatekeeper.h"
#include "engine/plan_builder.h"
#include "engine/run_journal.h"
#include "engine/run_id.h"
#include "engine/run_state.h"
#include "engine/secrets.h"
#include "gate/approval_gate.h"
#include "skillrt/instance.h"
#include "skillrt/lock.h"
#include "skillrt/risk.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

// Creates a runtime on its first run rather than when the engine opens, so that listing,
// inspecting and validating skills work on hosts without user namespaces (native) and cost
// nothing for runtimes no skill uses. The factory runs once; its failure is remembered and
// returned by every run.
class LazyRuntime : public Runtime {
 public:
  using Factory = std::function<Result<std::unique_ptr<Runtime>>()>;
  LazyRuntime(std::string name, Factory factory)
      : name_(std::move(name)), factory_(std::move(factory)) {}

  std::string_view Name() const override { return name_; }

  Result<Outcome> Execute(const Plan& plan, const RunContext& context) override {
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
    return inner_->Execute(plan, context);
  }

 private:
  std::string name_;
  Factory factory_;
  std::once_flag once_;
  std::unique_ptr<Runtime> inner_;  // Written once under once_, then only read.
  std::optional<Error> error_;
};

std::string DumpText(const nlohmann::json& value) {
  return value.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
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

}  // namespace

std::shared_ptr<Runtime> MakeLazyRuntime(std::string name, LazyRuntime::Factory factory) {
  return std::make_shared<LazyRuntime>(std::move(name), std::move(factory));
}

std::filesystem::path DefaultHome() {
  if (const char* home = ::getenv("SKILLRT_HOME"); home != nullptr && *home != '\0') {
    return home;
  }
  if (const char* home = ::getenv("HOME"); home != nullptr && *home != '\0') {
    return std::filesystem::path(home) / ".skillrt";
  }
  return {};
}

Engine::Engine(std::filesystem::path home, Registry registry, std::unique_ptr<AuditLog> audit)
    : home_(std::move(home)), registry_(std::move(registry)), audit_(std::move(audit)) {}

Engine::~Engine() {
  CancelAll("engine closing");
  std::unique_lock lock(runs_mu_);
  runs_cv_.wait(lock, [this] { return active_.empty(); });
  std::vector<std::thread> threads = std::move(threads_);
  lock.unlock();
  for (std::thread& thread : threads) thread.join();
}

Result<std::unique_ptr<Engine>> Engine::Open(EngineOptions options) {
  std::filesystem::path home = options.home.empty() ? DefaultHome() : options.home;
  if (home.empty()) {
    return Fail(ErrorCode::kInvalidArgument,
                "no state directory: set SKILLRT_HOME or HOME, or give one (EngineOptions::home)");
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
  std::vector<std::filesystem::path> roots = Registry::DefaultRoots(options.skill_roots, home);
  Registry registry = options.kept_registries != nullptr
                          ? options.kept_registries->For(roots)
                          : Registry(std::move(roots), options.watch_skill_roots);
  // Compiled WebAssembly lives with the rest of the private state, where no skill can write.
  if (options.wasm.cache_dir.empty()) options.wasm.cache_dir = home / "cache" / "wasm";
  if (options.native.filter_cache_dir.empty()) {
    options.native.filter_cache_dir = home / "cache" / "seccomp";
  }
  if (options.container.probe_cache_dir.empty()) {
    options.container.probe_cache_dir = home / "cache" / "container";
  }
  // Runtimes the caller gave are used as they are; the others are made when first needed.
  auto lazy = [](std::shared_ptr<Runtime> given, std::string_view name,
                 LazyRuntime::Factory factory) -> std::shared_ptr<Runtime> {
    if (given) return given;
    return MakeLazyRuntime(std::string(name), std::move(factory));
  };
  std::unique_ptr<Engine> engine(new Engine(home, std::move(registry),
                                            std::make_unique<AuditLog>(std::move(*audit))));
  engine->native_ = lazy(options.native_runtime, "native",
                         [native_options = options.native] { return MakeNativeRuntime(native_options); });
  engine->wasm_ = lazy(options.wasm_runtime, "wasm",
                       [wasm_options = options.wasm] { return MakeWasmRuntime(wasm_options); });
  engine->container_ = lazy(options.container_runtime, "container",
                            [container_options = options.container] {
                              return MakeContainerRuntime(container_options);
                            });
  engine->event_buffer_bytes_ = options.event_buffer_bytes;
  FinishAbandonedRuns(home, *engine->audit_);
  engine->require_lock_ = options.require_lock;
  engine->policy_ = std::move(*policy);
  engine->approvals_ = std::make_unique<ApprovalGate>(home, std::move(options.approver),
                                                      std::move(options.approver_name),
                                                      options.approval_timeout,
                                                      options.repeated_denial_aborts);
  return engine;
}


// RunHandle.

const std::string& RunHandle::run_id() const { return state_->run_id(); }

bool RunHandle::Cancel(std::string reason) {
  if (state_->finished()) return false;
  return state_->cancel().Cancel(std::move(reason));
}

Result<Outcome> RunHandle::Wait() const { return state_->Wait(); }

bool RunHandle::done() const { return state_->finished(); }

EventBatch RunHandle::ReadEvents(uint64_t after, size_t max,
                                 std::chrono::milliseconds wait) const {
  return state_->Read(after, max, wait);
}

// Starting, finding and ending runs.

Result<RunHandle> Engine::Launch(Call call, bool detach,
                                 const std::function<void(RunHandle)>* started) {
  if (call.run_id.empty()) {
    auto made = NewRunId();
    if (!made) return std::unexpected(made.error());
    call.run_id = std::move(*made);
  } else if (!IsValidRunId(call.run_id)) {
    return Fail(ErrorCode::kInvalidArgument,
                "run id '" + call.run_id + "': expected 1-64 characters of [A-Za-z0-9_-]");
  }
  auto selector = ParseSkillSelector(call.selector);
  if (!selector) return std::unexpected(selector.error());
  call.parsed = std::move(*selector);

  auto state = std::make_shared<RunState>(call.run_id, event_buffer_bytes_);
  std::vector<std::thread> finished;
  {
    std::lock_guard lock(runs_mu_);
    if (active_.contains(call.run_id)) {
      return Fail(ErrorCode::kConflict, "run id '" + call.run_id + "' is already in use");
    }
    active_.emplace(call.run_id, state);
    // Threads of runs that have ended are joined here, so that they do not pile up.
    for (auto it = threads_.begin(); it != threads_.end();) {
      if (std::find(done_threads_.begin(), done_threads_.end(), it->get_id()) !=
          done_threads_.end()) {
        std::erase(done_threads_, it->get_id());
        finished.push_back(std::move(*it));
        it = threads_.erase(it);
      } else {
        ++it;
      }
    }
  }
  for (std::thread& thread : finished) thread.join();

  auto body = [this, state, call = std::move(call), detach]() mutable {
    Result<Outcome> result = Pipeline(call, *state);
    {
      // Out of the runs in flight before anyone waiting sees it end, so that its id is free
      // again and FindRun no longer finds it once Wait returns.
      std::lock_guard lock(runs_mu_);
      active_.erase(state->run_id());
      if (detach) done_threads_.push_back(std::this_thread::get_id());
    }
    state->Finish(std::move(result));
    runs_cv_.notify_all();
  };
  if (!detach) {
    if (started != nullptr && *started) (*started)(RunHandle(state));
    body();
    return RunHandle(state);
  }
  try {
    std::lock_guard lock(runs_mu_);
    threads_.emplace_back(std::move(body));
  } catch (const std::system_error& e) {
    std::lock_guard lock(runs_mu_);
    active_.erase(state->run_id());
    runs_cv_.notify_all();
    return FailErrno(ErrorCode::kIo, "std::thread (run " + state->run_id() + ")", e.code().value());
  }
  return RunHandle(state);
}

Result<RunHandle> Engine::Start(RunRequest request) {
  Call call{.kind = CallKind::kRun,
            .selector = std::move(request.skill),
            .run_id = std::move(request.run_id),
            .input = std::move(request.input),
            .overrides = request.overrides};
  call.input_text = DumpText(call.input);
  return Launch(std::move(call), /*detach=*/true);
}

Result<RunHandle> Engine::Start(ExecRequest request) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "exec: a command is required");
  }
  Call call{.kind = CallKind::kExec,
            .selector = std::move(request.skill),
            .run_id = std::move(request.run_id),
            .argv = std::move(request.argv),
            .input_text = std::move(request.stdin_data),
            .overrides = request.overrides};
  return Launch(std::move(call), /*detach=*/true);
}

Result<Outcome> Engine::Run(const RunRequest& request) { return Run(request, nullptr); }

Result<Outcome> Engine::Run(const RunRequest& request,
                            const std::function<void(RunHandle)>& started) {
  Call call{.kind = CallKind::kRun,
            .selector = request.skill,
            .run_id = request.run_id,
            .input = request.input,
            .overrides = request.overrides};
  call.input_text = DumpText(call.input);
  auto handle = Launch(std::move(call), /*detach=*/false, &started);
  if (!handle) return std::unexpected(handle.error());
  return handle->Wait();
}

Result<Outcome> Engine::Exec(const ExecRequest& request) { return Exec(request, nullptr); }

Result<Outcome> Engine::Exec(const ExecRequest& request,
                             const std::function<void(RunHandle)>& started) {
  if (request.argv.empty() || request.argv[0].empty()) {
    return Fail(ErrorCode::kInvalidArgument, "exec: a command is required");
  }
  Call call{.kind = CallKind::kExec,
            .selector = request.skill,
            .run_id = request.run_id,
            .argv = request.argv,
            .input_text = request.stdin_data,
            .overrides = request.overrides};
  auto handle = Launch(std::move(call), /*detach=*/false, &started);
  if (!handle) return std::unexpected(handle.error());
  return handle->Wait();
}

std::optional<RunHandle> Engine::FindRun(std::string_view run_id) const {
  std::lock_guard lock(runs_mu_);
  auto it = active_.find(run_id);
  if (it == active_.end()) return std::nullopt;
  return RunHandle(it->second);
}

void Engine::CancelAll(const std::string& reason) {
  std::vector<std::shared_ptr<RunState>> runs;
  {
    std::lock_guard lock(runs_mu_);
    for (const auto& [id, state] : active_) runs.push_back(state);
  }
  for (const auto& state : runs) state->cancel().Cancel(reason);
}

Result<size_t> Engine::Approve(std::string_view run_id_or_key, ApprovalDecision decision,
                               std::string via, std::string message) {
  return approvals_->Answer(run_id_or_key, decision, std::move(via), std::move(message));
}

std::vector<PendingApproval> Engine::PendingApprovals() const {
  std::vector<PendingApproval> out;
  for (WaitingApproval& waiting : approvals_->Pending()) {
    out.push_back(PendingApproval{.run_id = std::move(waiting.run_id),
                                  .request = std::move(waiting.request),
                                  .since = waiting.since,
                                  .deadline = waiting.deadline});
  }
  return out;
}

bool Engine::approvals_aborted() const { return approvals_->aborted(); }

Result<PolicyCheck> Engine::CheckPolicy(const std::string& skill_arg,
                                        const std::vector<std::string>& argv,
                                        const RunOverrides& overrides) {
  auto run_id = NewRunId();
  if (!run_id) return std::unexpected(run_id.error());
  auto selector = ParseSkillSelector(skill_arg);
  if (!selector) return std::unexpected(selector.error());
  Call call{.kind = argv.empty() ? CallKind::kRun : CallKind::kExec,
            .selector = skill_arg,
            .parsed = std::move(*selector),
            .run_id = std::move(*run_id),
            .argv = argv,
            .overrides = overrides};
  if (call.kind == CallKind::kRun) call.input_text = DumpText(call.input);
  PolicyCheck check;
  check.kind = std::string(CallKindName(call.kind));
  auto prepared = Prepare(call, /*validate_input=*/false);
  if (!prepared) {
    const Refusal& refusal = prepared.error();
    if (!refusal.skill) return std::unexpected(refusal.error);
    check.skill = refusal.skill->meta.name;
    // A refusal before the policy is reached is shown as the built-in rule that refused.
    if (refusal.error.code != ErrorCode::kDenied) return std::unexpected(refusal.error);
    check.decision.effect = PolicyEffect::kDeny;
    check.decision.rules.push_back(PolicyMatch{.source = "built-in",
                                               .name = refusal.stage,
                                               .effect = PolicyEffect::kDeny,
                                               .reason = refusal.error.message,
                                               .subject = "skill " + check.skill});
    return check;
  }
  const Skill& skill = prepared->skill;
  check.skill = skill.meta.name;
  check.risk = prepared->risk;
  check.decision = EvaluatePolicy(
      policy_, MakePolicyRequest(skill, prepared->plan, check.kind, std::move(prepared->exec)));
  if (check.decision.effect == PolicyEffect::kAsk) {
    auto request = MakeApprovalRequest(skill, prepared->plan, call.Invocation(), call.argv,
                                       check.risk, check.decision);
    if (!request) return std::unexpected(request.error());
    check.approval_key = request->key;
    auto stored = ApprovalStore(home_).Contains(request->key);
    if (!stored) return std::unexpected(stored.error());
    check.stored_approval = *stored;
  }
  return check;
}

}  // namespace skillrt
