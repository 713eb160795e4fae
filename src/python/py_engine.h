// The Engine as the extension module holds it (bound as `skillrt._skillrt.Engine`; users
// call it through skillrt.Engine, python/skillrt/engine.py).
#ifndef SKILLRT_PYTHON_PY_ENGINE_H_
#define SKILLRT_PYTHON_PY_ENGINE_H_

#include <nanobind/nanobind.h>
#include <sys/types.h>

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "run_handle.h"
#include "skillrt/engine.h"

namespace skillrt::python {

namespace nb = nanobind;

/// What Engine.run, exec and start take besides the skill: the overrides in the units the
/// engine uses (the Python layer converts seconds and MiB).
struct CallArgs {
  std::optional<int64_t> timeout_ms;     ///< Narrows the manifest's wall time.
  std::optional<uint64_t> memory_bytes;  ///< Narrows the manifest's memory limit.
  std::string run_id;                    ///< Empty: the engine makes one.
  std::optional<std::string> workspace;  ///< RunOverrides::workspace.
  bool best_effort = false;              ///< SandboxLevel::kBestEffort instead of kStrict.
};

/// One skillrt::Engine shared by Python threads. Thread-safe: every call copies the engine's
/// shared_ptr with the GIL held and runs with the GIL released, so many threads run skills
/// at once; close() cancels runs in flight, and the engine is destroyed (its threads
/// joined) by whichever holder lets go last, always with the GIL released. A Python
/// approver is called with the GIL held, on the thread of the run that asks.
///
/// fork(2): the engine belongs to the process that opened it. In a child every method raises
/// UnsupportedError (CheckSameProcess), and the child never destroys it (its threads are not
/// there to join); the parent is unaffected.
class PyEngine {
 public:
  /// Engine::Open. `approver`: None, or a callable taking the approval request dict
  /// (ApprovalRequestJson) and returning "once", "session", "always", "deny" or "abort"; any
  /// other return value, or an exception, denies (and is reported through
  /// sys.unraisablehook). `approval_timeout_ms` as EngineOptions::approval_timeout;
  /// `prepared_sandboxes` as NativeRuntimeOptions::prepared_sandboxes (InvalidArgumentError
  /// outside 0 to kMaxPreparedSandboxes).
  PyEngine(std::optional<std::string> home, std::vector<std::string> skills,
           std::optional<std::string> policy, bool user_policy, nb::object approver,
           int64_t approval_timeout_ms, bool watch, bool require_lock,
           int64_t prepared_sandboxes);
  ~PyEngine();

  Outcome Run(const std::string& skill, nb::handle input, const CallArgs& args);
  Outcome Exec(const std::string& skill, const std::vector<std::string>& argv,
               const std::string& stdin_data, const CallArgs& args);
  PyRunHandle StartRun(const std::string& skill, nb::handle input, const CallArgs& args);
  PyRunHandle StartExec(const std::string& skill, const std::vector<std::string>& argv,
                        const std::string& stdin_data, const CallArgs& args);
  std::optional<PyRunHandle> FindRun(const std::string& run_id);

  size_t Approve(const std::string& target, const std::string& decision, std::string via,
                 std::string message);
  nb::list PendingApprovals();

  nb::list Skills();
  nb::object Info(const std::string& name);
  nb::object CheckPolicy(const std::string& skill, const std::vector<std::string>& argv);
  nb::list AuditQuery(std::optional<std::string> skill, std::optional<std::string> status,
                      std::optional<std::string> event, std::optional<double> since,
                      std::optional<double> until, size_t limit);
  nb::object AuditVerify(std::optional<uint64_t> pin_seq, std::optional<std::string> pin_hash);
  std::string home();
  std::string audit_path();

  /// Cancels every run in flight with `reason`.
  void CancelAll(const std::string& reason);
  /// Cancels runs in flight and lets go of the engine; later calls raise. Idempotent.
  void Close();
  bool closed();

  /// Runs `skill` with `input` `count` times from C++ (the GIL released) and returns each
  /// call's wall time in microseconds: the baseline that the Python benchmark compares
  /// Engine.run against in the same process. Raises on an Error or an outcome not ok.
  std::vector<double> BenchRun(const std::string& skill, nb::handle input, size_t count);

  /// The engine, or UnsupportedError in a forked child, or InvalidArgumentError once closed.
  /// A caller that releases the GIL lets go of the copy before taking the GIL again, so that
  /// the engine is never destroyed with the GIL held. REQUIRES: the GIL is held.
  std::shared_ptr<Engine> Get();

 private:

  pid_t owner_;
  std::mutex mu_;  // Guards engine_.
  std::shared_ptr<Engine> engine_;
};

/// Parses "once", "session", "always", "deny", "abort"; nullopt otherwise.
std::optional<ApprovalDecision> ParseDecision(std::string_view text);

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_PY_ENGINE_H_
