#include "py_engine.h"

#include <Python.h>
#include <nanobind/stl/string.h>
#include <unistd.h>

#include <chrono>
#include <utility>

#include "bindings.h"
#include "convert.h"
#include "dicts.h"
#include "errors.h"
#include "skillrt/approval.h"
#include "skillrt/audit.h"

namespace skillrt::python {
namespace {

using std::chrono::milliseconds;

// The decisions a Python approver returns, by name (docs/python.md, "Approvals").
constexpr std::pair<std::string_view, ApprovalDecision> kDecisions[] = {
    {"once", ApprovalDecision::kApproveOnce},     {"session", ApprovalDecision::kApproveSession},
    {"always", ApprovalDecision::kApproveAlways}, {"deny", ApprovalDecision::kDeny},
    {"abort", ApprovalDecision::kAbort},
};

// A Python callable that the engine's approval gate keeps (in a std::function) and may
// destroy on any thread: the reference is dropped with the GIL taken, and not at all once
// the interpreter is gone.
class PythonCallable {
 public:
  explicit PythonCallable(nb::object callable) : callable_(callable.release().ptr()) {}
  ~PythonCallable() {
    if (nb::detail::cleanup_guard guard{}) Py_DECREF(callable_);
  }
  PythonCallable(const PythonCallable&) = delete;
  PythonCallable& operator=(const PythonCallable&) = delete;

  // Calls the approver with the request dict, the GIL held. Anything but a decision name,
  // and any exception, denies: an approver that cannot answer never approves.
  ApprovalDecision Ask(const ApprovalRequest& request) const {
    if (!nb::is_alive()) return ApprovalDecision::kDeny;
    nb::gil_scoped_acquire gil;
    try {
      nb::object answer = nb::handle(callable_)(ToPython(ApprovalRequestJson(request)));
      if (nb::isinstance<nb::str>(answer)) {
        if (auto decision = ParseDecision(nb::cast<std::string>(answer))) return *decision;
      }
      PyErr_SetString(PyExc_ValueError,
                      "an approver must return 'once', 'session', 'always', 'deny' or 'abort'; "
                      "the call is denied");
      PyErr_WriteUnraisable(callable_);
    } catch (nb::python_error& e) {
      e.restore();
      PyErr_WriteUnraisable(callable_);
    } catch (const std::exception& e) {
      PyErr_SetString(PyExc_RuntimeError, e.what());
      PyErr_WriteUnraisable(callable_);
    }
    return ApprovalDecision::kDeny;
  }

 private:
  PyObject* callable_;  // One reference, owned.
};

RunOverrides Overrides(const CallArgs& args) {
  RunOverrides overrides;
  if (args.timeout_ms) {
    if (*args.timeout_ms <= 0) {
      ThrowError(ErrorCode::kInvalidArgument, "timeout: must be positive");
    }
    overrides.wall_time = milliseconds(*args.timeout_ms);
  }
  if (args.memory_bytes) {
    if (*args.memory_bytes == 0)
      ThrowError(ErrorCode::kInvalidArgument, "memory: must be positive");
    overrides.memory_max_bytes = *args.memory_bytes;
  }
  overrides.level = args.best_effort ? SandboxLevel::kBestEffort : SandboxLevel::kStrict;
  if (args.workspace) overrides.workspace = std::filesystem::path(*args.workspace);
  return overrides;
}

RunRequest MakeRun(const std::string& skill, nb::handle input, const CallArgs& args) {
  return RunRequest{.skill = skill,
                    .input = input.is_none() ? nlohmann::json::object() : ToJson(input, "input"),
                    .overrides = Overrides(args),
                    .run_id = args.run_id};
}

ExecRequest MakeExec(const std::string& skill, const std::vector<std::string>& argv,
                     const std::string& stdin_data, const CallArgs& args) {
  if (argv.empty()) ThrowError(ErrorCode::kInvalidArgument, "argv: must not be empty");
  return ExecRequest{.skill = skill,
                     .argv = argv,
                     .stdin_data = stdin_data,
                     .overrides = Overrides(args),
                     .run_id = args.run_id};
}

std::chrono::system_clock::time_point FromEpoch(double seconds) {
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::duration<double>(seconds)));
}

}  // namespace

std::optional<ApprovalDecision> ParseDecision(std::string_view text) {
  for (const auto& [name, decision] : kDecisions) {
    if (name == text) return decision;
  }
  return std::nullopt;
}

PyEngine::PyEngine(std::optional<std::string> home, std::vector<std::string> skills,
                   std::optional<std::string> policy, bool user_policy, nb::object approver,
                   int64_t approval_timeout_ms, bool watch, bool require_lock,
                   int64_t prepared_sandboxes)
    : owner_(::getpid()) {
  EngineOptions options;
  if (home) options.home = *home;
  for (std::string& root : skills) options.skill_roots.emplace_back(std::move(root));
  options.watch_skill_roots = watch;
  options.require_lock = require_lock;
  if (policy) options.policy.file = std::filesystem::path(*policy);
  options.policy.user = user_policy;
  if (approval_timeout_ms < 0) {
    ThrowError(ErrorCode::kInvalidArgument, "approval_timeout: must not be negative");
  }
  options.approval_timeout = milliseconds(approval_timeout_ms);
  if (prepared_sandboxes < 0 ||
      static_cast<uint64_t>(prepared_sandboxes) > kMaxPreparedSandboxes) {
    ThrowError(ErrorCode::kInvalidArgument,
               "prepared_sandboxes: expected 0 to " + std::to_string(kMaxPreparedSandboxes));
  }
  options.native.prepared_sandboxes = static_cast<size_t>(prepared_sandboxes);
  if (!approver.is_none()) {
    if (!PyCallable_Check(approver.ptr())) {
      ThrowError(ErrorCode::kInvalidArgument, "approver: must be callable or None");
    }
    auto callable = std::make_shared<PythonCallable>(std::move(approver));
    options.approver = [callable](const ApprovalRequest& request) {
      return callable->Ask(request);
    };
    options.approver_name = "python";
  }
  Result<std::unique_ptr<Engine>> opened = [&] {
    nb::gil_scoped_release release;
    return Engine::Open(std::move(options));
  }();
  engine_ = Unwrap(std::move(opened));
}

PyEngine::~PyEngine() {
  if (::getpid() != owner_) {
    // A forked child: the engine's threads are not here to cancel or join. Leak it.
    new std::shared_ptr<Engine>(std::move(engine_));
    return;
  }
  Close();
}

std::shared_ptr<Engine> PyEngine::Get() {
  CheckSameProcess(owner_, "this skillrt.Engine");
  std::lock_guard lock(mu_);
  if (!engine_) ThrowError(ErrorCode::kInvalidArgument, "this skillrt.Engine is closed");
  return engine_;
}

Outcome PyEngine::Run(const std::string& skill, nb::handle input, const CallArgs& args) {
  std::shared_ptr<Engine> engine = Get();
  RunRequest request = MakeRun(skill, input, args);
  Result<Outcome> result = [&] {
    nb::gil_scoped_release release;
    Result<Outcome> out = engine->Run(request);
    engine.reset();  // The last holder destroys the engine without the GIL.
    return out;
  }();
  return Unwrap(std::move(result));
}

Outcome PyEngine::Exec(const std::string& skill, const std::vector<std::string>& argv,
                       const std::string& stdin_data, const CallArgs& args) {
  std::shared_ptr<Engine> engine = Get();
  ExecRequest request = MakeExec(skill, argv, stdin_data, args);
  Result<Outcome> result = [&] {
    nb::gil_scoped_release release;
    Result<Outcome> out = engine->Exec(request);
    engine.reset();
    return out;
  }();
  return Unwrap(std::move(result));
}

PyRunHandle PyEngine::StartRun(const std::string& skill, nb::handle input, const CallArgs& args) {
  std::shared_ptr<Engine> engine = Get();
  RunRequest request = MakeRun(skill, input, args);
  Result<RunHandle> handle = [&] {
    nb::gil_scoped_release release;
    Result<RunHandle> out = engine->Start(std::move(request));
    engine.reset();
    return out;
  }();
  return PyRunHandle(Unwrap(std::move(handle)), owner_);
}

PyRunHandle PyEngine::StartExec(const std::string& skill, const std::vector<std::string>& argv,
                                const std::string& stdin_data, const CallArgs& args) {
  std::shared_ptr<Engine> engine = Get();
  ExecRequest request = MakeExec(skill, argv, stdin_data, args);
  Result<RunHandle> handle = [&] {
    nb::gil_scoped_release release;
    Result<RunHandle> out = engine->Start(std::move(request));
    engine.reset();
    return out;
  }();
  return PyRunHandle(Unwrap(std::move(handle)), owner_);
}

std::optional<PyRunHandle> PyEngine::FindRun(const std::string& run_id) {
  std::shared_ptr<Engine> engine = Get();
  std::optional<RunHandle> handle;
  {
    // The engine's locks may be held by a run that waits for the GIL (a Python approver).
    nb::gil_scoped_release release;
    handle = engine->FindRun(run_id);
    engine.reset();
  }
  if (!handle) return std::nullopt;
  return PyRunHandle(std::move(*handle), owner_);
}

size_t PyEngine::Approve(const std::string& target, const std::string& decision_name,
                         std::string via, std::string message) {
  std::optional<ApprovalDecision> decision = ParseDecision(decision_name);
  if (!decision) {
    ThrowError(ErrorCode::kInvalidArgument,
               "decision: expected 'once', 'session', 'always', 'deny' or 'abort', got '" +
                   decision_name + "'");
  }
  std::shared_ptr<Engine> engine = Get();
  Result<size_t> answered = [&] {
    nb::gil_scoped_release release;
    Result<size_t> out = engine->Approve(target, *decision, std::move(via), std::move(message));
    engine.reset();
    return out;
  }();
  return Unwrap(std::move(answered));
}

nb::list PyEngine::PendingApprovals() {
  std::shared_ptr<Engine> engine = Get();
  std::vector<PendingApproval> pending_list;
  {
    nb::gil_scoped_release release;
    pending_list = engine->PendingApprovals();
    engine.reset();
  }
  nb::list out;
  for (const PendingApproval& pending : pending_list) {
    out.append(ToPython(PendingApprovalJson(pending)));
  }
  return out;
}

nb::list PyEngine::Skills() {
  std::shared_ptr<Engine> engine = Get();
  Result<std::vector<SkillRef>> listed = [&] {
    nb::gil_scoped_release release;
    Result<std::vector<SkillRef>> out = engine->registry().List();
    engine.reset();
    return out;
  }();
  std::vector<SkillRef> refs = Unwrap(std::move(listed));
  nb::list out;
  for (const SkillRef& ref : refs) out.append(ToPython(SkillRefJson(ref)));
  return out;
}

nb::object PyEngine::Info(const std::string& name) {
  std::shared_ptr<Engine> engine = Get();
  Result<Skill> skill = [&] {
    nb::gil_scoped_release release;
    Result<Skill> out = engine->registry().Load(name);
    engine.reset();
    return out;
  }();
  return ToPython(SkillInfoJson(Unwrap(std::move(skill))));
}

nb::object PyEngine::CheckPolicy(const std::string& skill, const std::vector<std::string>& argv) {
  std::shared_ptr<Engine> engine = Get();
  Result<PolicyCheck> check = [&] {
    nb::gil_scoped_release release;
    Result<PolicyCheck> out = engine->CheckPolicy(skill, argv);
    engine.reset();
    return out;
  }();
  return ToPython(PolicyCheckJson(Unwrap(std::move(check))));
}

nb::list PyEngine::AuditQuery(std::optional<std::string> skill, std::optional<std::string> status,
                              std::optional<std::string> event, std::optional<double> since,
                              std::optional<double> until, size_t limit) {
  skillrt::AuditQuery query{.skill = std::move(skill),
                            .status = std::move(status),
                            .event = std::move(event),
                            .limit = limit};
  if (since) query.since = FromEpoch(*since);
  if (until) query.until = FromEpoch(*until);
  std::filesystem::path file = Get()->audit().path();
  Result<std::vector<nlohmann::json>> records = [&] {
    nb::gil_scoped_release release;
    return QueryAuditLog(file, query);
  }();
  nb::list out;
  for (const nlohmann::json& record : Unwrap(std::move(records))) out.append(ToPython(record));
  return out;
}

nb::object PyEngine::AuditVerify(std::optional<uint64_t> pin_seq,
                                 std::optional<std::string> pin_hash) {
  if (pin_seq.has_value() != pin_hash.has_value()) {
    ThrowError(ErrorCode::kInvalidArgument, "pin: give both its seq and its hash, or neither");
  }
  std::optional<AuditPin> pin;
  if (pin_seq) pin = AuditPin{.seq = *pin_seq, .hash = *pin_hash};
  std::filesystem::path file = Get()->audit().path();
  Result<AuditVerification> verification = [&] {
    nb::gil_scoped_release release;
    return VerifyAuditLog(file, pin);
  }();
  return ToPython(AuditVerificationJson(Unwrap(std::move(verification))));
}

std::string PyEngine::home() { return Get()->home().string(); }

std::string PyEngine::audit_path() { return Get()->audit().path().string(); }

void PyEngine::CancelAll(const std::string& reason) {
  std::shared_ptr<Engine> engine = Get();
  nb::gil_scoped_release release;
  engine->CancelAll(reason);
  engine.reset();
}

void PyEngine::Close() {
  std::shared_ptr<Engine> engine;
  {
    std::lock_guard lock(mu_);
    engine = std::move(engine_);
  }
  if (!engine) return;
  // Runs in flight may wait for the GIL (a Python approver); they must be able to take it.
  nb::gil_scoped_release release;
  engine->CancelAll("engine closed");
  engine.reset();
}

bool PyEngine::closed() {
  std::lock_guard lock(mu_);
  return engine_ == nullptr;
}

std::vector<double> PyEngine::BenchRun(const std::string& skill, nb::handle input, size_t count) {
  std::shared_ptr<Engine> engine = Get();
  RunRequest request = MakeRun(skill, input, CallArgs{});
  std::vector<double> micros;
  micros.reserve(count);
  std::optional<Error> error;
  std::string not_ok;
  {
    nb::gil_scoped_release release;
    for (size_t i = 0; i < count; ++i) {
      auto start = std::chrono::steady_clock::now();
      Result<Outcome> outcome = engine->Run(request);
      auto end = std::chrono::steady_clock::now();
      if (!outcome) {
        error = outcome.error();
        break;
      }
      if (outcome->status != Status::kOk) {
        not_ok = std::string(StatusName(outcome->status)) + ": " + outcome->message;
        break;
      }
      micros.push_back(std::chrono::duration<double, std::micro>(end - start).count());
    }
    engine.reset();
  }
  if (error) ThrowError(std::move(*error));
  if (!not_ok.empty()) ThrowError(ErrorCode::kInternal, "benchmark run not ok: " + not_ok);
  return micros;
}

}  // namespace skillrt::python
