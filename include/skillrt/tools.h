// Skills as tools of a language model: tool definitions in the formats of the LLM APIs and of
// MCP, and the turn from a model's tool calls to sandboxed runs and back (docs/tools.md).
//
// The API is JSON in, JSON out (nlohmann::json) at its edges, so that a binding (the Python
// SDK) passes a provider's response through unchanged and hands the results back as they are.
#ifndef SKILLRT_TOOLS_H_
#define SKILLRT_TOOLS_H_

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "skillrt/engine.h"
#include "skillrt/error.h"
#include "skillrt/instance.h"
#include "skillrt/registry.h"

namespace skillrt {

/// The wire format of tool definitions and tool calls.
enum class ToolFormat {
  /// OpenAI Chat Completions: {"type": "function", "function": {name, description, parameters,
  /// strict}}; calls in an assistant message's `tool_calls`, results as `role: tool` messages.
  kOpenAIChat,
  /// OpenAI Responses: {"type": "function", name, description, parameters, strict}; calls as
  /// `function_call` output items, results as `function_call_output` items.
  kOpenAIResponses,
  /// Anthropic Messages: {name, description, input_schema}; calls as `tool_use` content
  /// blocks, results as `tool_result` blocks of one user message.
  kAnthropic,
  /// MCP 2025-11-25 `Tool`: {name, title, description, inputSchema, outputSchema, annotations}.
  kMcp,
};

/// "openai", "responses", "anthropic" or "mcp".
std::string_view ToolFormatName(ToolFormat format);

/// The format named `name` (as ToolFormatName gives it; "chat" is "openai"). kInvalidArgument
/// naming the accepted names otherwise.
Result<ToolFormat> ParseToolFormat(std::string_view name);

/// A tool name that every API accepts: 1-64 characters of [a-zA-Z0-9_-].
bool IsValidToolName(std::string_view name);

/// What a tool may do, as MCP's tool annotations say it (hints for a client, derived from the
/// manifest so that they are true: a skill that can write a host path or reach the network is
/// never read-only).
struct ToolHints {
  bool read_only = false;    ///< No write path, no network: nothing outside its scratch changes.
  bool destructive = true;   ///< It may overwrite or delete what it can write.
  bool idempotent = false;   ///< Repeating a call has no further effect (read-only tools).
  bool open_world = false;   ///< It reaches the network.
};

/// One skill (with one instance, or its default) offered as one tool.
struct ToolEntry {
  std::string name = {};               ///< The tool name (IsValidToolName).
  std::string skill = {};              ///< The skill's name in the registry.
  std::optional<std::string> instance = {};  ///< The named instance; nullopt: the default.
  std::string title = {};              ///< For display: the skill's display name.
  std::string description = {};        ///< The skill's description (cut to a budget).
  /// JSON Schema of the arguments: the manifest's input schema; for a skill without one, a
  /// schema that says what it accepts (an object of any shape, or no input at all).
  nlohmann::json input_schema = {};
  /// True when `input_schema` is already in OpenAI's strict subset (every object closed with
  /// `additionalProperties: false`, every property required, only supported keywords), so a
  /// `strict: true` definition accepts exactly what the skill accepts. Never made so by
  /// changing the schema.
  bool strict = false;
  ToolHints hints = {};
  /// The selector the engine runs: "skill" or "skill@instance".
  std::string Selector() const;
};

/// Two or more skills whose tool names would have been the same; each but the first (in
/// selector order) got a name with a hash of its selector (docs/tools.md, "Names").
struct ToolNameCollision {
  std::string base_name = {};               ///< The name they would have shared.
  std::vector<std::string> selectors = {};  ///< The skills, in selector order.
  std::vector<std::string> names = {};      ///< The names given, parallel to `selectors`.
};

/// How BuildToolSet chooses and describes tools.
struct ToolSetOptions {
  /// Only these skills ("name" or "name@instance"); empty: every skill with an entry point.
  std::vector<std::string> only = {};
  /// Also offer each named instance of instances.toml as a tool of its own.
  bool include_instances = true;
  /// Descriptions longer than this many bytes are cut (at a UTF-8 boundary) and marked "...".
  size_t description_max_bytes = 1024;
};

/// The tools for a set of skills: stable names, unique, each mapping back to one skill and
/// instance. Plain data; copyable; safe to share read-only across threads.
struct ToolSet {
  std::vector<ToolEntry> tools = {};               ///< Sorted by name.
  std::vector<ToolNameCollision> collisions = {};  ///< Names that had to be changed, and why.
  /// Skills that could not be offered (they fail to load, or have no entry point while named
  /// in ToolSetOptions::only), each "skill: reason".
  std::vector<std::string> skipped = {};

  /// The tool named `name`, or null. The pointer borrows from this set.
  const ToolEntry* Find(std::string_view name) const;
};

/// The tool name for `skill` (and `instance`), before collisions are resolved: invalid
/// characters become '_', an instance is joined with "__", and a name over 64 characters
/// keeps its first 55 and adds '-' and 8 hex digits of the SHA-256 of the selector. Pure.
std::string BaseToolName(std::string_view skill, const std::optional<std::string>& instance);

/// The tools for the skills of `registry` (and the instances of `instances`, when given).
/// Skills are described without hashing their trees (Registry::Describe). Errors: only those
/// of Registry::List; a skill that does not load is in ToolSet::skipped. kNotFound when a
/// skill in `options.only` does not exist. Thread-safe as Registry is.
Result<ToolSet> BuildToolSet(const Registry& registry, const InstanceFile* instances,
                             const ToolSetOptions& options);

/// BuildToolSet for `engine`: its registry and the instances of <home>/instances.toml (none
/// when that file cannot be read). Errors as BuildToolSet. Thread-safe.
Result<ToolSet> EngineToolSet(const Engine& engine, const ToolSetOptions& options = {});

/// EngineToolSet then ToolDefinitions: the JSON array a binding hands to an LLM API as it is.
Result<nlohmann::json> EngineToolDefinitions(const Engine& engine, ToolFormat format,
                                             const ToolSetOptions& options = {});

/// The definitions of every tool of `tools` in `format`, as a JSON array in the set's order.
/// Pure.
nlohmann::json ToolDefinitions(const ToolSet& tools, ToolFormat format);

/// The definition of one tool in `format`. Pure.
nlohmann::json ToolDefinition(const ToolEntry& tool, ToolFormat format);

/// The JSON Schema of the `structuredContent` a skill tool returns over MCP (and of
/// ToolCallResult::structured): {status, exit_code, output, stdout, stderr, message,
/// duration_ms, truncated}.
const nlohmann::json& ToolOutputSchema();

/// How HandleToolCalls runs the calls of one response.
struct ToolCallOptions {
  /// The tools the calls may name; empty: EngineToolSet(engine) for this response.
  std::optional<ToolSet> tools = std::nullopt;
  /// Calls of one response that run at once (at least 1).
  size_t max_concurrency = 4;
  /// The most bytes of text a result hands back to the model; past it the head and the tail
  /// are kept (half each) and the cut is marked with the number of bytes left out.
  size_t output_budget_bytes = 16 * 1024;
  /// Narrowing applied to every call (RunOverrides; `grants` and `workspace` are ignored:
  /// a model never widens a call).
  std::optional<std::chrono::milliseconds> wall_time = std::nullopt;
};

/// One tool call, whatever the format it came in.
struct ToolCall {
  std::string id = {};    ///< tool_call_id, call_id or tool_use id.
  std::string name = {};  ///< The tool name as the model wrote it.
  /// The arguments: parsed JSON, or nullopt with `arguments_error` saying why they are not
  /// (malformed JSON text, not an object).
  std::optional<nlohmann::json> arguments = {};
  std::string arguments_error = {};
};

/// The result of one tool call, before it is put in a provider's form.
struct ToolCallResult {
  std::string id = {};
  std::string name = {};
  bool is_error = false;
  /// What the model reads: the skill's JSON output, or its text, or the error; within the
  /// output budget. Secrets are already redacted by the engine (docs/secrets.md).
  std::string text = {};
  /// {status, exit_code, output, stdout, stderr, message, duration_ms, truncated}
  /// (ToolOutputSchema); null when the call never reached a skill (unknown tool, bad
  /// arguments, an engine error).
  nlohmann::json structured = {};
  std::string run_id = {};  ///< Empty when no run was made.
};

/// The format of a provider's response and the calls it holds. Accepted shapes: an OpenAI
/// chat completion (its `choices[0].message`) or assistant message with `tool_calls`; a
/// Responses response (its `output`) or an array of output items (`function_call` items);
/// an Anthropic message (or its `content` array) with `tool_use` blocks. kInvalidArgument
/// naming what was expected when `response` is none of these. Pure.
Result<std::pair<ToolFormat, std::vector<ToolCall>>> ParseToolCalls(
    const nlohmann::json& response);

/// What a model reads of `outcome` (without id and name): `text` is the skill's JSON output,
/// or its text, or for a failure the status, reason and streams, fitted to
/// `output_budget_bytes` (FitToBudget); `structured` is the ToolOutputSchema object, its
/// streams fitted to half the budget each; `is_error` unless the status is ok. Pure.
ToolCallResult ToolResultFromOutcome(const Outcome& outcome, size_t output_budget_bytes);

/// Runs one call through the engine (the gatekeeper, the sandbox, the audit log) and returns
/// its result. Unknown tools, malformed arguments, refusals and engine errors become error
/// results; never fails. Thread-safe.
ToolCallResult RunToolCall(Engine& engine, const ToolSet& tools, const ToolCall& call,
                           const ToolCallOptions& options);

/// The results as the provider expects them back, in the calls' order: for kOpenAIChat an
/// array of {"role": "tool", "tool_call_id", "content"}; for kOpenAIResponses an array of
/// {"type": "function_call_output", "call_id", "output"}; for kAnthropic an array of one
/// {"role": "user", "content": [{"type": "tool_result", "tool_use_id", "content",
/// "is_error"}]}; for kMcp an array of CallToolResult objects. Pure.
nlohmann::json FormatToolResults(ToolFormat format, const std::vector<ToolCallResult>& results);

/// ParseToolCalls, RunToolCall for each call (up to `options.max_concurrency` at once), then
/// FormatToolResults: the messages to append to the conversation. A response without calls
/// gives an empty array. Errors: only kInvalidArgument for a response of no known shape (a
/// bad call inside a known shape is an error result). Thread-safe.
Result<nlohmann::json> HandleToolCalls(Engine& engine, const nlohmann::json& response,
                                       const ToolCallOptions& options = {});

/// `text` cut to `budget_bytes`: unchanged when it fits; else its head and tail (each about
/// half, at UTF-8 boundaries) around a line "[... N bytes cut ...]". Pure.
std::string FitToBudget(std::string_view text, size_t budget_bytes);

}  // namespace skillrt

#endif  // SKILLRT_TOOLS_H_
