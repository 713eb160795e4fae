#include "convert.h"

#include <Python.h>
#include <nanobind/stl/string.h>

#include <cmath>
#include <string>

#include "errors.h"

namespace skillrt::python {
namespace {

// How deep a Python value may nest: deeper is refused rather than recursed into (a list
// that contains itself would otherwise recurse until the stack ends).
constexpr int kMaxDepth = 256;

nb::object Steal(PyObject* object) {
  if (object == nullptr) throw nb::python_error();
  return nb::steal(object);
}

[[noreturn]] void NotJson(const std::string& path, nb::handle object, std::string_view why) {
  std::string type = nb::cast<std::string>(
      nb::str(nb::handle(reinterpret_cast<PyObject*>(Py_TYPE(object.ptr()))).attr("__name__")));
  ThrowError(ErrorCode::kInvalidArgument, path + ": " + std::string(why) + " (a " + type + ")");
}

nlohmann::json Convert(nb::handle object, const std::string& path, int depth) {
  PyObject* o = object.ptr();
  if (depth > kMaxDepth) {
    ThrowError(ErrorCode::kInvalidArgument,
               path + ": nested deeper than " + std::to_string(kMaxDepth) + " levels");
  }
  if (o == Py_None) return nullptr;
  if (PyBool_Check(o)) return o == Py_True;
  if (PyLong_Check(o)) {
    int overflow = 0;
    long long value = PyLong_AsLongLongAndOverflow(o, &overflow);
    if (overflow == 0) {
      if (value == -1 && PyErr_Occurred()) throw nb::python_error();
      return value;
    }
    if (overflow > 0) {
      unsigned long long big = PyLong_AsUnsignedLongLong(o);
      if (!PyErr_Occurred()) return big;
      PyErr_Clear();
    }
    NotJson(path, object, "an integer outside 64 bits");
  }
  if (PyFloat_Check(o)) {
    double value = PyFloat_AS_DOUBLE(o);
    if (!std::isfinite(value)) NotJson(path, object, "NaN and infinity are not JSON");
    return value;
  }
  if (PyUnicode_Check(o)) {
    Py_ssize_t size = 0;
    const char* data = PyUnicode_AsUTF8AndSize(o, &size);
    if (data == nullptr) {
      PyErr_Clear();
      NotJson(path, object, "a string that is not valid Unicode (lone surrogates)");
    }
    return std::string(data, static_cast<size_t>(size));
  }
  if (PyDict_Check(o)) {
    nlohmann::json out = nlohmann::json::object();
    PyObject* key = nullptr;
    PyObject* value = nullptr;
    Py_ssize_t pos = 0;
    while (PyDict_Next(o, &pos, &key, &value)) {
      if (!PyUnicode_Check(key)) NotJson(path, nb::handle(key), "an object key must be a str");
      std::string name = nb::cast<std::string>(nb::handle(key));
      out[name] = Convert(nb::handle(value), path + "." + name, depth + 1);
    }
    return out;
  }
  if (PyList_Check(o) || PyTuple_Check(o)) {
    nlohmann::json out = nlohmann::json::array();
    Py_ssize_t size = PySequence_Fast_GET_SIZE(o);
    PyObject** items = PySequence_Fast_ITEMS(o);
    for (Py_ssize_t i = 0; i < size; ++i) {
      out.push_back(Convert(nb::handle(items[i]), path + "[" + std::to_string(i) + "]", depth + 1));
    }
    return out;
  }
  NotJson(path, object, "not a JSON value: use None, bool, int, float, str, list or dict");
}

}  // namespace

nb::str DecodeText(std::string_view text) {
  return nb::steal<nb::str>(
      Steal(PyUnicode_DecodeUTF8(text.data(), static_cast<Py_ssize_t>(text.size()), "replace"))
          .release());
}

nb::object ToPython(const nlohmann::json& value) {
  switch (value.type()) {
    case nlohmann::json::value_t::null:
    case nlohmann::json::value_t::discarded:
      return nb::none();
    case nlohmann::json::value_t::boolean:
      return nb::bool_(value.get<bool>());
    case nlohmann::json::value_t::number_integer:
      return Steal(PyLong_FromLongLong(value.get<int64_t>()));
    case nlohmann::json::value_t::number_unsigned:
      return Steal(PyLong_FromUnsignedLongLong(value.get<uint64_t>()));
    case nlohmann::json::value_t::number_float:
      return Steal(PyFloat_FromDouble(value.get<double>()));
    case nlohmann::json::value_t::string:
      return DecodeText(value.get_ref<const std::string&>());
    case nlohmann::json::value_t::array: {
      nb::list out = nb::steal<nb::list>(Steal(PyList_New(0)).release());
      for (const nlohmann::json& item : value) out.append(ToPython(item));
      return out;
    }
    case nlohmann::json::value_t::object: {
      nb::dict out;
      for (const auto& [key, item] : value.items()) out[DecodeText(key)] = ToPython(item);
      return out;
    }
    case nlohmann::json::value_t::binary:
      break;
  }
  ThrowError(ErrorCode::kInternal, "a binary JSON value has no Python form");
}

nlohmann::json ToJson(nb::handle object, std::string_view what) {
  return Convert(object, std::string(what), 0);
}

}  // namespace skillrt::python
