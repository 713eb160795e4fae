// A documented subset of JSON Schema (draft 2020-12 keyword semantics) for checking a skill's
// input before it runs. The subset and its limits are listed in docs/manifest.md.
#include <algorithm>
#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>

#include "skill/manifest_internal.h"
#include "skill/schema_pattern.h"
#include "skillrt/manifest.h"
#include "util/json_pointer.h"

namespace skillrt {
namespace {

using json = nlohmann::json;

// Schemas and the values they describe are walked recursively; this bounds the recursion.
constexpr int kMaxSchemaDepth = 64;

constexpr std::string_view kTypeNames[] = {"null",   "boolean", "object", "array",
                                           "number", "integer", "string"};

std::string JsonTypeName(const json& v) {
  switch (v.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "boolean";
    case json::value_t::object: return "object";
    case json::value_t::array: return "array";
    case json::value_t::string: return "string";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned: return "integer";
    case json::value_t::number_float: return "number";
    default: return "unknown";
  }
}

bool IsIntegral(const json& v) {
  if (v.is_number_integer()) return true;
  if (!v.is_number_float()) return false;
  double d = v.get<double>();
  return std::isfinite(d) && std::floor(d) == d;
}

bool HasType(const json& v, std::string_view type) {
  if (type == "null") return v.is_null();
  if (type == "boolean") return v.is_boolean();
  if (type == "object") return v.is_object();
  if (type == "array") return v.is_array();
  if (type == "string") return v.is_string();
  if (type == "number") return v.is_number();
  if (type == "integer") return IsIntegral(v);
  return false;
}

// Compares two JSON numbers: negative, zero or positive like a <=> b. Exact for integers.
int CompareNumbers(const json& a, const json& b) {
  if (a.is_number_integer() && b.is_number_integer()) {
    bool a_neg = a.is_number_integer() && !a.is_number_unsigned() && a.get<int64_t>() < 0;
    bool b_neg = b.is_number_integer() && !b.is_number_unsigned() && b.get<int64_t>() < 0;
    if (a_neg != b_neg) return a_neg ? -1 : 1;
    if (a_neg) {
      int64_t x = a.get<int64_t>(), y = b.get<int64_t>();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    uint64_t x = a.get<uint64_t>(), y = b.get<uint64_t>();
    return x < y ? -1 : (x > y ? 1 : 0);
  }
  double x = a.get<double>(), y = b.get<double>();
  return x < y ? -1 : (x > y ? 1 : 0);
}

// Number of Unicode code points in UTF-8 `s` (JSON Schema lengths count characters).
std::size_t CodePoints(const std::string& s) {
  std::size_t n = 0;
  for (unsigned char c : s) {
    if ((c & 0xC0) != 0x80) ++n;
  }
  return n;
}

// The value of a non-negative integer keyword, or nothing.
std::optional<uint64_t> Count(const json& v) {
  if (v.is_number_unsigned()) return v.get<uint64_t>();
  if (v.is_number_integer() && v.get<int64_t>() >= 0) return v.get<int64_t>();
  return std::nullopt;
}

std::string Short(const json& v) {
  std::string text = v.dump();
  if (text.size() > 60) text = text.substr(0, 57) + "...";
  return text;
}

class Validator {
 public:
  // Returns the first violation as "<what>" with `pointer_` naming the place.
  std::optional<std::string> Check(const json& schema, const json& value, int depth) {
    if (depth > kMaxSchemaDepth) return "schema nests deeper than 64 levels";
    if (schema.is_boolean()) {
      if (schema.get<bool>()) return std::nullopt;
      return "no value is allowed here";
    }
    if (!schema.is_object()) return std::nullopt;

    if (auto it = schema.find("type"); it != schema.end()) {
      bool ok = false;
      std::string wanted;
      if (it->is_string()) {
        ok = HasType(value, it->get<std::string>());
        wanted = it->get<std::string>();
      } else if (it->is_array()) {
        for (const json& t : *it) {
          if (!t.is_string()) continue;
          ok = ok || HasType(value, t.get<std::string>());
          wanted += (wanted.empty() ? "" : " or ") + t.get<std::string>();
        }
      } else {
        ok = true;
      }
      if (!ok) return "expected " + wanted + ", got " + JsonTypeName(value);
    }
    if (auto it = schema.find("const"); it != schema.end() && value != *it) {
      return "expected the constant " + Short(*it) + ", got " + Short(value);
    }
    if (auto it = schema.find("enum"); it != schema.end() && it->is_array()) {
      bool found = false;
      for (const json& option : *it) found = found || option == value;
      if (!found) return Short(value) + " is not one of " + Short(*it);
    }
    if (value.is_number()) {
      if (auto problem = CheckNumber(schema, value)) return problem;
    }
    if (value.is_string()) {
      if (auto problem = CheckString(schema, value.get_ref<const std::string&>())) return problem;
    }
    if (value.is_array()) {
      if (auto problem = CheckArray(schema, value, depth)) return problem;
    }
    if (value.is_object()) {
      if (auto problem = CheckObject(schema, value, depth)) return problem;
    }
    return std::nullopt;
  }

  const std::string& pointer() const { return pointer_; }

 private:
  std::optional<std::string> CheckNumber(const json& schema, const json& value) {
    auto number = [&](const char* key) -> const json* {
      auto it = schema.find(key);
      return it != schema.end() && it->is_number() ? &*it : nullptr;
    };
    auto flag = [&](const char* key) {
      auto it = schema.find(key);
      return it != schema.end() && it->is_boolean() && it->get<bool>();
    };
    // Draft 4 spelled exclusivity as a boolean beside minimum/maximum; both forms work.
    if (const json* min = number("minimum")) {
      int c = CompareNumbers(value, *min);
      if (flag("exclusiveMinimum") ? c <= 0 : c < 0) {
        return Short(value) + " is below the minimum " + Short(*min);
      }
    }
    if (const json* max = number("maximum")) {
      int c = CompareNumbers(value, *max);
      if (flag("exclusiveMaximum") ? c >= 0 : c > 0) {
        return Short(value) + " is above the maximum " + Short(*max);
      }
    }
    if (const json* min = number("exclusiveMinimum"); min && CompareNumbers(value, *min) <= 0) {
      return Short(value) + " is not above the exclusive minimum " + Short(*min);
    }
    if (const json* max = number("exclusiveMaximum"); max && CompareNumbers(value, *max) >= 0) {
      return Short(value) + " is not below the exclusive maximum " + Short(*max);
    }
    return std::nullopt;
  }

  std::optional<std::string> CheckString(const json& schema, const std::string& s) {
    std::size_t length = CodePoints(s);
    if (auto it = schema.find("minLength"); it != schema.end() && Count(*it) &&
                                            length < *Count(*it)) {
      return "string of " + std::to_string(length) + " characters is shorter than minLength " +
             it->dump();
    }
    if (auto it = schema.find("maxLength"); it != schema.end() && Count(*it) &&
                                            length > *Count(*it)) {
      return "string of " + std::to_string(length) + " characters is longer than maxLength " +
             it->dump();
    }
    if (auto it = schema.find("pattern"); it != schema.end() && it->is_string()) {
      const SchemaPattern* pattern = Pattern(it->get_ref<const std::string&>());
      if (pattern == nullptr) {
        return "cannot match the pattern " + Short(*it) + ": " + pattern_errors_.at(*it);
      }
      if (!pattern->Search(s)) {
        return Short(json(s)) + " does not match the pattern " + Short(*it);
      }
    }
    return std::nullopt;
  }

  // The compiled pattern for `text`, compiled once per validation (an array of strings is
  // checked against the same pattern many times); nullptr when it does not compile, with the
  // reason in pattern_errors_.
  const SchemaPattern* Pattern(const std::string& text) {
    if (auto it = patterns_.find(text); it != patterns_.end()) return &it->second;
    if (pattern_errors_.contains(text)) return nullptr;
    auto compiled = SchemaPattern::Compile(text);
    if (!compiled) {
      pattern_errors_[text] = compiled.error().message;
      return nullptr;
    }
    return &patterns_.emplace(text, std::move(*compiled)).first->second;
  }

  std::optional<std::string> CheckArray(const json& schema, const json& value, int depth) {
    if (auto it = schema.find("minItems"); it != schema.end() && Count(*it) &&
                                            value.size() < *Count(*it)) {
      return "array of " + std::to_string(value.size()) + " items is shorter than minItems " +
             it->dump();
    }
    if (auto it = schema.find("maxItems"); it != schema.end() && Count(*it) &&
                                            value.size() > *Count(*it)) {
      return "array of " + std::to_string(value.size()) + " items is longer than maxItems " +
             it->dump();
    }
    if (auto it = schema.find("items"); it != schema.end() && (it->is_object() ||
                                                                it->is_boolean())) {
      for (std::size_t i = 0; i < value.size(); ++i) {
        std::size_t mark = pointer_.size();
        pointer_ += "/" + std::to_string(i);
        if (auto problem = Check(*it, value[i], depth + 1)) return problem;
        pointer_.resize(mark);
      }
    }
    return std::nullopt;
  }

  std::optional<std::string> CheckObject(const json& schema, const json& value, int depth) {
    if (auto it = schema.find("required"); it != schema.end() && it->is_array()) {
      for (const json& name : *it) {
        if (name.is_string() && !value.contains(name.get<std::string>())) {
          return "missing required property '" + name.get<std::string>() + "'";
        }
      }
    }
    const json* properties = nullptr;
    if (auto it = schema.find("properties"); it != schema.end() && it->is_object()) {
      properties = &*it;
    }
    const json* additional = nullptr;
    if (auto it = schema.find("additionalProperties"); it != schema.end()) additional = &*it;
    for (const auto& [key, member] : value.items()) {
      const json* sub = nullptr;
      if (properties != nullptr) {
        if (auto p = properties->find(key); p != properties->end()) sub = &*p;
      }
      bool extra = sub == nullptr;
      if (extra) sub = additional;
      if (sub == nullptr) continue;
      std::size_t mark = pointer_.size();
      pointer_ += "/" + JsonPointerToken(key);
      if (extra && sub->is_boolean() && !sub->get<bool>()) {
        return "property '" + key + "' is not allowed (additionalProperties is false)";
      }
      if (auto problem = Check(*sub, member, depth + 1)) return problem;
      pointer_.resize(mark);
    }
    return std::nullopt;
  }

  std::string pointer_;
  std::map<std::string, SchemaPattern> patterns_;
  std::map<std::string, std::string> pattern_errors_;
};

// Well-formedness of one schema (object or boolean) at `pointer`.
std::optional<std::string> CheckSchemaAt(const json& schema, const std::string& pointer,
                                         int depth) {
  auto at = [&](std::string_view key) {
    return (pointer.empty() ? "" : pointer) + "/" + JsonPointerToken(key);
  };
  if (depth > kMaxSchemaDepth) return "schema nests deeper than 64 levels";
  if (schema.is_boolean()) return std::nullopt;
  if (!schema.is_object()) {
    return (pointer.empty() ? "the schema" : pointer) + " must be an object or a boolean";
  }
  if (auto it = schema.find("type"); it != schema.end()) {
    auto known = [](const json& t) {
      if (!t.is_string()) return false;
      for (std::string_view name : kTypeNames) {
        if (t.get_ref<const std::string&>() == name) return true;
      }
      return false;
    };
    bool ok = it->is_array() ? !it->empty() && std::all_of(it->begin(), it->end(), known)
                             : known(*it);
    if (!ok) {
      return at("type") +
             ": expected a type name (null, boolean, object, array, number, integer, string) or "
             "a list of them, got " + Short(*it);
    }
  }
  for (const char* key : {"minimum", "maximum"}) {
    if (auto it = schema.find(key); it != schema.end() && !it->is_number()) {
      return at(key) + ": expected a number";
    }
  }
  for (const char* key : {"exclusiveMinimum", "exclusiveMaximum"}) {
    if (auto it = schema.find(key); it != schema.end() && !it->is_number() &&
                                    !it->is_boolean()) {
      return at(key) + ": expected a number";
    }
  }
  for (const char* key : {"minLength", "maxLength", "minItems", "maxItems"}) {
    if (auto it = schema.find(key); it != schema.end() && !Count(*it)) {
      return at(key) + ": expected a non-negative integer";
    }
  }
  if (auto it = schema.find("required"); it != schema.end()) {
    if (!it->is_array() ||
        !std::all_of(it->begin(), it->end(), [](const json& v) { return v.is_string(); })) {
      return at("required") + ": expected a list of property names";
    }
  }
  if (auto it = schema.find("enum"); it != schema.end() && !it->is_array()) {
    return at("enum") + ": expected a list of values";
  }
  if (auto it = schema.find("pattern"); it != schema.end()) {
    if (!it->is_string()) return at("pattern") + ": expected a string";
    if (auto compiled = SchemaPattern::Compile(it->get_ref<const std::string&>()); !compiled) {
      return at("pattern") + ": " + compiled.error().message;
    }
  }
  if (auto it = schema.find("properties"); it != schema.end()) {
    if (!it->is_object()) return at("properties") + ": expected an object";
    for (const auto& [key, sub] : it->items()) {
      if (auto problem = CheckSchemaAt(sub, at("properties") + "/" + JsonPointerToken(key),
                                       depth + 1)) {
        return problem;
      }
    }
  }
  for (const char* key : {"items", "additionalProperties"}) {
    if (auto it = schema.find(key); it != schema.end()) {
      if (auto problem = CheckSchemaAt(*it, at(key), depth + 1)) return problem;
    }
  }
  return std::nullopt;
}

}  // namespace

namespace manifest_internal {

std::optional<std::string> CheckSchema(const nlohmann::json& schema) {
  return CheckSchemaAt(schema, "", 0);
}

}  // namespace manifest_internal

Result<void> ValidateAgainstSchema(const nlohmann::json& schema, const nlohmann::json& input) {
  Validator validator;
  std::optional<std::string> problem;
  try {
    problem = validator.Check(schema, input, 0);
  } catch (const std::exception& e) {  // nlohmann type errors on a malformed schema.
    return Fail(ErrorCode::kValidation, std::string("input: schema error: ") + e.what());
  }
  if (!problem) return {};
  const std::string& pointer = validator.pointer();
  return Fail(ErrorCode::kValidation,
              (pointer.empty() ? std::string("input") : "input at " + pointer) + ": " + *problem);
}

}  // namespace skillrt
