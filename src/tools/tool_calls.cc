// From a model's tool calls to sandboxed runs and back (docs/tools.md, "Tool calls"): the
// calls are read from the provider's response, each runs through the engine (gatekeeper,
// sandbox, audit), and the results go back in the same provider's form. A bad call is an
// error result the model can read and correct, never an exception.
#include <algorithm>
#include <atomic>
#include <thread>

#include "skillrt/instance.h"
#include "skillrt/tools.h"
#include "tools/tool_internal.h"

namespace skillrt {
namespace {

using nlohmann::json;

// Arguments as the model sent them: OpenAI sends JSON text, Anthropic an object.
ToolCall MakeCall(std::string id, std::string name, const json& arguments) {
  ToolCall call{.id = std::move(id), .name = std::move(name)};
  json parsed = arguments;
  if (arguments.is_string()) {
    const std::string& text = arguments.get_ref<const std::string&>();
    parsed = text.empty() ? json::object() : json::parse(text, nullptr, false);
    if (parsed.is_discarded()) {
      call.arguments_error = "the arguments are not valid JSON";
      return call;
    }
  } else if (arguments.is_null()) {
    parsed = json::object();
  }
  if (!parsed.is_object()) {
    call.arguments_error = std::string("the arguments must be a JSON object, not ") +
                           parsed.type_name();
    return call;
  }
  call.arguments = std::move(parsed);
  return call;
}

std::string StringField(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::vector<ToolCall> OpenAIChatCalls(const json& message) {
  std::vector<ToolCall> calls;
  for (const json& item : message["tool_calls"]) {
    if (!item.is_object()) continue;
    const json function = item.value("function", json::object());
    calls.push_back(MakeCall(StringField(item, "id"), StringField(function, "name"),
                             function.value("arguments", json())));
  }
  return calls;
}

std::vector<ToolCall> ResponsesCalls(const json& output) {
  std::vector<ToolCall> calls;
  for (const json& item : output) {
    if (!item.is_object() || item.value("type", "") != "function_call") continue;
    calls.push_back(MakeCall(StringField(item, "call_id"), StringField(item, "name"),
                             item.value("arguments", json())));
  }
  return calls;
}

std::vector<ToolCall> AnthropicCalls(const json& content) {
  std::vector<ToolCall> calls;
  for (const json& block : content) {
    if (!block.is_object() || block.value("type", "") != "tool_use") continue;
    calls.push_back(MakeCall(StringField(block, "id"), StringField(block, "name"),
                             block.value("input", json())));
  }
  return calls;
}

bool HasItemOfType(const json& array, std::string_view type) {
  return std::any_of(array.begin(), array.end(), [&](const json& item) {
    return item.is_object() && item.value("type", "") == type;
  });
}

ToolCallResult ErrorResult(const ToolCall& call, std::string text) {
  return ToolCallResult{.id = call.id, .name = call.name, .is_error = true,
                        .text = "error: " + std::move(text), .structured = nullptr};
}

}  // namespace

std::string FitToBudget(std::string_view text, size_t budget_bytes) {
  if (text.size() <= budget_bytes) return std::string(text);
  // The marker's length depends on the count; reserve room for the longest.
  const size_t marker_room = 40;
  const size_t keep = budget_bytes > marker_room ? budget_bytes - marker_room : 0;
  size_t head = keep / 2;
  size_t tail_start = text.size() - (keep - head);
  // Whole UTF-8 sequences only: back the head off a continuation byte, move the tail past one.
  while (head > 0 && (static_cast<unsigned char>(text[head]) & 0xC0) == 0x80) --head;
  while (tail_start < text.size() &&
         (static_cast<unsigned char>(text[tail_start]) & 0xC0) == 0x80) {
    ++tail_start;
  }
  const size_t cut = tail_start - head;
  return std::string(text.substr(0, head)) + "\n[... " + std::to_string(cut) +
         " bytes cut ...]\n" + std::string(text.substr(tail_start));
}

ToolCallResult ToolResultFromOutcome(const Outcome& outcome, size_t budget) {
  std::string body;
  if (outcome.status == Status::kOk) {
    body = outcome.output.is_null() ? outcome.stdout_stream.data
                                    : tools_internal::DumpJson(outcome.output);
  } else {
    body = "error: the run ended " + std::string(StatusName(outcome.status));
    if (!outcome.message.empty()) body += ": " + outcome.message;
    if (!outcome.stdout_stream.data.empty()) body += "\nstdout:\n" + outcome.stdout_stream.data;
    if (!outcome.stderr_stream.data.empty()) body += "\nstderr:\n" + outcome.stderr_stream.data;
  }
  ToolCallResult result;
  result.is_error = outcome.status != Status::kOk;
  result.text = FitToBudget(body, budget);
  result.run_id = outcome.run_id;
  // The streams share the budget; the output object is kept only when it fits in it.
  std::string out = FitToBudget(outcome.stdout_stream.data, budget / 2);
  std::string err = FitToBudget(outcome.stderr_stream.data, budget / 2);
  const bool truncated = result.text.size() != body.size() ||
                         out.size() != outcome.stdout_stream.data.size() ||
                         err.size() != outcome.stderr_stream.data.size() ||
                         outcome.stdout_stream.truncated || outcome.stderr_stream.truncated;
  json output = outcome.output;
  if (!output.is_null() && tools_internal::DumpJson(output).size() > budget) output = nullptr;
  result.structured = {
      {"status", StatusName(outcome.status)},
      {"exit_code", outcome.exit_code ? json(*outcome.exit_code) : json(nullptr)},
      {"output", std::move(output)},
      {"stdout", std::move(out)},
      {"stderr", std::move(err)},
      {"message", outcome.message},
      {"duration_ms", static_cast<double>(outcome.duration.count()) / 1000.0},
      {"truncated", truncated},
      {"run_id", outcome.run_id}};
  return result;
}

Result<std::pair<ToolFormat, std::vector<ToolCall>>> ParseToolCalls(const json& response) {
  // OpenAI chat: a completion, or its assistant message.
  const json* message = &response;
  if (response.is_object() && response.contains("choices") && response["choices"].is_array() &&
      !response["choices"].empty() && response["choices"][0].is_object()) {
    message = &response["choices"][0]["message"];
  }
  if (message->is_object() && message->contains("tool_calls")) {
    if (!(*message)["tool_calls"].is_array()) {
      return Fail(ErrorCode::kInvalidArgument, "tool_calls must be an array");
    }
    return std::pair{ToolFormat::kOpenAIChat, OpenAIChatCalls(*message)};
  }
  // An OpenAI assistant message without calls: its content is text (or null), not blocks.
  if (message->is_object() && message->value("role", "") == "assistant" &&
      !(message->contains("content") && (*message)["content"].is_array())) {
    return std::pair{ToolFormat::kOpenAIChat, std::vector<ToolCall>{}};
  }
  // OpenAI Responses: a response with `output`, or the output list itself.
  if (response.is_object() && response.contains("output") && response["output"].is_array()) {
    return std::pair{ToolFormat::kOpenAIResponses, ResponsesCalls(response["output"])};
  }
  if (response.is_array() && (HasItemOfType(response, "function_call") ||
                              HasItemOfType(response, "message") ||
                              HasItemOfType(response, "reasoning"))) {
    return std::pair{ToolFormat::kOpenAIResponses, ResponsesCalls(response)};
  }
  // Anthropic: a message with a `content` array of blocks, or the blocks themselves.
  if (response.is_object() && response.contains("content") && response["content"].is_array()) {
    return std::pair{ToolFormat::kAnthropic, AnthropicCalls(response["content"])};
  }
  if (response.is_array() &&
      (HasItemOfType(response, "tool_use") || HasItemOfType(response, "text"))) {
    return std::pair{ToolFormat::kAnthropic, AnthropicCalls(response)};
  }
  return Fail(ErrorCode::kInvalidArgument,
              "not a model response with tool calls: expected an OpenAI chat message with "
              "tool_calls, a Responses output list, or an Anthropic message with tool_use "
              "blocks");
}

ToolCallResult RunToolCall(Engine& engine, const ToolSet& tools, const ToolCall& call,
                           const ToolCallOptions& options) {
  const ToolEntry* tool = tools.Find(call.name);
  if (tool == nullptr) {
    return ErrorResult(call, "unknown tool '" + call.name + "'; the tools offered are " +
                                 std::to_string(tools.tools.size()) + " skills by name");
  }
  if (!call.arguments) return ErrorResult(call, call.arguments_error);
  RunRequest request{.skill = tool->Selector(), .input = *call.arguments};
  if (options.wall_time) request.overrides.wall_time = options.wall_time;
  Result<Outcome> outcome = engine.Run(request);
  if (!outcome) return ErrorResult(call, outcome.error().ToString());
  ToolCallResult result = ToolResultFromOutcome(*outcome, options.output_budget_bytes);
  result.id = call.id;
  result.name = call.name;
  return result;
}

Result<ToolSet> EngineToolSet(const Engine& engine, const ToolSetOptions& options) {
  auto instances = ReadInstanceFile(InstanceFilePath(engine.home()));
  return BuildToolSet(engine.registry(), instances ? &*instances : nullptr, options);
}

Result<json> EngineToolDefinitions(const Engine& engine, ToolFormat format,
                                   const ToolSetOptions& options) {
  auto tools = EngineToolSet(engine, options);
  if (!tools) return std::unexpected(tools.error());
  return ToolDefinitions(*tools, format);
}

Result<json> HandleToolCalls(Engine& engine, const json& response,
                             const ToolCallOptions& options) {
  auto parsed = ParseToolCalls(response);
  if (!parsed) return std::unexpected(parsed.error());
  auto& [format, calls] = *parsed;
  ToolSet owned;
  const ToolSet* tools = options.tools ? &*options.tools : nullptr;
  if (tools == nullptr && !calls.empty()) {
    auto built = EngineToolSet(engine);
    if (!built) return std::unexpected(built.error());
    owned = std::move(*built);
    tools = &owned;
  }
  std::vector<ToolCallResult> results(calls.size());
  std::atomic<size_t> next{0};
  auto worker = [&] {
    for (size_t i = next++; i < calls.size(); i = next++) {
      results[i] = RunToolCall(engine, *tools, calls[i], options);
    }
  };
  const size_t threads = std::min(std::max<size_t>(options.max_concurrency, 1), calls.size());
  std::vector<std::jthread> pool;
  for (size_t i = 1; i < threads; ++i) {
    try {
      pool.emplace_back(worker);
    } catch (const std::system_error&) {
      break;  // No more threads: the ones made (and this one) take the remaining calls.
    }
  }
  if (threads > 0) worker();
  pool.clear();  // Joins.
  return FormatToolResults(format, results);
}

}  // namespace skillrt
