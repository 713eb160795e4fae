// The extension module `skillrt._skillrt`: skillrt's engine (include/skillrt/engine.h) bound
// with nanobind for the Python SDK. Users import `skillrt` (python/skillrt/__init__.py),
// which wraps these classes; docs/python.md documents the API.
#include <nanobind/nanobind.h>

#include "bindings.h"
#include "errors.h"

NB_MODULE(_skillrt, module) {
  module.doc() = "skillrt's C++ engine, bound for the skillrt package (use `import skillrt`).";
  skillrt::python::RegisterErrors(module);
  skillrt::python::BindOutcome(module);
  skillrt::python::BindEngine(module);
}
