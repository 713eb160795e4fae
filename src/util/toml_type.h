// The name of a TOML value's type, as error messages say it ("expected an integer, got string").
#ifndef SKILLRT_UTIL_TOML_TYPE_H_
#define SKILLRT_UTIL_TOML_TYPE_H_

#include <toml++/toml.h>

#include <string>

namespace skillrt {

/// The TOML type of `node` in words: "string", "integer", "float", "boolean", "array",
/// "table", "date", "time", "date-time" (TOML 1.0 value types) or "nothing". Thread-safe.
inline std::string TomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::string: return "string";
    case toml::node_type::integer: return "integer";
    case toml::node_type::floating_point: return "float";
    case toml::node_type::boolean: return "boolean";
    case toml::node_type::array: return "array";
    case toml::node_type::table: return "table";
    case toml::node_type::date: return "date";
    case toml::node_type::time: return "time";
    case toml::node_type::date_time: return "date-time";
    case toml::node_type::none: return "nothing";
  }
  return "unknown";
}

}  // namespace skillrt

#endif  // SKILLRT_UTIL_TOML_TYPE_H_
