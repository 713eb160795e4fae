// Tool use for Python: the core's tool API (include/skillrt/tools.h, docs/tools.md) as
// `Engine.tool_definitions` and `Engine.handle_tool_calls`, JSON in and out. A build whose
// core has no tool API adds neither method, and skillrt.Engine.tools and handle_tool_calls
// raise UnsupportedError saying so (python/skillrt/engine.py).
#include <nanobind/nanobind.h>
#include <nanobind/stl/optional.h>
#include <nanobind/stl/string.h>
#include <nanobind/stl/vector.h>

#include "bindings.h"

#if __has_include("skillrt/tools.h")

#include <chrono>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "convert.h"
#include "errors.h"
#include "py_engine.h"
#include "skillrt/instance.h"
#include "skillrt/tools.h"

namespace skillrt::python {
namespace {

// The tools of `engine`'s skills, with the instances of its instances file, as
// HandleToolCalls builds them for a response. REQUIRES: the GIL is released.
Result<ToolSet> Tools(const Engine& engine, const std::vector<std::string>& only) {
  Result<InstanceFile> instances = ReadInstanceFile(InstanceFilePath(engine.home()));
  return BuildToolSet(engine.registry(), instances ? &*instances : nullptr,
                      ToolSetOptions{.only = only});
}

nb::object ToolDefinitionsFor(PyEngine& self, const std::string& format_name,
                              const std::vector<std::string>& only) {
  ToolFormat format = Unwrap(ParseToolFormat(format_name));
  std::shared_ptr<Engine> engine = self.Get();
  Result<nlohmann::json> definitions = [&]() -> Result<nlohmann::json> {
    nb::gil_scoped_release release;
    Result<ToolSet> tools = Tools(*engine, only);
    engine.reset();
    if (!tools) return std::unexpected(tools.error());
    return ToolDefinitions(*tools, format);
  }();
  return ToPython(Unwrap(std::move(definitions)));
}

nb::object HandleToolCallsFor(PyEngine& self, nb::handle response,
                              std::optional<int64_t> timeout_ms, size_t max_concurrency) {
  nlohmann::json payload = ToJson(response, "response");
  ToolCallOptions options;
  if (timeout_ms) {
    if (*timeout_ms <= 0) ThrowError(ErrorCode::kInvalidArgument, "timeout: must be positive");
    options.wall_time = std::chrono::milliseconds(*timeout_ms);
  }
  if (max_concurrency == 0) {
    ThrowError(ErrorCode::kInvalidArgument, "max_concurrency: must be at least 1");
  }
  options.max_concurrency = max_concurrency;
  std::shared_ptr<Engine> engine = self.Get();
  Result<nlohmann::json> messages = [&] {
    // The calls run on the engine's threads; a Python approver takes the GIL itself.
    nb::gil_scoped_release release;
    Result<nlohmann::json> out = HandleToolCalls(*engine, payload, options);
    engine.reset();
    return out;
  }();
  return ToPython(Unwrap(std::move(messages)));
}

}  // namespace

void BindTools(nb::class_<PyEngine>& engine) {
  engine.def("tool_definitions", &ToolDefinitionsFor, nb::arg("format"), nb::arg("only"))
      .def("handle_tool_calls", &HandleToolCallsFor, nb::arg("response"),
           nb::arg("timeout_ms").none() = nb::none(), nb::arg("max_concurrency") = 4);
}

}  // namespace skillrt::python

#else  // No tool API in this core: the Python layer reports it (UnsupportedError).

namespace skillrt::python {
void BindTools(nb::class_<PyEngine>&) {}
}  // namespace skillrt::python

#endif
