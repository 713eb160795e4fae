// Tool definitions and tool results in the four wire formats (docs/tools.md). Each format is
// one row of the tables below, so a fifth is one more row.
#include <array>

#include "skillrt/tools.h"
#include "tools/tool_internal.h"

namespace skillrt {
namespace {

struct FormatName {
  ToolFormat format;
  std::string_view name;
};

// The names `skillrt tools --format` and the bindings accept; the first of a format is its
// canonical name.
constexpr std::array<FormatName, 5> kFormatNames = {{
    {ToolFormat::kOpenAIChat, "openai"},
    {ToolFormat::kOpenAIResponses, "responses"},
    {ToolFormat::kAnthropic, "anthropic"},
    {ToolFormat::kMcp, "mcp"},
    {ToolFormat::kOpenAIChat, "chat"},
}};

nlohmann::json McpAnnotations(const ToolEntry& tool) {
  return {{"title", tool.title},
          {"readOnlyHint", tool.hints.read_only},
          {"destructiveHint", tool.hints.destructive},
          {"idempotentHint", tool.hints.idempotent},
          {"openWorldHint", tool.hints.open_world}};
}

}  // namespace

std::string_view ToolFormatName(ToolFormat format) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.format == format) return entry.name;
  }
  return "openai";
}

Result<ToolFormat> ParseToolFormat(std::string_view name) {
  for (const FormatName& entry : kFormatNames) {
    if (entry.name == name) return entry.format;
  }
  return Fail(ErrorCode::kInvalidArgument, "unknown tool format '" + std::string(name) +
                                               "': expected openai, responses, anthropic or mcp");
}

const nlohmann::json& ToolOutputSchema() {
  static const nlohmann::json schema = {
      {"type", "object"},
      {"properties",
       {{"status",
         {{"type", "string"},
          {"enum", {"ok", "error", "timeout", "killed", "denied", "cancelled"}},
          {"description", "How the run ended."}}},
        {"exit_code", {{"type", {"integer", "null"}}}},
        {"output", {{"description", "The JSON object the skill printed, or null."}}},
        {"stdout", {{"type", "string"}, {"description", "Text output, within the budget."}}},
        {"stderr", {{"type", "string"}, {"description", "Error output, within the budget."}}},
        {"message", {{"type", "string"}, {"description", "Why the run did not succeed."}}},
        {"duration_ms", {{"type", "number"}}},
        {"truncated",
         {{"type", "boolean"}, {"description", "Output was cut to the size budget."}}},
        {"run_id", {{"type", "string"}}}}},
      {"required", {"status", "run_id"}}};
  return schema;
}

nlohmann::json ToolDefinition(const ToolEntry& tool, ToolFormat format) {
  switch (format) {
    case ToolFormat::kOpenAIChat:
      return {{"type", "function"},
              {"function",
               {{"name", tool.name},
                {"description", tool.description},
                {"parameters", tool.input_schema},
                {"strict", tool.strict}}}};
    case ToolFormat::kOpenAIResponses:
      return {{"type", "function"},
              {"name", tool.name},
              {"description", tool.description},
              {"parameters", tool.input_schema},
              {"strict", tool.strict}};
    case ToolFormat::kAnthropic:
      return {{"name", tool.name},
              {"description", tool.description},
              {"input_schema", tool.input_schema}};
    case ToolFormat::kMcp:
      return {{"name", tool.name},
              {"title", tool.title},
              {"description", tool.description},
              {"inputSchema", tool.input_schema},
              {"outputSchema", ToolOutputSchema()},
              {"annotations", McpAnnotations(tool)}};
  }
  return nullptr;
}

nlohmann::json ToolDefinitions(const ToolSet& tools, ToolFormat format) {
  nlohmann::json out = nlohmann::json::array();
  for (const ToolEntry& tool : tools.tools) out.push_back(ToolDefinition(tool, format));
  return out;
}

nlohmann::json FormatToolResults(ToolFormat format, const std::vector<ToolCallResult>& results) {
  nlohmann::json out = nlohmann::json::array();
  switch (format) {
    case ToolFormat::kOpenAIChat:
      for (const ToolCallResult& r : results) {
        out.push_back({{"role", "tool"}, {"tool_call_id", r.id}, {"content", r.text}});
      }
      break;
    case ToolFormat::kOpenAIResponses:
      for (const ToolCallResult& r : results) {
        out.push_back({{"type", "function_call_output"}, {"call_id", r.id}, {"output", r.text}});
      }
      break;
    case ToolFormat::kAnthropic: {
      if (results.empty()) break;
      nlohmann::json blocks = nlohmann::json::array();
      for (const ToolCallResult& r : results) {
        blocks.push_back({{"type", "tool_result"},
                          {"tool_use_id", r.id},
                          {"content", r.text},
                          {"is_error", r.is_error}});
      }
      out.push_back({{"role", "user"}, {"content", std::move(blocks)}});
      break;
    }
    case ToolFormat::kMcp:
      for (const ToolCallResult& r : results) {
        nlohmann::json result = {{"content", {{{"type", "text"}, {"text", r.text}}}},
                                 {"isError", r.is_error}};
        if (!r.structured.is_null()) result["structuredContent"] = r.structured;
        out.push_back(std::move(result));
      }
      break;
  }
  return out;
}

}  // namespace skillrt
