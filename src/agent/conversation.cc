// Request bodies for OpenAI Chat Completions (platform.openai.com/docs/api-reference/chat)
// and Anthropic Messages (docs.anthropic.com/en/api/messages).
#include "agent/conversation.h"

namespace skillrt::agent {

using nlohmann::json;

Conversation::Conversation(const ModelProfile& profile, std::string system, std::string task)
    : profile_(profile), system_(std::move(system)) {
  if (profile_.protocol == Protocol::kOpenAIChat && !system_.empty()) {
    messages_.push_back({{"role", "system"}, {"content", system_}});
  }
  messages_.push_back({{"role", "user"}, {"content", std::move(task)}});
}

json Conversation::Request(const std::vector<ToolDef>& tools) const {
  json body = {{"model", profile_.model},
               {"messages", messages_},
               {"stream", true},
               {"max_tokens", profile_.max_output_tokens}};
  json defs = json::array();
  if (profile_.protocol == Protocol::kAnthropic) {
    if (!system_.empty()) body["system"] = system_;
    for (const ToolDef& tool : tools) {
      defs.push_back({{"name", tool.name},
                      {"description", tool.description},
                      {"input_schema", tool.input_schema}});
    }
  } else {
    body["stream_options"] = {{"include_usage", true}};
    for (const ToolDef& tool : tools) {
      defs.push_back({{"type", "function"},
                      {"function",
                       {{"name", tool.name},
                        {"description", tool.description},
                        {"parameters", tool.input_schema}}}});
    }
  }
  if (!defs.empty()) body["tools"] = std::move(defs);
  return body;
}

ToolCall ParseStreamedCall(const StreamedToolCall& call) {
  ToolCall out{.id = call.id, .name = call.name};
  const std::string& text = call.arguments;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    out.arguments = json::object();
    return out;
  }
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) {
    out.arguments_error = "the arguments of " + call.name + " are not valid JSON: " +
                          text.substr(0, 200);
  } else if (!parsed.is_object()) {
    out.arguments_error = "the arguments of " + call.name + " must be a JSON object";
  } else {
    out.arguments = std::move(parsed);
  }
  return out;
}

void Conversation::AddAssistant(const ModelTurn& turn) {
  if (profile_.protocol == Protocol::kAnthropic) {
    json content = json::array();
    if (!turn.text.empty()) content.push_back({{"type", "text"}, {"text", turn.text}});
    for (const StreamedToolCall& call : turn.tool_calls) {
      ToolCall parsed = ParseStreamedCall(call);
      content.push_back({{"type", "tool_use"},
                         {"id", call.id},
                         {"name", call.name},
                         {"input", parsed.arguments.value_or(json::object())}});
    }
    if (content.empty()) content.push_back({{"type", "text"}, {"text", ""}});
    messages_.push_back({{"role", "assistant"}, {"content", std::move(content)}});
    return;
  }
  json message = {{"role", "assistant"}, {"content", turn.text}};
  if (!turn.tool_calls.empty()) {
    json calls = json::array();
    for (const StreamedToolCall& call : turn.tool_calls) {
      calls.push_back({{"id", call.id},
                       {"type", "function"},
                       {"function", {{"name", call.name}, {"arguments", call.arguments}}}});
    }
    message["tool_calls"] = std::move(calls);
  }
  messages_.push_back(std::move(message));
}

void Conversation::AddToolResults(const std::vector<ToolCallResult>& results) {
  const ToolFormat format = profile_.protocol == Protocol::kAnthropic ? ToolFormat::kAnthropic
                                                                     : ToolFormat::kOpenAIChat;
  for (json& message : FormatToolResults(format, results)) messages_.push_back(std::move(message));
}

}  // namespace skillrt::agent
