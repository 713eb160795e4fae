// Anthropic Messages streaming: message_start, then per content block content_block_start,
// content_block_delta (text_delta, input_json_delta with `partial_json`), content_block_stop,
// then message_delta (stop_reason, output usage) and message_stop; `ping` anywhere; an `error`
// event ends the stream (e.g. overloaded_error).
#include <nlohmann/json.hpp>

#include "agent/stream.h"

namespace skillrt::agent {
namespace {

using nlohmann::json;

// A token count, 0 when absent or null.
uint64_t Count(const json& usage, const char* key) {
  auto it = usage.find(key);
  return it != usage.end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
}

class AnthropicAssembler : public StreamAssembler {
 public:
  Result<void> Feed(const SseEvent& event) override {
    // A field of an unexpected type (null where a number belongs) is the server's fault, not
    // a crash: nlohmann's accessors throw, and the throw becomes a parse error here.
    try {
      return FeedEvent(event);
    } catch (const nlohmann::json::exception& e) {
      return Fail(ErrorCode::kParse, std::string("the model's stream sent an unexpected value: ") +
                                         e.what());
    }
  }

 private:
  Result<void> FeedEvent(const SseEvent& event) {
    if (done_) return {};
    json body = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (body.is_discarded() || !body.is_object()) {
      return Fail(ErrorCode::kParse, "the model's stream sent data that is not a JSON object: " +
                                         event.data.substr(0, 120));
    }
    // The `type` field names the event; the `event:` line says the same.
    const std::string type = body.value("type", event.event);
    if (type == "error") {
      const json error = body.value("error", json::object());
      return Fail(ErrorCode::kIo, "the model's server sent an error in the stream: " +
                                      error.value("type", std::string("error")) + ": " +
                                      error.value("message", std::string()));
    }
    if (type == "message_start") {
      const json usage = body.value("message", json::object()).value("usage", json::object());
      Usage(usage);
    } else if (type == "content_block_start") {
      const json block = body.value("content_block", json::object());
      Block& b = blocks_[body.value("index", int64_t{0})];
      b.type = block.value("type", std::string());
      if (b.type == "text") {
        Text(block.value("text", std::string()));
      } else if (b.type == "tool_use") {
        b.call.id = block.value("id", std::string());
        b.call.name = block.value("name", std::string());
        // The start carries `input: {}`; the input then streams as partial JSON. A server that
        // sends the whole input here and no deltas is taken too.
        const json input = block.value("input", json::object());
        if (!input.empty()) b.start_input = input.dump();
      }
    } else if (type == "content_block_delta") {
      const json delta = body.value("delta", json::object());
      Block& b = blocks_[body.value("index", int64_t{0})];
      const std::string delta_type = delta.value("type", std::string());
      if (delta_type == "text_delta") {
        Text(delta.value("text", std::string()));
      } else if (delta_type == "input_json_delta") {
        b.call.arguments += delta.value("partial_json", std::string());
      }
    } else if (type == "message_delta") {
      const json delta = body.value("delta", json::object());
      if (delta.contains("stop_reason") && delta["stop_reason"].is_string()) {
        turn_.stop_reason = delta["stop_reason"].get<std::string>();
      }
      Usage(body.value("usage", json::object()));
    } else if (type == "message_stop") {
      done_ = true;
    }
    return {};
  }


 public:
  bool done() const override { return done_; }

  Result<ModelTurn> Finish() override {
    if (!done_) {
      return Fail(ErrorCode::kIo, "the model's stream ended before the response was complete");
    }
    for (auto& [index, block] : blocks_) {
      if (block.type != "tool_use") continue;
      if (block.call.arguments.empty()) block.call.arguments = block.start_input;
      if (block.call.arguments.empty()) block.call.arguments = "{}";
      turn_.tool_calls.push_back(std::move(block.call));
    }
    return std::move(turn_);
  }

 private:
  struct Block {
    std::string type;
    StreamedToolCall call;
    std::string start_input;
  };

  void Text(const std::string& piece) {
    if (piece.empty()) return;
    turn_.text += piece;
    if (on_text) on_text(piece);
  }

  void Usage(const json& usage) {
    if (!usage.is_object()) return;
    // input_tokens comes with message_start; message_delta repeats the running totals.
    uint64_t input = Count(usage, "input_tokens") + Count(usage, "cache_creation_input_tokens") +
                     Count(usage, "cache_read_input_tokens");
    if (input > 0) turn_.usage.input_tokens = input;
    if (Count(usage, "output_tokens") > 0) turn_.usage.output_tokens = Count(usage, "output_tokens");
  }

  ModelTurn turn_;
  std::map<int64_t, Block> blocks_;  // By content block index, in order.
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamAssembler> MakeOpenAIChatAssembler();

std::unique_ptr<StreamAssembler> MakeAssembler(Protocol protocol) {
  if (protocol == Protocol::kAnthropic) return std::make_unique<AnthropicAssembler>();
  return MakeOpenAIChatAssembler();
}

}  // namespace skillrt::agent
