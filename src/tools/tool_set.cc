// BuildToolSet: the skills of a registry (and their instances) as tools, with input schemas,
// the strict-subset check and truthful hints (docs/tools.md).
#include <algorithm>
#include <set>

#include "skillrt/instance.h"
#include "skillrt/skill.h"
#include "skillrt/tools.h"
#include "tools/tool_internal.h"

namespace skillrt {
namespace tools_internal {
namespace {

// Keywords a strict OpenAI schema may use. Anything else (minLength, allOf, not, if/then,
// patternProperties, ...) is outside the subset: OpenAI would reject the schema or ignore the
// keyword, and either way the tool would not accept exactly what the skill accepts.
const std::set<std::string, std::less<>> kStrictKeywords = {
    "type",    "properties", "required",         "additionalProperties", "items",
    "enum",    "const",      "anyOf",            "description",          "title",
    "$ref",    "$defs",      "definitions",      "pattern",              "format",
    "minimum", "maximum",    "exclusiveMinimum", "exclusiveMaximum",     "multipleOf",
    "minItems", "maxItems"};

bool IsObjectType(const nlohmann::json& schema) {
  auto it = schema.find("type");
  if (it == schema.end()) return schema.contains("properties");
  if (it->is_string()) return *it == "object";
  if (it->is_array()) return std::find(it->begin(), it->end(), "object") != it->end();
  return false;
}

bool StrictNode(const nlohmann::json& schema, int depth) {
  // OpenAI allows at most 5 levels of nesting; deeper is outside the subset too.
  if (!schema.is_object() || depth > 5) return false;
  for (const auto& [key, value] : schema.items()) {
    if (!kStrictKeywords.contains(key)) return false;
  }
  if (IsObjectType(schema)) {
    auto extra = schema.find("additionalProperties");
    if (extra == schema.end() || *extra != false) return false;
    const nlohmann::json properties = schema.value("properties", nlohmann::json::object());
    const nlohmann::json required = schema.value("required", nlohmann::json::array());
    if (!properties.is_object() || !required.is_array()) return false;
    for (const auto& [name, sub] : properties.items()) {
      if (std::find(required.begin(), required.end(), name) == required.end()) return false;
      if (!StrictNode(sub, depth + 1)) return false;
    }
  }
  if (auto items = schema.find("items"); items != schema.end()) {
    if (!StrictNode(*items, depth + 1)) return false;
  }
  if (auto any = schema.find("anyOf"); any != schema.end()) {
    if (!any->is_array()) return false;
    for (const nlohmann::json& sub : *any) {
      if (!StrictNode(sub, depth + 1)) return false;
    }
  }
  for (const char* defs : {"$defs", "definitions"}) {
    if (auto it = schema.find(defs); it != schema.end()) {
      if (!it->is_object()) return false;
      for (const auto& [name, sub] : it->items()) {
        if (!StrictNode(sub, depth + 1)) return false;
      }
    }
  }
  return true;
}

}  // namespace

bool IsStrictSchema(const nlohmann::json& schema) {
  // The root must be an object schema of its own (not an anyOf of objects).
  return schema.is_object() && schema.value("type", nlohmann::json()) == "object" &&
         StrictNode(schema, 0);
}

nlohmann::json InputSchemaFor(const Manifest& manifest) {
  if (manifest.input_schema && manifest.input_schema->is_object()) {
    nlohmann::json schema = *manifest.input_schema;
    // Every API wants an object at the root; a manifest schema without `type` whose
    // properties describe an object is one, and saying so changes nothing it accepts.
    if (!schema.contains("type") && schema.contains("properties")) schema["type"] = "object";
    return schema;
  }
  if (manifest.entry && manifest.entry->input == InputMode::kNone) {
    return {{"type", "object"},
            {"properties", nlohmann::json::object()},
            {"required", nlohmann::json::array()},
            {"additionalProperties", false},
            {"description", "This skill takes no input; call it with {}."}};
  }
  return {{"type", "object"},
          {"additionalProperties", true},
          {"description",
           "Any JSON object, passed to the skill as its input. The skill declares no input "
           "schema: its SKILL.md says what it expects."}};
}

ToolHints HintsFor(const Manifest& manifest) {
  const bool writes = !manifest.capabilities.write_paths.empty();
  const bool network = manifest.capabilities.network || !manifest.capabilities.egress.empty();
  ToolHints hints;
  hints.read_only = !writes && !network;
  // A skill that can write a host path may overwrite what is there; one that only reaches
  // the network may do anything the remote side allows: neither is known to be additive.
  hints.destructive = !hints.read_only;
  hints.idempotent = hints.read_only;
  hints.open_world = network;
  return hints;
}

std::string DumpJson(const nlohmann::json& value, int indent) {
  return value.dump(indent, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace tools_internal

namespace {

std::string CutDescription(std::string text, size_t max_bytes) {
  if (text.size() <= max_bytes || max_bytes < 4) return text;
  size_t cut = max_bytes - 3;
  while (cut > 0 && (static_cast<unsigned char>(text[cut]) & 0xC0) == 0x80) --cut;
  return text.substr(0, cut) + "...";
}

ToolEntry EntryFor(const Skill& skill, const std::string& name, std::optional<std::string> instance,
                   const ToolSetOptions& options) {
  ToolEntry entry;
  entry.skill = name;
  entry.instance = std::move(instance);
  entry.title = skill.meta.display_name.empty() ? skill.meta.name : skill.meta.display_name;
  std::string description = skill.meta.description;
  if (entry.instance) {
    description = "[instance " + *entry.instance + "] " + description;
    entry.title += " (" + *entry.instance + ")";
  }
  entry.description = CutDescription(std::move(description), options.description_max_bytes);
  entry.input_schema = tools_internal::InputSchemaFor(skill.manifest);
  entry.strict = tools_internal::IsStrictSchema(entry.input_schema);
  entry.hints = tools_internal::HintsFor(skill.manifest);
  return entry;
}

}  // namespace

const ToolEntry* ToolSet::Find(std::string_view name) const {
  auto it = std::lower_bound(tools.begin(), tools.end(), name,
                             [](const ToolEntry& t, std::string_view n) { return t.name < n; });
  return it != tools.end() && it->name == name ? &*it : nullptr;
}

Result<ToolSet> BuildToolSet(const Registry& registry, const InstanceFile* instances,
                             const ToolSetOptions& options) {
  auto refs = registry.List();
  if (!refs) return std::unexpected(refs.error());
  // The selectors asked for, split into skill and instance.
  std::map<std::string, std::set<std::optional<std::string>>> wanted;
  for (const std::string& text : options.only) {
    auto selector = ParseSkillSelector(text);
    if (!selector) return std::unexpected(selector.error());
    wanted[selector->skill].insert(selector->instance);
  }
  ToolSet set;
  std::set<std::string> found;
  for (const SkillRef& ref : *refs) {
    if (!wanted.empty() && !wanted.contains(ref.name)) continue;
    found.insert(ref.name);
    auto skill = registry.Describe(ref.name);
    if (!skill) {
      set.skipped.push_back(ref.name + ": " + skill.error().message);
      continue;
    }
    if (!skill->manifest.entry) {
      if (!wanted.empty()) set.skipped.push_back(ref.name + ": it has no entry point to run");
      continue;
    }
    std::vector<std::optional<std::string>> selectors;
    if (!wanted.empty()) {
      selectors.assign(wanted[ref.name].begin(), wanted[ref.name].end());
    } else {
      selectors.push_back(std::nullopt);
      if (options.include_instances && instances != nullptr) {
        if (auto it = instances->skills.find(ref.name); it != instances->skills.end()) {
          for (const auto& [instance_name, instance] : it->second) {
            selectors.push_back(instance_name);
          }
        }
      }
    }
    for (const std::optional<std::string>& instance : selectors) {
      if (instance && instances != nullptr) {
        auto defined = instances->skills.find(ref.name);
        if (defined == instances->skills.end() || !defined->second.contains(*instance)) {
          return Fail(ErrorCode::kNotFound, "no instance '" + *instance + "' of skill '" +
                                                ref.name + "' in " + instances->path.string());
        }
      }
      set.tools.push_back(EntryFor(*skill, ref.name, instance, options));
    }
  }
  for (const auto& [name, selectors] : wanted) {
    if (!found.contains(name)) {
      return Fail(ErrorCode::kNotFound, "no skill named '" + name + "' under the skill roots");
    }
  }
  set.collisions = tools_internal::AssignToolNames(set.tools);
  return set;
}

}  // namespace skillrt
