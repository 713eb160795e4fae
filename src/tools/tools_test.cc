// Tool names, schemas, definitions in the four formats and HandleToolCalls (tools.h,
// docs/tools.md). The engine runs a fake runtime that echoes its input, so the tool calls go
// through the real gatekeeper, policy and audit on any host.
#include <atomic>
#include <chrono>
#include <thread>

#include <gtest/gtest.h>

#include "fake_runtime.h"
#include "skillrt/engine.h"
#include "skillrt/tools.h"
#include "test_util.h"
#include "tools/tool_internal.h"

namespace skillrt {
namespace {

using nlohmann::json;
using testing::FakeRuntime;

constexpr const char* kClosedSchema =
    R"({"type":"object","properties":{"text":{"type":"string"}},"required":["text"],)"
    R"("additionalProperties":false})";

class ToolsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
    WriteSkill("echo", "A skill that echoes.", "input_schema = \"schema.json\"\n", "");
    testing::WriteFile(skills_ / "echo" / "schema.json", kClosedSchema);
    WriteSkill("free", "Takes anything.", "", "");
    WriteSkill("writer", "Writes a file.", "",
               "[capabilities]\nwrite = [\"" + out_.path().string() + "\"]\n");
  }

  void WriteSkill(const std::string& name, const std::string& description,
                  const std::string& entry_extra, const std::string& extra) {
    const std::filesystem::path dir = skills_ / name;
    testing::WriteFile(dir / "SKILL.md", "---\nname: " + name + "\ndescription: " +
                                             description + "\n---\n# " + name + "\n");
    testing::WriteFile(dir / "skill.toml", "[entry]\nargv = [\"true\"]\n" + entry_extra +
                                               "[limits]\nwall_time_ms = 5000\n" + extra);
  }

  // An engine whose runs print {"echo": <input>} (or run `behaviour`).
  std::unique_ptr<Engine> Open(FakeRuntime::Behaviour behaviour = nullptr) {
    if (!behaviour) behaviour = Echo();
    runtime_ = std::make_shared<FakeRuntime>(std::move(behaviour));
    EngineOptions options;
    options.home = home_;
    options.skill_roots = {skills_};
    options.native_runtime = runtime_;
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.has_value()) << engine.error().ToString();
    return engine ? std::move(*engine) : nullptr;
  }

  static FakeRuntime::Behaviour Echo() {
    return [](const Plan& plan, const RunContext& context) -> Result<Outcome> {
      return FakeRuntime::Prints("{\"echo\":" + plan.stdin_data + "}")(plan, context);
    };
  }

  ToolSet Tools(const Engine& engine) {
    auto tools = BuildToolSet(engine.registry(), nullptr, {});
    EXPECT_TRUE(tools.has_value()) << tools.error().ToString();
    return tools ? *tools : ToolSet{};
  }

  testing::TempDir tmp_;
  testing::VarTmpDir out_;  // The writer's host path (not under /tmp: a reserved host path).
  std::filesystem::path skills_, home_;
  std::shared_ptr<FakeRuntime> runtime_;
};

TEST(ToolNamesTest, EveryNameSatisfiesEveryApi) {
  EXPECT_EQ(BaseToolName("pdf-tools", std::nullopt), "pdf-tools");
  EXPECT_EQ(BaseToolName("calc", "prod"), "calc__prod");
  EXPECT_EQ(BaseToolName("My.Skill v2", std::nullopt), "My_Skill_v2");
  const std::string long_name(70, 'a');
  const std::string hashed = BaseToolName(long_name, std::nullopt);
  EXPECT_TRUE(IsValidToolName(hashed)) << hashed;
  EXPECT_EQ(hashed.size(), 64u);
  EXPECT_EQ(hashed, BaseToolName(long_name, std::nullopt)) << "names are stable";
  EXPECT_NE(hashed, BaseToolName(long_name + "b", std::nullopt));
  EXPECT_FALSE(IsValidToolName(""));
  EXPECT_FALSE(IsValidToolName("a.b"));
  EXPECT_FALSE(IsValidToolName(std::string(65, 'a')));
}

TEST(ToolNamesTest, CollisionsAreResolvedByOrderOfSelectorAndReported) {
  std::vector<ToolEntry> tools = {{.skill = "x_y"}, {.skill = "x.y"}, {.skill = "z"}};
  auto collisions = tools_internal::AssignToolNames(tools);
  ASSERT_EQ(collisions.size(), 1u);
  EXPECT_EQ(collisions[0].base_name, "x_y");
  EXPECT_EQ(collisions[0].selectors, (std::vector<std::string>{"x.y", "x_y"}));
  EXPECT_EQ(collisions[0].names[0], "x_y") << "'x.y' sorts first and keeps the name";
  EXPECT_NE(collisions[0].names[1], "x_y");
  EXPECT_TRUE(IsValidToolName(collisions[0].names[1]));
  // The same skills found in another order get the same names.
  std::vector<ToolEntry> reversed = {{.skill = "z"}, {.skill = "x.y"}, {.skill = "x_y"}};
  tools_internal::AssignToolNames(reversed);
  for (size_t i = 0; i < tools.size(); ++i) {
    EXPECT_EQ(tools[i].name, reversed[i].name);
    EXPECT_EQ(tools[i].skill, reversed[i].skill);
  }
}

TEST(ToolSchemaTest, StrictOnlyForSchemasAlreadyInTheSubset) {
  EXPECT_TRUE(tools_internal::IsStrictSchema(json::parse(kClosedSchema)));
  // An optional property, an open object, a keyword outside the subset, a nested open object.
  EXPECT_FALSE(tools_internal::IsStrictSchema(json::parse(
      R"({"type":"object","properties":{"a":{"type":"string"}},"additionalProperties":false})")));
  EXPECT_FALSE(tools_internal::IsStrictSchema(
      json::parse(R"({"type":"object","properties":{"a":{"type":"string"}},"required":["a"]})")));
  EXPECT_FALSE(tools_internal::IsStrictSchema(json::parse(
      R"({"type":"object","properties":{"a":{"type":"string","minLength":1}},"required":["a"],)"
      R"("additionalProperties":false})")));
  EXPECT_FALSE(tools_internal::IsStrictSchema(json::parse(
      R"({"type":"object","properties":{"a":{"type":"object","properties":{}}},"required":["a"],)"
      R"("additionalProperties":false})")));
}

TEST_F(ToolsTest, DefinitionsInTheFourFormats) {
  auto engine = Open();
  ASSERT_TRUE(engine);
  ToolSet tools = Tools(*engine);
  ASSERT_EQ(tools.tools.size(), 3u);
  const ToolEntry* echo = tools.Find("echo");
  ASSERT_NE(echo, nullptr);
  EXPECT_TRUE(echo->strict);
  EXPECT_EQ(echo->input_schema, json::parse(kClosedSchema));

  json openai = ToolDefinition(*echo, ToolFormat::kOpenAIChat);
  EXPECT_EQ(openai["type"], "function");
  EXPECT_EQ(openai["function"]["name"], "echo");
  EXPECT_EQ(openai["function"]["parameters"], json::parse(kClosedSchema));
  EXPECT_EQ(openai["function"]["strict"], true);
  json responses = ToolDefinition(*echo, ToolFormat::kOpenAIResponses);
  EXPECT_EQ(responses["name"], "echo");
  EXPECT_EQ(responses["strict"], true);
  EXPECT_FALSE(responses.contains("function"));
  json anthropic = ToolDefinition(*echo, ToolFormat::kAnthropic);
  EXPECT_EQ(anthropic["input_schema"], json::parse(kClosedSchema));
  EXPECT_EQ(anthropic.size(), 3u);
  json mcp = ToolDefinition(*echo, ToolFormat::kMcp);
  EXPECT_EQ(mcp["inputSchema"], json::parse(kClosedSchema));
  EXPECT_EQ(mcp["outputSchema"], ToolOutputSchema());
  EXPECT_EQ(mcp["annotations"]["readOnlyHint"], true);

  // No schema: an open object, said in words, and never strict.
  const ToolEntry* free = tools.Find("free");
  ASSERT_NE(free, nullptr);
  EXPECT_FALSE(free->strict);
  EXPECT_EQ(free->input_schema["additionalProperties"], true);
  EXPECT_EQ(ToolDefinition(*free, ToolFormat::kOpenAIChat)["function"]["strict"], false);

  // A skill that writes a host path is not read-only.
  const ToolEntry* writer = tools.Find("writer");
  ASSERT_NE(writer, nullptr);
  json hints = ToolDefinition(*writer, ToolFormat::kMcp)["annotations"];
  EXPECT_EQ(hints["readOnlyHint"], false);
  EXPECT_EQ(hints["destructiveHint"], true);
  EXPECT_EQ(hints["openWorldHint"], false);

  EXPECT_EQ(ToolDefinitions(tools, ToolFormat::kAnthropic).size(), 3u);
  auto through_engine = EngineToolDefinitions(*engine, ToolFormat::kOpenAIResponses);
  ASSERT_TRUE(through_engine.has_value());
  EXPECT_EQ(*through_engine, ToolDefinitions(tools, ToolFormat::kOpenAIResponses));
  EXPECT_FALSE(BuildToolSet(engine->registry(), nullptr, {.only = {"nope"}}).has_value());
}

TEST_F(ToolsTest, HandlesOpenAIChatCalls) {
  auto engine = Open();
  ASSERT_TRUE(engine);
  json message = {{"role", "assistant"},
                  {"content", nullptr},
                  {"tool_calls",
                   {{{"id", "call_1"},
                     {"type", "function"},
                     {"function", {{"name", "echo"}, {"arguments", R"({"text":"hi"})"}}}},
                    {{"id", "call_2"},
                     {"type", "function"},
                     {"function", {{"name", "echo"}, {"arguments", "{not json"}}}},
                    {{"id", "call_3"},
                     {"type", "function"},
                     {"function", {{"name", "missing"}, {"arguments", "{}"}}}},
                    {{"id", "call_4"},
                     {"type", "function"},
                     {"function", {{"name", "echo"}, {"arguments", R"({"text":3})"}}}}}}};
  auto results = HandleToolCalls(*engine, {{"choices", {{{"message", message}}}}});
  ASSERT_TRUE(results.has_value()) << results.error().ToString();
  ASSERT_EQ(results->size(), 4u);
  EXPECT_EQ((*results)[0]["role"], "tool");
  EXPECT_EQ((*results)[0]["tool_call_id"], "call_1");
  EXPECT_EQ(json::parse((*results)[0]["content"].get<std::string>()),
            json::parse(R"({"echo":{"text":"hi"}})"));
  EXPECT_NE((*results)[1]["content"].get<std::string>().find("not valid JSON"), std::string::npos);
  EXPECT_NE((*results)[2]["content"].get<std::string>().find("unknown tool 'missing'"),
            std::string::npos);
  // Input outside the schema is refused by the engine, as an error the model reads.
  EXPECT_EQ((*results)[3]["content"].get<std::string>().rfind("error:", 0), 0u);
  EXPECT_EQ(runtime_->calls(), 1) << "only the valid call ran";
}

TEST_F(ToolsTest, HandlesResponsesAndAnthropicCalls) {
  auto engine = Open();
  ASSERT_TRUE(engine);
  json output = {{{"type", "reasoning"}, {"id", "r1"}},
                 {{"type", "function_call"},
                  {"call_id", "fc_1"},
                  {"name", "free"},
                  {"arguments", R"({"n":1})"}}};
  auto responses = HandleToolCalls(*engine, {{"output", output}});
  ASSERT_TRUE(responses.has_value()) << responses.error().ToString();
  ASSERT_EQ(responses->size(), 1u);
  EXPECT_EQ((*responses)[0]["type"], "function_call_output");
  EXPECT_EQ((*responses)[0]["call_id"], "fc_1");
  EXPECT_EQ(json::parse((*responses)[0]["output"].get<std::string>())["echo"]["n"], 1);

  json message = {{"role", "assistant"},
                  {"content",
                   {{{"type", "text"}, {"text", "Let me run it."}},
                    {{"type", "tool_use"},
                     {"id", "toolu_1"},
                     {"name", "echo"},
                     {"input", {{"text", "a"}}}},
                    {{"type", "tool_use"}, {"id", "toolu_2"}, {"name", "nope"}, {"input", {}}}}}};
  auto anthropic = HandleToolCalls(*engine, message);
  ASSERT_TRUE(anthropic.has_value()) << anthropic.error().ToString();
  ASSERT_EQ(anthropic->size(), 1u);
  const json& user = (*anthropic)[0];
  EXPECT_EQ(user["role"], "user");
  ASSERT_EQ(user["content"].size(), 2u);
  EXPECT_EQ(user["content"][0]["type"], "tool_result");
  EXPECT_EQ(user["content"][0]["tool_use_id"], "toolu_1");
  EXPECT_EQ(user["content"][0]["is_error"], false);
  EXPECT_EQ(user["content"][1]["tool_use_id"], "toolu_2");
  EXPECT_EQ(user["content"][1]["is_error"], true);

  EXPECT_FALSE(HandleToolCalls(*engine, json(42)).has_value());
  auto none = HandleToolCalls(*engine, {{"role", "assistant"}, {"content", "done"}});
  ASSERT_TRUE(none.has_value());
  EXPECT_TRUE(none->empty());
}

TEST_F(ToolsTest, ParallelCallsRunConcurrentlyWithinTheBound) {
  std::atomic<int> running{0}, peak{0};
  auto engine = Open([&](const Plan& plan, const RunContext& context) -> Result<Outcome> {
    const int now = ++running;
    for (int seen = peak.load(); now > seen && !peak.compare_exchange_weak(seen, now);) {
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(150));
    --running;
    return FakeRuntime::Prints("{}")(plan, context);
  });
  ASSERT_TRUE(engine);
  json calls = json::array();
  for (int i = 0; i < 6; ++i) {
    calls.push_back({{"id", "c" + std::to_string(i)},
                     {"type", "function"},
                     {"function", {{"name", "free"}, {"arguments", "{}"}}}});
  }
  auto results = HandleToolCalls(*engine, {{"tool_calls", calls}}, {.max_concurrency = 3});
  ASSERT_TRUE(results.has_value());
  EXPECT_EQ(results->size(), 6u);
  EXPECT_EQ(peak.load(), 3);
}

TEST_F(ToolsTest, OutputsAreHeldToTheBudgetWithHeadAndTail) {
  const std::string big = "HEAD" + std::string(10000, 'x') + "TAIL";
  auto engine = Open(FakeRuntime::Prints(big));
  ASSERT_TRUE(engine);
  ToolSet tools = Tools(*engine);
  ToolCall call{.id = "1", .name = "free", .arguments = json::object()};
  ToolCallResult result = RunToolCall(*engine, tools, call, {.output_budget_bytes = 1000});
  EXPECT_FALSE(result.is_error);
  EXPECT_LE(result.text.size(), 1000u);
  EXPECT_EQ(result.text.rfind("HEAD", 0), 0u);
  EXPECT_EQ(result.text.substr(result.text.size() - 4), "TAIL");
  EXPECT_NE(result.text.find("bytes cut"), std::string::npos);
  EXPECT_EQ(result.structured["truncated"], true);
  EXPECT_EQ(result.structured["status"], "ok");
}

TEST(FitToBudgetTest, KeepsWholeUtf8Sequences) {
  std::string text;
  for (int i = 0; i < 400; ++i) text += "\xC3\xA9";  // é
  std::string fitted = FitToBudget(text, 101);
  EXPECT_LE(fitted.size(), 101u);
  EXPECT_EQ(fitted.substr(0, 2), "\xC3\xA9");
  EXPECT_NE(fitted.find("bytes cut"), std::string::npos);
  const size_t marker_end = fitted.find("...]\n") + 5;
  EXPECT_EQ(static_cast<unsigned char>(fitted[marker_end]), 0xC3);
  EXPECT_EQ(FitToBudget("short", 100), "short");
}

}  // namespace
}  // namespace skillrt
