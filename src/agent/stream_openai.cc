// OpenAI Chat Completions streaming (chat.completion.chunk objects, then `data: [DONE]`).
// The quirks of real servers taken here:
// - a tool call's `arguments` arrive in fragments across chunks;
// - parallel calls are told apart by `index`, or, where a server puts every call at index 0,
//   by a new `id` at the same index;
// - the function `name` repeated in every fragment (not appended again);
// - a legacy `function_call` delta beside `tool_calls` (used only when there are none);
// - a chunk with `usage` and an empty `choices` (stream_options.include_usage);
// - an `error` object in the stream instead of a chunk;
// - a stream that ends after a finish_reason without [DONE].
#include <nlohmann/json.hpp>

#include "agent/stream.h"

namespace skillrt::agent {
namespace {

using nlohmann::json;

std::string StringOr(const json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : std::string();
}

class OpenAIChatAssembler : public StreamAssembler {
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
    if (event.data == "[DONE]") {
      done_ = true;
      return {};
    }
    json chunk = json::parse(event.data, nullptr, /*allow_exceptions=*/false);
    if (chunk.is_discarded() || !chunk.is_object()) {
      return Fail(ErrorCode::kParse, "the model's stream sent data that is not a JSON object: " +
                                         event.data.substr(0, 120));
    }
    if (auto error = chunk.find("error"); error != chunk.end()) {
      std::string message = error->is_object() ? StringOr(*error, "message") : error->dump();
      return Fail(ErrorCode::kIo, "the model's server sent an error in the stream: " + message);
    }
    if (auto usage = chunk.find("usage"); usage != chunk.end() && usage->is_object()) {
      auto count = [&](const char* key) -> uint64_t {
        auto it = usage->find(key);
        return it != usage->end() && it->is_number_unsigned() ? it->get<uint64_t>() : 0;
      };
      turn_.usage.input_tokens = count("prompt_tokens");
      turn_.usage.output_tokens = count("completion_tokens");
    }
    auto choices = chunk.find("choices");
    if (choices == chunk.end() || !choices->is_array()) return {};
    for (const json& choice : *choices) {
      if (!choice.is_object() || choice.value("index", 0) != 0) continue;  // n = 1 only.
      if (auto finish = choice.find("finish_reason"); finish != choice.end() &&
                                                      finish->is_string()) {
        turn_.stop_reason = finish->get<std::string>();
      }
      auto delta = choice.find("delta");
      if (delta == choice.end() || !delta->is_object()) continue;
      if (auto content = delta->find("content"); content != delta->end() &&
                                                 content->is_string()) {
        const std::string& piece = content->get_ref<const std::string&>();
        turn_.text += piece;
        if (on_text && !piece.empty()) on_text(piece);
      }
      if (auto calls = delta->find("tool_calls"); calls != delta->end() && calls->is_array()) {
        for (const json& call : *calls) {
          if (call.is_object()) ToolCallFragment(call);
        }
      }
      if (auto legacy = delta->find("function_call"); legacy != delta->end() &&
                                                      legacy->is_object()) {
        legacy_.name += StringOr(*legacy, "name") == legacy_.name ? ""
                                                                   : StringOr(*legacy, "name");
        legacy_.arguments += StringOr(*legacy, "arguments");
        has_legacy_ = true;
      }
    }
    return {};
  }


 public:
  bool done() const override { return done_; }

  Result<ModelTurn> Finish() override {
    if (!done_ && turn_.stop_reason.empty()) {
      return Fail(ErrorCode::kIo, "the model's stream ended before the response was complete");
    }
    for (Slot& slot : slots_) turn_.tool_calls.push_back(std::move(slot.call));
    if (turn_.tool_calls.empty() && has_legacy_ && !legacy_.name.empty()) {
      legacy_.id = "call_legacy_0";
      turn_.tool_calls.push_back(std::move(legacy_));
    }
    for (size_t i = 0; i < turn_.tool_calls.size(); ++i) {
      if (turn_.tool_calls[i].id.empty()) turn_.tool_calls[i].id = "call_" + std::to_string(i);
    }
    return std::move(turn_);
  }

 private:
  struct Slot {
    int64_t index = 0;
    StreamedToolCall call;
  };

  void ToolCallFragment(const json& fragment) {
    const int64_t index = fragment.value("index", int64_t{0});
    const std::string id = StringOr(fragment, "id");
    Slot* slot = nullptr;
    if (!id.empty()) {
      for (Slot& s : slots_) {
        if (s.call.id == id) slot = &s;
      }
      // An id not seen before starts a call, even at an index already in use: that is how
      // servers that put every parallel call at index 0 tell them apart.
    } else {
      for (Slot& s : slots_) {
        if (s.index == index) slot = &s;  // The latest call at this index.
      }
    }
    if (slot == nullptr) {
      slots_.push_back(Slot{.index = index, .call = {.id = id}});
      slot = &slots_.back();
    }
    if (auto function = fragment.find("function"); function != fragment.end() &&
                                                   function->is_object()) {
      const std::string name = StringOr(*function, "name");
      // Some servers repeat the whole name in every fragment; it is never split in practice.
      if (!name.empty() && name != slot->call.name) slot->call.name += name;
      slot->call.arguments += StringOr(*function, "arguments");
    }
  }

  ModelTurn turn_;
  std::vector<Slot> slots_;
  StreamedToolCall legacy_;
  bool has_legacy_ = false;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<StreamAssembler> MakeOpenAIChatAssembler() {
  return std::make_unique<OpenAIChatAssembler>();
}

std::vector<StreamedToolCall> ToolCallsInText(std::string_view text,
                                              const std::set<std::string, std::less<>>& tools) {
  auto trim = [](std::string_view s) {
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    return s;
  };
  text = trim(text);
  if (text.starts_with("```")) {  // A fenced block: ```json ... ```
    const size_t newline = text.find('\n');
    if (newline == std::string_view::npos || !text.ends_with("```")) return {};
    text = trim(text.substr(newline + 1, text.size() - newline - 4));
  }
  if (text.empty() || (text.front() != '{' && text.front() != '[')) return {};
  json parsed = json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded()) return {};
  if (parsed.is_object() && parsed.contains("tool_calls")) parsed = parsed["tool_calls"];
  if (parsed.is_object()) parsed = json::array({parsed});
  if (!parsed.is_array() || parsed.empty()) return {};
  std::vector<StreamedToolCall> calls;
  for (const json& item : parsed) {
    if (!item.is_object()) return {};
    const json& call = item.contains("function") ? item["function"] : item;
    if (!call.is_object()) return {};
    const std::string name = StringOr(call, "name");
    if (!tools.contains(name)) return {};  // Not a call of ours: ordinary text.
    json arguments = call.contains("arguments") ? call["arguments"]
                                                : call.value("parameters", json::object());
    calls.push_back({.id = "call_text_" + std::to_string(calls.size()),
                     .name = name,
                     .arguments = arguments.is_string() ? arguments.get<std::string>()
                                                        : arguments.dump()});
  }
  return calls;
}

}  // namespace skillrt::agent
