// The SSE reader and the two stream assemblers, fed recorded streams whole, byte by byte and
// in odd splits: every split must give the same turn.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "agent/sse.h"
#include "agent/stream.h"

namespace skillrt::agent {
namespace {

// Feeds `stream` to a parser in pieces of `step` bytes (0: whole) and the events to a fresh
// assembler for `protocol`.
Result<ModelTurn> Assemble(Protocol protocol, const std::string& stream, size_t step,
                           std::string* streamed_text = nullptr) {
  SseParser parser;
  auto assembler = MakeAssembler(protocol);
  if (streamed_text) {
    assembler->on_text = [streamed_text](std::string_view t) { streamed_text->append(t); };
  }
  const size_t n = step == 0 ? stream.size() : step;
  for (size_t at = 0; at < stream.size(); at += n) {
    for (const SseEvent& event : parser.Feed(std::string_view(stream).substr(at, n))) {
      auto fed = assembler->Feed(event);
      if (!fed) return std::unexpected(fed.error());
    }
  }
  return assembler->Finish();
}

TEST(SseParserTest, LineEndsCommentsMultiLineDataAndFields) {
  const std::string stream =
      ": keep-alive comment\r\n"
      "event: first\r\n"
      "data: line one\r\n"
      "data:line two\r\n"
      "id: 7\r\n"
      "\r\n"
      "data: cr only\r\r"
      "retry: 10\n"
      "data\n"
      "\n"
      "event: no-data\n\n";  // No data line: nothing dispatched.
  for (size_t step : {0, 1, 2, 3, 5, 7}) {
    SseParser parser;
    std::vector<SseEvent> events;
    const size_t n = step == 0 ? stream.size() : step;
    for (size_t at = 0; at < stream.size(); at += n) {
      auto got = parser.Feed(std::string_view(stream).substr(at, n));
      events.insert(events.end(), got.begin(), got.end());
    }
    ASSERT_EQ(events.size(), 3u) << "step " << step;
    EXPECT_EQ(events[0].event, "first");
    EXPECT_EQ(events[0].data, "line one\nline two");
    EXPECT_EQ(events[0].id, "7");
    EXPECT_EQ(events[1].event, "message");
    EXPECT_EQ(events[1].data, "cr only");
    EXPECT_EQ(events[2].data, "");
    EXPECT_FALSE(parser.pending());
  }
}

TEST(SseParserTest, AnUnfinishedEventIsPendingAndAnOversizedOneOverflows) {
  SseParser parser;
  EXPECT_TRUE(parser.Feed("data: {\"half\":").empty());
  EXPECT_TRUE(parser.pending());
  SseParser small(16);
  (void)small.Feed("data: " + std::string(64, 'x') + "\n\n");
  EXPECT_TRUE(small.overflow());
  SseParser fine(16);
  EXPECT_EQ(fine.Feed("data: short\n\n").size(), 1u);
  EXPECT_FALSE(fine.overflow());
}

// Two parallel calls, arguments split mid-token, the name repeated in every fragment, a
// keep-alive comment, a usage chunk without choices, CRLF line ends.
const char kOpenAIParallel[] =
    "data: {\"id\":\"c1\",\"object\":\"chat.completion.chunk\",\"choices\":[{\"index\":0,"
    "\"delta\":{\"role\":\"assistant\",\"content\":null},\"finish_reason\":null}]}\r\n\r\n"
    ": ping\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"Let me \"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"compute.\"}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"call_a\","
    "\"type\":\"function\",\"function\":{\"name\":\"calculator\",\"arguments\":\"\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"name\":\"calculator\",\"arguments\":\"{\\\"expression\\\": \\\"2*\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"id\":\"call_b\","
    "\"function\":{\"name\":\"slugify\",\"arguments\":\"{\\\"text\\\":\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"function\":"
    "{\"arguments\":\"21\\\"}\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":1,\"function\":"
    "{\"name\":\"slugify\",\"arguments\":\"\\\"Hello World\\\"}\"}}]}}]}\r\n\r\n"
    "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\r\n\r\n"
    "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":120,\"completion_tokens\":30,"
    "\"total_tokens\":150}}\r\n\r\n"
    "data: [DONE]\r\n\r\n";

TEST(OpenAIStreamTest, ParallelCallsByIndexInEverySplit) {
  for (size_t step : {0, 1, 2, 3, 13, 64, 101}) {
    std::string streamed;
    auto turn = Assemble(Protocol::kOpenAIChat, kOpenAIParallel, step, &streamed);
    ASSERT_TRUE(turn) << turn.error().ToString();
    EXPECT_EQ(turn->text, "Let me compute.");
    EXPECT_EQ(streamed, "Let me compute.");
    ASSERT_EQ(turn->tool_calls.size(), 2u) << "step " << step;
    EXPECT_EQ(turn->tool_calls[0].id, "call_a");
    EXPECT_EQ(turn->tool_calls[0].name, "calculator");
    EXPECT_EQ(turn->tool_calls[0].arguments, "{\"expression\": \"2*21\"}");
    EXPECT_EQ(turn->tool_calls[1].id, "call_b");
    EXPECT_EQ(turn->tool_calls[1].name, "slugify");
    EXPECT_EQ(turn->tool_calls[1].arguments, "{\"text\":\"Hello World\"}");
    EXPECT_EQ(turn->stop_reason, "tool_calls");
    EXPECT_EQ(turn->usage.input_tokens, 120u);
    EXPECT_EQ(turn->usage.output_tokens, 30u);
  }
}

TEST(OpenAIStreamTest, ParallelCallsAllAtIndexZeroAreToldApartById) {
  const std::string stream =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"x1\","
      "\"function\":{\"name\":\"a\",\"arguments\":\"{\\\"n\\\":\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,"
      "\"function\":{\"arguments\":\"1}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\"x2\","
      "\"function\":{\"name\":\"b\",\"arguments\":\"{\\\"n\\\":2}\"}}]}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: [DONE]\n\n";
  for (size_t step : {0, 1, 9}) {
    auto turn = Assemble(Protocol::kOpenAIChat, stream, step);
    ASSERT_TRUE(turn) << turn.error().ToString();
    ASSERT_EQ(turn->tool_calls.size(), 2u);
    EXPECT_EQ(turn->tool_calls[0].name, "a");
    EXPECT_EQ(turn->tool_calls[0].arguments, "{\"n\":1}");
    EXPECT_EQ(turn->tool_calls[1].id, "x2");
    EXPECT_EQ(turn->tool_calls[1].arguments, "{\"n\":2}");
  }
}

TEST(OpenAIStreamTest, LegacyFunctionCallIsUsedOnlyWithoutToolCalls) {
  const std::string legacy_only =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"calc\","
      "\"arguments\":\"{\\\"a\\\"\"}}}]}\n\n"
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"arguments\":\":1}\"}},"
      "\"finish_reason\":\"function_call\"}]}\n\n"
      "data: [DONE]\n\n";
  auto turn = Assemble(Protocol::kOpenAIChat, legacy_only, 4);
  ASSERT_TRUE(turn) << turn.error().ToString();
  ASSERT_EQ(turn->tool_calls.size(), 1u);
  EXPECT_EQ(turn->tool_calls[0].name, "calc");
  EXPECT_EQ(turn->tool_calls[0].arguments, "{\"a\":1}");
  EXPECT_FALSE(turn->tool_calls[0].id.empty());

  const std::string both =
      "data: {\"choices\":[{\"index\":0,\"delta\":{\"function_call\":{\"name\":\"calc\","
      "\"arguments\":\"{}\"},\"tool_calls\":[{\"index\":0,\"id\":\"t\",\"function\":"
      "{\"name\":\"calc\",\"arguments\":\"{}\"}}]},\"finish_reason\":\"tool_calls\"}]}\n\n"
      "data: [DONE]\n\n";
  turn = Assemble(Protocol::kOpenAIChat, both, 0);
  ASSERT_TRUE(turn);
  ASSERT_EQ(turn->tool_calls.size(), 1u);  // Not twice.
  EXPECT_EQ(turn->tool_calls[0].id, "t");
}

TEST(OpenAIStreamTest, EndWithoutDoneAfterAFinishReasonIsComplete) {
  auto turn = Assemble(Protocol::kOpenAIChat,
                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"},"
                       "\"finish_reason\":\"stop\"}]}\n\n",
                       0);
  ASSERT_TRUE(turn);
  EXPECT_EQ(turn->text, "hi");
}

TEST(OpenAIStreamTest, CutStreamErrorsAndMalformedDataAreErrors) {
  auto cut = Assemble(Protocol::kOpenAIChat,
                      "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"hi\"}}]}\n\n", 0);
  ASSERT_FALSE(cut);
  EXPECT_NE(cut.error().message.find("ended before"), std::string::npos);
  auto bad = Assemble(Protocol::kOpenAIChat, "data: {not json\n\n", 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  auto error = Assemble(Protocol::kOpenAIChat,
                        "data: {\"error\":{\"message\":\"model overloaded\"}}\n\n", 0);
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("model overloaded"), std::string::npos);
}

TEST(OpenAIStreamTest, NullsWhereNumbersBelongAreReadOrRefusedNeverThrown) {
  auto turn = Assemble(Protocol::kOpenAIChat,
                       "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":null}}\n\n"
                       "data: {\"choices\":[{\"index\":0,\"delta\":{\"content\":\"x\"},"
                       "\"finish_reason\":\"stop\"}]}\n\ndata: [DONE]\n\n",
                       1);
  ASSERT_TRUE(turn) << turn.error().ToString();
  EXPECT_EQ(turn->usage.input_tokens, 0u);
  auto bad = Assemble(Protocol::kOpenAIChat,
                      "data: {\"choices\":[{\"index\":null,\"delta\":{}}]}\n\n", 0);
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().code, ErrorCode::kParse);
  auto anthropic = Assemble(Protocol::kAnthropic,
                            "data: {\"type\":\"content_block_start\",\"index\":null}\n\n", 0);
  ASSERT_FALSE(anthropic);
  EXPECT_EQ(anthropic.error().code, ErrorCode::kParse);
}

TEST(OpenAIStreamTest, ToolCallWrittenAsJsonInTheText) {
  const std::set<std::string, std::less<>> tools = {"calculator"};
  auto calls = ToolCallsInText(
      "```json\n{\"name\": \"calculator\", \"arguments\": {\"expression\": \"1+1\"}}\n```", tools);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].name, "calculator");
  EXPECT_EQ(calls[0].arguments, "{\"expression\":\"1+1\"}");
  calls = ToolCallsInText("{\"tool_calls\":[{\"function\":{\"name\":\"calculator\","
                          "\"arguments\":\"{}\"}}]}",
                          tools);
  ASSERT_EQ(calls.size(), 1u);
  EXPECT_EQ(calls[0].arguments, "{}");
  // Not a tool of ours, or prose: no call.
  EXPECT_TRUE(ToolCallsInText("{\"name\": \"rm\", \"arguments\": {}}", tools).empty());
  EXPECT_TRUE(ToolCallsInText("The answer is 2.", tools).empty());
  EXPECT_TRUE(ToolCallsInText("{\"result\": 2}", tools).empty());
}

// As the Messages API streams a text block and two tool_use blocks.
const char kAnthropicTools[] =
    "event: message_start\n"
    "data: {\"type\":\"message_start\",\"message\":{\"id\":\"msg_1\",\"type\":\"message\","
    "\"role\":\"assistant\",\"content\":[],\"model\":\"claude\",\"stop_reason\":null,"
    "\"usage\":{\"input_tokens\":250,\"output_tokens\":1}}}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":0,\"content_block\":{\"type\":\"text\","
    "\"text\":\"\"}}\n\n"
    "event: ping\ndata: {\"type\": \"ping\"}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\","
    "\"text\":\"Two calls.\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":1,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_1\",\"name\":\"calculator\",\"input\":{}}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"{\\\"expression\\\": \"}}\n\n"
    "event: content_block_delta\n"
    "data: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":"
    "\"input_json_delta\",\"partial_json\":\"\\\"6*7\\\"}\"}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n"
    "event: content_block_start\n"
    "data: {\"type\":\"content_block_start\",\"index\":2,\"content_block\":{\"type\":"
    "\"tool_use\",\"id\":\"toolu_2\",\"name\":\"list_skills\",\"input\":{}}}\n\n"
    "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n"
    "event: message_delta\n"
    "data: {\"type\":\"message_delta\",\"delta\":{\"stop_reason\":\"tool_use\","
    "\"stop_sequence\":null},\"usage\":{\"output_tokens\":42}}\n\n"
    "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n";

TEST(AnthropicStreamTest, TextAndToolUseBlocksInEverySplit) {
  for (size_t step : {0, 1, 2, 7, 50}) {
    std::string streamed;
    auto turn = Assemble(Protocol::kAnthropic, kAnthropicTools, step, &streamed);
    ASSERT_TRUE(turn) << turn.error().ToString();
    EXPECT_EQ(turn->text, "Two calls.");
    EXPECT_EQ(streamed, "Two calls.");
    ASSERT_EQ(turn->tool_calls.size(), 2u);
    EXPECT_EQ(turn->tool_calls[0].id, "toolu_1");
    EXPECT_EQ(turn->tool_calls[0].name, "calculator");
    EXPECT_EQ(turn->tool_calls[0].arguments, "{\"expression\": \"6*7\"}");
    EXPECT_EQ(turn->tool_calls[1].name, "list_skills");
    EXPECT_EQ(turn->tool_calls[1].arguments, "{}");
    EXPECT_EQ(turn->stop_reason, "tool_use");
    EXPECT_EQ(turn->usage.input_tokens, 250u);
    EXPECT_EQ(turn->usage.output_tokens, 42u);
  }
}

TEST(AnthropicStreamTest, ErrorEventAndCutStream) {
  auto error = Assemble(Protocol::kAnthropic,
                        "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":"
                        "\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n",
                        3);
  ASSERT_FALSE(error);
  EXPECT_NE(error.error().message.find("overloaded_error: Overloaded"), std::string::npos);
  std::string cut(kAnthropicTools);
  cut.resize(cut.find("event: message_delta"));
  auto partial = Assemble(Protocol::kAnthropic, cut, 5);
  ASSERT_FALSE(partial);
  EXPECT_NE(partial.error().message.find("ended before"), std::string::npos);
}

}  // namespace
}  // namespace skillrt::agent
