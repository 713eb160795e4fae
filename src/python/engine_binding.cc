// `skillrt._skillrt.Engine`: PyEngine's methods, with the overrides as keyword arguments in
// the engine's units (milliseconds, bytes). skillrt.Engine (python/skillrt/engine.py) is the
// documented face; these names are internal.
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"
#include "convert.h"
#include "dicts.h"
#include "py_engine.h"
#include "skillrt/skill.h"

namespace skillrt::python {
namespace {

CallArgs Args(std::optional<int64_t> timeout_ms, std::optional<uint64_t> memory_bytes,
              std::optional<std::string> run_id, std::optional<std::string> workspace,
              bool best_effort) {
  return CallArgs{.timeout_ms = timeout_ms,
                  .memory_bytes = memory_bytes,
                  .run_id = run_id.value_or(""),
                  .workspace = std::move(workspace),
                  .best_effort = best_effort};
}

// The keyword arguments every run, exec and start takes, after the call's own.
#define SKILLRT_CALL_ARGS                                                                         \
  nb::kw_only(), nb::arg("timeout_ms").none() = nb::none(),                                       \
                 nb::arg("memory_bytes").none() = nb::none(),                                     \
                 nb::arg("run_id").none() = nb::none(), nb::arg("workspace").none() = nb::none(), \
                 nb::arg("best_effort") = false

}  // namespace

void BindEngine(nb::module_& m) {
  nb::class_<PyEngine> engine(m, "Engine", "skillrt's engine (internal; use skillrt.Engine).");
  engine
      .def(nb::init<std::optional<std::string>, std::vector<std::string>,
                    std::optional<std::string>, bool, nb::object, int64_t, bool, bool,
                    int64_t>(),
           nb::arg("home").none(), nb::arg("skills"), nb::arg("policy").none(),
           nb::arg("user_policy"), nb::arg("approver").none(), nb::arg("approval_timeout_ms"),
           nb::arg("watch"), nb::arg("require_lock"), nb::arg("prepared_sandboxes"))
      .def(
          "run",
          [](PyEngine& e, const std::string& skill, nb::handle input,
             std::optional<int64_t> timeout_ms, std::optional<uint64_t> memory_bytes,
             std::optional<std::string> run_id, std::optional<std::string> workspace,
             bool best_effort) {
            return e.Run(skill, input,
                         Args(timeout_ms, memory_bytes, std::move(run_id), std::move(workspace),
                              best_effort));
          },
          nb::arg("skill"), nb::arg("input").none(), SKILLRT_CALL_ARGS)
      .def(
          "exec",
          [](PyEngine& e, const std::string& skill, const std::vector<std::string>& argv,
             nb::bytes stdin_data, std::optional<int64_t> timeout_ms,
             std::optional<uint64_t> memory_bytes, std::optional<std::string> run_id,
             std::optional<std::string> workspace, bool best_effort) {
            return e.Exec(skill, argv, std::string(stdin_data.c_str(), stdin_data.size()),
                          Args(timeout_ms, memory_bytes, std::move(run_id), std::move(workspace),
                               best_effort));
          },
          nb::arg("skill"), nb::arg("argv"), nb::arg("stdin"), SKILLRT_CALL_ARGS)
      .def(
          "start_run",
          [](PyEngine& e, const std::string& skill, nb::handle input,
             std::optional<int64_t> timeout_ms, std::optional<uint64_t> memory_bytes,
             std::optional<std::string> run_id, std::optional<std::string> workspace,
             bool best_effort) {
            return e.StartRun(skill, input,
                              Args(timeout_ms, memory_bytes, std::move(run_id),
                                   std::move(workspace), best_effort));
          },
          nb::arg("skill"), nb::arg("input").none(), SKILLRT_CALL_ARGS)
      .def(
          "start_exec",
          [](PyEngine& e, const std::string& skill, const std::vector<std::string>& argv,
             nb::bytes stdin_data, std::optional<int64_t> timeout_ms,
             std::optional<uint64_t> memory_bytes, std::optional<std::string> run_id,
             std::optional<std::string> workspace, bool best_effort) {
            return e.StartExec(skill, argv, std::string(stdin_data.c_str(), stdin_data.size()),
                               Args(timeout_ms, memory_bytes, std::move(run_id),
                                    std::move(workspace), best_effort));
          },
          nb::arg("skill"), nb::arg("argv"), nb::arg("stdin"), SKILLRT_CALL_ARGS)
      .def("find_run", &PyEngine::FindRun, nb::arg("run_id"))
      .def("approve", &PyEngine::Approve, nb::arg("target"), nb::arg("decision"), nb::arg("via"),
           nb::arg("message"))
      .def("pending_approvals", &PyEngine::PendingApprovals)
      .def("skills", &PyEngine::Skills)
      .def("info", &PyEngine::Info, nb::arg("name"))
      .def("check_policy", &PyEngine::CheckPolicy, nb::arg("skill"), nb::arg("argv"))
      .def("audit_query", &PyEngine::AuditQuery, nb::arg("skill").none(), nb::arg("status").none(),
           nb::arg("event").none(), nb::arg("since").none(), nb::arg("until").none(),
           nb::arg("limit"))
      .def("audit_verify", &PyEngine::AuditVerify, nb::arg("pin_seq").none(),
           nb::arg("pin_hash").none())
      .def_prop_ro("home", &PyEngine::home)
      .def_prop_ro("audit_path", &PyEngine::audit_path)
      .def_prop_ro("closed", &PyEngine::closed)
      .def("cancel_all", &PyEngine::CancelAll, nb::arg("reason"))
      .def("close", &PyEngine::Close)
      .def("bench_run", &PyEngine::BenchRun, nb::arg("skill"), nb::arg("input").none(),
           nb::arg("count"));
  BindTools(engine);

  m.def(
      "validate",
      [](const std::string& path) {
        std::vector<Diagnostic> diagnostics;
        {
          nb::gil_scoped_release release;
          diagnostics = ValidateSkill(path);
        }
        nb::list out;
        for (const Diagnostic& d : diagnostics) out.append(ToPython(DiagnosticJson(d)));
        return out;
      },
      nb::arg("path"), "ValidateSkill (internal; use skillrt.validate).");
}

}  // namespace skillrt::python
