// The tools the MCP server offers: the progressive-disclosure tools (a table, disclosure.cc)
// and the skills exposed as tools of their own (tools.h).
#ifndef SKILLRT_MCP_TOOL_TABLE_H_
#define SKILLRT_MCP_TOOL_TABLE_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/mcp/server.h"
#include "skillrt/tools.h"

namespace skillrt::mcp {

/// One built-in tool: its MCP definition and its handler. A handler returns the
/// CallToolResult; an error it returns is a protocol error (bad arguments are tool errors,
/// isError, so the model can correct them).
struct BuiltinTool {
  std::string_view name;
  std::string_view title;
  std::string_view description;
  const char* input_schema;   ///< JSON text.
  const char* output_schema;  ///< JSON text, or null when the tool declares none.
  bool read_only;
  RpcResult (*call)(RequestContext& context, const nlohmann::json& arguments);
};

/// The built-in tools, in the order tools/list shows them.
const std::vector<BuiltinTool>& BuiltinTools();

/// The search_skills tool's handler (search_tool.cc).
RpcResult SearchSkillsTool(RequestContext& context, const nlohmann::json& arguments);

struct Server::ToolTable {
  std::vector<nlohmann::json> definitions;  ///< tools/list order: built-ins, then skills.
  ToolSet skills;                           ///< The skills exposed as tools of their own.
};

/// A CallToolResult for a tool error the model should read ({content: [text], isError}).
nlohmann::json ToolError(std::string text);

/// Runs `request` (RunRequest or ExecRequest) through the engine for `context`: progress
/// notifications from its events, cancellation, approvals (elicitation or refusal with the
/// key). Returns the CallToolResult.
RpcResult RunAndWatch(RequestContext& context, std::variant<RunRequest, ExecRequest> request);

}  // namespace skillrt::mcp

#endif  // SKILLRT_MCP_TOOL_TABLE_H_
