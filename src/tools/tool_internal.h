// Pieces of the tools library shared between its files; not part of the public API.
#ifndef SKILLRT_TOOLS_TOOL_INTERNAL_H_
#define SKILLRT_TOOLS_TOOL_INTERNAL_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/manifest.h"
#include "skillrt/tools.h"

namespace skillrt::tools_internal {

/// Gives every tool its name (BaseToolName; within a group of equal names the first selector
/// in byte order keeps it, the others get a hashed one), sorts `tools` by name and returns
/// the collisions.
std::vector<ToolNameCollision> AssignToolNames(std::vector<ToolEntry>& tools);

/// True when `schema` is in OpenAI's strict subset as it stands (no change would be needed).
bool IsStrictSchema(const nlohmann::json& schema);

/// The input schema offered for a manifest: its own, or one that says what it accepts.
nlohmann::json InputSchemaFor(const Manifest& manifest);

/// What the manifest lets the skill do, as hints.
ToolHints HintsFor(const Manifest& manifest);

/// `value` as JSON text; invalid UTF-8 is replaced, never thrown on.
std::string DumpJson(const nlohmann::json& value, int indent = -1);

}  // namespace skillrt::tools_internal

#endif  // SKILLRT_TOOLS_TOOL_INTERNAL_H_
