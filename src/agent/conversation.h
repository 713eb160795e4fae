// The messages of one agent run, in the form of its protocol: the request body of each turn,
// the assistant turns and the tool results appended as the protocol wants them.
#ifndef SKILLRT_AGENT_CONVERSATION_H_
#define SKILLRT_AGENT_CONVERSATION_H_

#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "agent/agent_tools.h"
#include "agent/stream.h"
#include "skillrt/agent.h"
#include "skillrt/tools.h"

namespace skillrt::agent {

/// Not thread-safe.
class Conversation {
 public:
  Conversation(const ModelProfile& profile, std::string system, std::string task);

  /// The body of the next request: model, messages, tools, stream (with usage for OpenAI),
  /// max_tokens. Tool definitions in the protocol's form (tools.h's formats).
  nlohmann::json Request(const std::vector<ToolDef>& tools) const;

  /// Appends the model's turn. An assistant message with tool calls gets "" for content rather
  /// than null (some OpenAI-compatible servers refuse null); Anthropic tool_use blocks get the
  /// parsed arguments, or {} when they are not an object.
  void AddAssistant(const ModelTurn& turn);

  /// Appends the results, in the calls' order (FormatToolResults).
  void AddToolResults(const std::vector<ToolCallResult>& results);

  size_t size() const { return messages_.size(); }

 private:
  ModelProfile profile_;
  std::string system_;
  nlohmann::json messages_ = nlohmann::json::array();
};

/// A streamed call as tools.h's ToolCall: arguments parsed, or why they are not (an empty
/// text is {}).
ToolCall ParseStreamedCall(const StreamedToolCall& call);

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_CONVERSATION_H_
