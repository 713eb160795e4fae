// The bridge from skillrt's Error values (include/skillrt/error.h) to the Python exception
// hierarchy that python/skillrt/errors.py defines (docs/python.md, "Errors").
#ifndef SKILLRT_PYTHON_ERRORS_H_
#define SKILLRT_PYTHON_ERRORS_H_

#include <nanobind/nanobind.h>

#include <exception>
#include <string>
#include <utility>

#include "skillrt/error.h"

namespace skillrt::python {

namespace nb = nanobind;

/// Carries an Error out of a binding to the exception translator (RegisterErrors), which
/// raises the Python class registered for its code.
class ErrorException : public std::exception {
 public:
  explicit ErrorException(Error error) : error_(std::move(error)) {}
  const Error& error() const { return error_; }
  const char* what() const noexcept override { return error_.message.c_str(); }

 private:
  Error error_;
};

/// Throws ErrorException for `error`.
[[noreturn]] void ThrowError(Error error);

/// Throws ErrorException{code, message}.
[[noreturn]] void ThrowError(ErrorCode code, std::string message);

/// The value of `result`, or throws its Error.
template <typename T>
T Unwrap(Result<T> result) {
  if (!result) ThrowError(std::move(result.error()));
  if constexpr (!std::is_void_v<T>) return std::move(*result);
}

/// Adds `_register_errors(classes)` to `module`: python/skillrt/errors.py passes a dict from
/// each ErrorCodeName ("not_found", ...) to its exception class. Installs the translator that
/// raises them, as `cls(message, code=name, errno=sys_errno)`; before registration, or for a
/// code without a class, RuntimeError.
void RegisterErrors(nb::module_& module);

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_ERRORS_H_
