// The pieces of the extension module `skillrt._skillrt`, each adding its classes and
// functions to the module (module.cc calls them in order). The pure-Python layer
// (python/skillrt/) wraps them; docs/python.md is the user's reference.
#ifndef SKILLRT_PYTHON_BINDINGS_H_
#define SKILLRT_PYTHON_BINDINGS_H_

#include <nanobind/nanobind.h>
#include <sys/types.h>

#include "skillrt/error.h"

namespace skillrt::python {

namespace nb = nanobind;

/// `Outcome` (a run's result, fields as the CLI's JSON) and `RunHandle` (a started run).
void BindOutcome(nb::module_& module);

/// `Engine`: open, run, exec, start, approvals, the catalogue, validation and the audit log.
void BindEngine(nb::module_& module);

class PyEngine;

/// Adds `tool_definitions(format, only)` and `handle_tool_calls(response, timeout_ms,
/// max_concurrency)` to `engine` when the core has the tool API (include/skillrt/tools.h);
/// adds nothing otherwise.
void BindTools(nb::class_<PyEngine>& engine);

/// Throws kUnsupported when the calling process is not `owner`, the process that opened the
/// engine or started the run: after fork(2) only the forking thread exists in the child, so
/// the engine's run threads and the locks they held are gone (fork(2), "Notes").
void CheckSameProcess(pid_t owner, const char* what);

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_BINDINGS_H_
