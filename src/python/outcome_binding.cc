// `Outcome` and `RunHandle` for Python: a run's result with the fields of the CLI's JSON
// (OutcomeToJson, docs/cli.md) and a started run's events, cancellation and result.
#include <Python.h>
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/tuple.h>
#include <nanobind/stl/vector.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <tuple>

#include "bindings.h"
#include "convert.h"
#include "errors.h"
#include "run_handle.h"
#include "skillrt/engine.h"
#include "skillrt/outcome.h"

namespace skillrt::python {
namespace {

double Millis(std::chrono::microseconds duration) {
  return static_cast<double>(duration.count()) / 1000.0;
}

nb::object OptionalInt(const std::optional<int>& value) {
  return value ? nb::object(nb::int_(*value)) : nb::none();
}

nb::list Strings(const std::vector<std::string>& values) {
  nb::list out;
  for (const std::string& value : values) out.append(DecodeText(value));
  return out;
}

nb::object SignalName(const Outcome& o) {
  if (!o.signal) return nb::none();
  const char* abbrev = ::sigabbrev_np(*o.signal);  // sigabbrev_np(3): "KILL" for SIGKILL.
  if (abbrev == nullptr) return nb::none();
  return nb::str(("SIG" + std::string(abbrev)).c_str());
}

constexpr const char* kOutcomeDoc =
    R"(What a skill did: the result of Engine.run, Engine.exec and RunHandle.wait.

A skill that fails, times out, is killed by a limit, refused by its manifest or the policy, or
cancelled is an Outcome (see `status`), never an exception. The attributes are the fields of
the CLI's `--json` output (docs/cli.md); `to_dict()` returns exactly that object.)";

}  // namespace

void BindOutcome(nb::module_& m) {
  nb::class_<Outcome>(m, "Outcome", kOutcomeDoc)
      .def_prop_ro(
          "run_id", [](const Outcome& o) { return o.run_id; },
          "The run's id (1-64 characters of [A-Za-z0-9_-]).")
      .def_prop_ro(
          "skill", [](const Outcome& o) { return DecodeText(o.skill); }, "The skill's name.")
      .def_prop_ro(
          "status", [](const Outcome& o) { return std::string(StatusName(o.status)); },
          "How the run ended: 'ok', 'error', 'timeout', 'killed', 'denied' or "
          "'cancelled'.")
      .def_prop_ro(
          "ok", [](const Outcome& o) { return o.status == Status::kOk; },
          "True when `status` is 'ok'.")
      .def_prop_ro(
          "exit_code", [](const Outcome& o) { return OptionalInt(o.exit_code); },
          "The exit code when the process exited, else None.")
      .def_prop_ro(
          "signal", [](const Outcome& o) { return OptionalInt(o.signal); },
          "The signal number that killed the process, else None.")
      .def_prop_ro("signal_name", &SignalName, "The signal's name ('SIGKILL'), else None.")
      .def_prop_ro(
          "output",
          [](const Outcome& o) { return o.output.is_object() ? ToPython(o.output) : nb::none(); },
          "The JSON object the skill printed (a dict; a new copy on each access), "
          "or None.")
      .def_prop_ro(
          "stdout", [](const Outcome& o) { return DecodeText(o.stdout_stream.data); },
          "Captured standard output as text (invalid UTF-8 replaced by U+FFFD).")
      .def_prop_ro(
          "stderr", [](const Outcome& o) { return DecodeText(o.stderr_stream.data); },
          "Captured standard error as text (invalid UTF-8 replaced by U+FFFD).")
      .def_prop_ro(
          "stdout_bytes",
          [](const Outcome& o) {
            return nb::bytes(o.stdout_stream.data.data(), o.stdout_stream.data.size());
          },
          "Captured standard output as the bytes the skill wrote.")
      .def_prop_ro(
          "stderr_bytes",
          [](const Outcome& o) {
            return nb::bytes(o.stderr_stream.data.data(), o.stderr_stream.data.size());
          },
          "Captured standard error as the bytes the skill wrote.")
      .def_prop_ro(
          "stdout_truncated", [](const Outcome& o) { return o.stdout_stream.truncated; },
          "True when standard output was cut at the output limit.")
      .def_prop_ro(
          "stderr_truncated", [](const Outcome& o) { return o.stderr_stream.truncated; },
          "True when standard error was cut at the output limit.")
      .def_prop_ro(
          "duration_ms", [](const Outcome& o) { return Millis(o.duration); },
          "Wall time from start to reaping, in milliseconds.")
      .def_prop_ro(
          "cpu_ms", [](const Outcome& o) { return Millis(o.cpu); },
          "User + system CPU time of the skill's processes, in milliseconds.")
      .def_prop_ro(
          "max_rss_kb", [](const Outcome& o) { return o.max_rss_kb; },
          "Peak resident memory, in KiB.")
      .def_prop_ro(
          "limits_hit", [](const Outcome& o) { return Strings(o.limits_hit); },
          "Limits that stopped or constrained the run: 'wall_time', 'cpu_time', "
          "'memory', 'processes', 'output', 'file_size', 'scratch'.")
      .def_prop_ro(
          "layers", [](const Outcome& o) { return Strings(o.layers); },
          "Isolation layers applied, e.g. 'userns', 'seccomp', 'landlock:v7', "
          "'wasm'.")
      .def_prop_ro(
          "message", [](const Outcome& o) { return DecodeText(o.message); },
          "Why the status is not 'ok', when known; else ''.")
      .def_prop_ro(
          "egress",
          [](const Outcome& o) {
            nb::list out;
            for (const EgressRecord& r : o.egress) out.append(ToPython(EgressRecordToJson(r)));
            return out;
          },
          "Each connection the skill asked the egress proxy for (dicts, "
          "docs/network.md).")
      .def_prop_ro(
          "limits",
          [](const Outcome& o) {
            return o.limits ? ToPython(LimitsToJson(*o.limits)) : nb::none();
          },
          "The limits in force (dict: wall_time_ms, cpu_time_ms, memory_bytes, pids, "
          "output_bytes, file_size_bytes, scratch_bytes, open_files), or None for a "
          "call refused before it was planned.")
      .def(
          "to_dict", [](const Outcome& o) { return ToPython(OutcomeToJson(o)); },
          "The outcome as the CLI's `--json` prints it: a dict of every field above.")
      .def("__repr__", [](const Outcome& o) {
        std::string text = "Outcome(skill=" + o.skill +
                           ", status=" + std::string(StatusName(o.status)) + ", run_id=" + o.run_id;
        if (o.exit_code) text += ", exit_code=" + std::to_string(*o.exit_code);
        if (!o.message.empty()) text += ", message=" + o.message.substr(0, 80);
        return DecodeText(text + ")");
      });

  nb::class_<PyRunHandle>(m, "RunHandle",
                          "A run started by Engine.start (internal; use skillrt.RunHandle).")
      .def_prop_ro("run_id", &PyRunHandle::run_id)
      .def("done", &PyRunHandle::done)
      .def("cancel", &PyRunHandle::Cancel, nb::arg("reason") = "cancelled")
      .def("wait", &PyRunHandle::Wait, nb::arg("timeout_ms").none() = nb::none())
      .def("read_events", &PyRunHandle::ReadEvents, nb::arg("after"), nb::arg("max"),
           nb::arg("wait_ms"));
}

}  // namespace skillrt::python
