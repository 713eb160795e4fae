// <home>/agent.toml: profiles, the default, and the errors that name what is wrong.
#include <gtest/gtest.h>

#include <fstream>

#include "agent/model_client.h"
#include "skillrt/agent.h"
#include "test_util.h"

namespace skillrt {
namespace {

std::filesystem::path Write(const testing::TempDir& dir, const std::string& text) {
  const auto path = dir.path() / "agent.toml";
  std::ofstream(path) << text;
  return path;
}

TEST(ModelProfileTest, NamedAndDefaultProfiles) {
  testing::TempDir dir;
  const auto path = Write(dir, R"(
default = "local"
[profiles.local]
base_url = "http://127.0.0.1:11434/v1"
model = "qwen2.5"
[profiles.claude]
protocol = "anthropic"
base_url = "https://api.anthropic.com/v1"
model = "claude-sonnet-4-5"
api_key_ref = "env:ANTHROPIC_API_KEY"
max_output_tokens = 2048
request_timeout_ms = 60000
max_retries = 5
)");
  auto local = LoadModelProfile(path, "");
  ASSERT_TRUE(local) << local.error().ToString();
  EXPECT_EQ(local->name, "local");
  EXPECT_EQ(local->protocol, Protocol::kOpenAIChat);
  EXPECT_EQ(local->model, "qwen2.5");
  EXPECT_TRUE(local->api_key_ref.empty());
  auto claude = LoadModelProfile(path, "claude");
  ASSERT_TRUE(claude) << claude.error().ToString();
  EXPECT_EQ(claude->protocol, Protocol::kAnthropic);
  EXPECT_EQ(claude->api_key_ref, "env:ANTHROPIC_API_KEY");
  EXPECT_EQ(claude->max_output_tokens, 2048u);
  EXPECT_EQ(claude->request_timeout, std::chrono::milliseconds(60000));
  EXPECT_EQ(claude->max_retries, 5u);
}

TEST(ModelProfileTest, ErrorsNameTheFieldAndAKeyInTheFileIsRefused) {
  testing::TempDir dir;
  auto missing = LoadModelProfile(
      Write(dir, "[profiles.a]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\n"), "b");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  EXPECT_NE(missing.error().message.find("profiles: a"), std::string::npos);
  auto key = LoadModelProfile(
      Write(dir, "[profiles.a]\nbase_url = \"http://x/v1\"\nmodel = \"m\"\napi_key = \"sk-1\"\n"),
      "a");
  ASSERT_FALSE(key);
  EXPECT_NE(key.error().message.find("profiles.a.api_key"), std::string::npos);
  EXPECT_EQ(key.error().message.find("sk-1"), std::string::npos);
  auto type = LoadModelProfile(
      Write(dir, "[profiles.a]\nbase_url = \"http://x/v1\"\nmodel = 3\n"), "a");
  ASSERT_FALSE(type);
  EXPECT_NE(type.error().message.find("profiles.a.model: expected a string"), std::string::npos);
  auto protocol = LoadModelProfile(
      Write(dir, "[profiles.a]\nprotocol = \"grpc\"\nbase_url = \"http://x\"\nmodel = \"m\"\n"),
      "a");
  ASSERT_FALSE(protocol);
  EXPECT_NE(protocol.error().message.find("expected openai or anthropic"), std::string::npos);
}

TEST(ModelProfileTest, KeysOnlyByReference) {
  testing::TempDir dir;
  ::setenv("SKILLRT_TEST_AGENT_KEY", "sk-from-env", 1);
  auto env = agent::ResolveApiKey("env:SKILLRT_TEST_AGENT_KEY");
  ASSERT_TRUE(env);
  EXPECT_EQ(*env, "sk-from-env");
  std::ofstream(dir.path() / "key") << "sk-from-file\n";
  auto file = agent::ResolveApiKey("file:" + (dir.path() / "key").string());
  ASSERT_TRUE(file);
  EXPECT_EQ(*file, "sk-from-file");
  auto unset = agent::ResolveApiKey("env:SKILLRT_TEST_AGENT_KEY_UNSET");
  ASSERT_FALSE(unset);
  EXPECT_NE(unset.error().message.find("SKILLRT_TEST_AGENT_KEY_UNSET is not set"),
            std::string::npos);
  auto literal = agent::ResolveApiKey("sk-literal-key");
  ASSERT_FALSE(literal);
  EXPECT_EQ(literal.error().message.find("literal-key"), std::string::npos);
}

}  // namespace
}  // namespace skillrt
