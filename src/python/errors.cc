#include "errors.h"

#include <Python.h>
#include <nanobind/stl/string.h>

#include <array>
#include <string_view>

#include "convert.h"

namespace skillrt::python {
namespace {

// Every ErrorCode, in declaration order; the registry below is indexed by it.
constexpr std::array kCodes = {
    ErrorCode::kInvalidArgument, ErrorCode::kNotFound, ErrorCode::kParse,   ErrorCode::kValidation,
    ErrorCode::kConflict,        ErrorCode::kDenied,   ErrorCode::kSandbox, ErrorCode::kIo,
    ErrorCode::kUnsupported,     ErrorCode::kInternal,
};

// The class for each code, owned (one reference each) for the life of the process: the
// translator may run until the interpreter ends.
std::array<PyObject*, kCodes.size()> g_classes = {};

void Translate(const std::exception_ptr& pointer, void*) {
  try {
    std::rethrow_exception(pointer);
  } catch (const ErrorException& e) {
    const Error& error = e.error();
    PyObject* cls = g_classes[static_cast<size_t>(error.code)];
    if (cls == nullptr) {
      std::string text = error.ToString();
      PyErr_SetString(PyExc_RuntimeError, text.c_str());
      return;
    }
    std::string_view code = ErrorCodeName(error.code);
    try {
      nb::object instance = nb::handle(cls)(DecodeText(error.message),
                                            nb::arg("code") = nb::str(code.data(), code.size()),
                                            nb::arg("errno") = error.sys_errno);
      PyErr_SetObject(reinterpret_cast<PyObject*>(Py_TYPE(instance.ptr())), instance.ptr());
    } catch (nb::python_error& e) {
      e.restore();  // The failure to build the exception is the exception raised.
    }
  }
}

}  // namespace

void ThrowError(Error error) { throw ErrorException(std::move(error)); }

void ThrowError(ErrorCode code, std::string message) {
  throw ErrorException(Error::Make(code, std::move(message)));
}

void RegisterErrors(nb::module_& module) {
  nb::register_exception_translator(Translate);
  module.def(
      "_register_errors",
      [](nb::dict classes) {
        for (ErrorCode code : kCodes) {
          nb::str name(ErrorCodeName(code).data(), ErrorCodeName(code).size());
          if (!classes.contains(name)) {
            throw nb::key_error(
                ("no exception class for error code " + std::string(ErrorCodeName(code))).c_str());
          }
          nb::object cls = classes[name];
          if (!PyExceptionClass_Check(cls.ptr())) {
            throw nb::type_error("_register_errors: values must be exception classes");
          }
          PyObject*& slot = g_classes[static_cast<size_t>(code)];
          Py_XDECREF(slot);
          slot = cls.release().ptr();
        }
      },
      nb::arg("classes"), "Installs the exception class for each error code (internal).");
}

}  // namespace skillrt::python
