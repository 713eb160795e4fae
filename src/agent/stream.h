// A model's streamed response put back together: the text, the tool calls and the token usage
// of one turn, from the Server-Sent Events of OpenAI Chat Completions or Anthropic Messages.
// Real servers differ from the documents in small ways; each assembler lists the ones it takes.
#ifndef SKILLRT_AGENT_STREAM_H_
#define SKILLRT_AGENT_STREAM_H_

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "agent/sse.h"
#include "skillrt/agent.h"
#include "skillrt/error.h"

namespace skillrt::agent {

/// One tool call as the model streamed it: the arguments are JSON text, parsed later so that a
/// malformed one becomes a tool error the model can correct.
struct StreamedToolCall {
  std::string id = {};
  std::string name = {};
  std::string arguments = {};
};

/// One assistant turn.
struct ModelTurn {
  std::string text = {};
  std::vector<StreamedToolCall> tool_calls = {};
  TokenUsage usage = {};
  /// As the server said it: "stop", "tool_calls", "length", "end_turn", "tool_use", ...
  std::string stop_reason = {};
};

/// Turns the events of one streamed response into a ModelTurn. Not thread-safe.
class StreamAssembler {
 public:
  virtual ~StreamAssembler() = default;
  /// Takes one event. kParse for data that is not the protocol's JSON; kIo for an error the
  /// server sent in the stream (its type and message quoted).
  virtual Result<void> Feed(const SseEvent& event) = 0;
  /// True once the stream's end marker came ([DONE], message_stop).
  virtual bool done() const = 0;
  /// The turn, once the stream has ended. kIo when it ended before the response was
  /// complete (no end marker and no finish reason).
  virtual Result<ModelTurn> Finish() = 0;
  /// Called with each piece of text as it arrives (may be empty: nobody listens).
  std::function<void(std::string_view)> on_text;
};

/// The assembler for `protocol`.
std::unique_ptr<StreamAssembler> MakeAssembler(Protocol protocol);

/// For servers that write a tool call as JSON in the message text instead of `tool_calls`:
/// when `text` (trimmed, optionally in a ```json fence) is one object {"name", "arguments" |
/// "parameters"} or {"tool_calls": [...]} or an array of such objects, and every name is in
/// `tools`, the calls; else none. Ids are made up ("call_text_N"). Pure.
std::vector<StreamedToolCall> ToolCallsInText(std::string_view text,
                                              const std::set<std::string, std::less<>>& tools);

}  // namespace skillrt::agent

#endif  // SKILLRT_AGENT_STREAM_H_
