// Conversions between JSON values (nlohmann::json, the engine's edge format) and Python
// objects, for the extension module `skillrt._skillrt` (docs/python.md).
#ifndef SKILLRT_PYTHON_CONVERT_H_
#define SKILLRT_PYTHON_CONVERT_H_

#include <nanobind/nanobind.h>

#include <nlohmann/json.hpp>
#include <string_view>

namespace skillrt::python {

namespace nb = nanobind;

/// The Python value of `value`: None, bool, int, float, str, list or dict (keys in the
/// object's order). Strings are decoded as UTF-8 with invalid bytes replaced (U+FFFD).
/// REQUIRES: the GIL is held. Errors: a Python MemoryError, as nb::python_error.
nb::object ToPython(const nlohmann::json& value);

/// The JSON value of `object`: None, bool, int (that fits 64 bits, signed or not), float
/// (finite), str, list or tuple, and dict with str keys, nested at most 256 deep. `what`
/// names the value in errors ("input"). REQUIRES: the GIL is held. Errors: an
/// InvalidArgumentError (ThrowError, kInvalidArgument) naming the JSON path and the type at
/// fault, e.g. "input.rows[2]: a set is not JSON".
nlohmann::json ToJson(nb::handle object, std::string_view what);

/// `text` as a Python str, invalid UTF-8 bytes replaced by U+FFFD (what a skill printed is
/// bytes). REQUIRES: the GIL is held.
nb::str DecodeText(std::string_view text);

}  // namespace skillrt::python

#endif  // SKILLRT_PYTHON_CONVERT_H_
