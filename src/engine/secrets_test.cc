#include "engine/secrets.h"

#include <stdlib.h>

#include <algorithm>
#include <string>

#include <gtest/gtest.h>

#include "engine/plan_builder.h"
#include "test_util.h"

namespace skillrt {
namespace {

using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

Manifest WithSecrets() {
  Manifest m;
  m.secrets["API_TOKEN"] = SecretSpec{.description = "", .required = true, .redact = true};
  m.secrets["OPTIONAL"] = SecretSpec{.description = "", .required = false, .redact = false};
  return m;
}

Instance WithRefs(std::map<std::string, SecretRef> refs) {
  Instance instance;
  instance.skill = "calc";
  instance.name = "prod";
  instance.secrets = std::move(refs);
  return instance;
}

TEST(SecretsTest, ResolvesEnvAndFileReferences) {
  TempDir tmp;
  WriteFile(tmp.path() / "token", "file-secret-value\n");
  ::setenv("SKILLRT_TEST_SECRET_A", "env-secret-value", 1);
  auto env = ResolveSecrets(
      WithSecrets(), "calc",
      WithRefs({{"API_TOKEN", {SecretRef::Kind::kEnv, "SKILLRT_TEST_SECRET_A"}}}),
      "/h/instances.toml");
  ASSERT_TRUE(env.has_value()) << env.error().ToString();
  ASSERT_EQ(env->size(), 1u);  // OPTIONAL has no reference: skipped.
  EXPECT_EQ((*env)[0].name, "API_TOKEN");
  EXPECT_EQ((*env)[0].value, "env-secret-value");
  auto file = ResolveSecrets(
      WithSecrets(), "calc",
      WithRefs({{"API_TOKEN", {SecretRef::Kind::kFile, (tmp.path() / "token").string()}}}),
      "/h/instances.toml");
  ASSERT_TRUE(file.has_value()) << file.error().ToString();
  EXPECT_EQ((*file)[0].value, "file-secret-value");  // The trailing newline is dropped.
  ::unsetenv("SKILLRT_TEST_SECRET_A");
}

TEST(SecretsTest, MissingRequiredSecretNamesItButNeverAValue) {
  auto none = ResolveSecrets(WithSecrets(), "calc", std::nullopt, "/h/instances.toml");
  ASSERT_FALSE(none.has_value());
  EXPECT_EQ(none.error().code, ErrorCode::kNotFound);
  EXPECT_NE(none.error().message.find("skill 'calc': secret API_TOKEN is required and has no "
                                      "reference"),
            std::string::npos)
      << none.error().message;
  EXPECT_NE(none.error().message.find("/h/instances.toml"), std::string::npos);

  ::unsetenv("SKILLRT_TEST_SECRET_UNSET");
  auto unset = ResolveSecrets(
      WithSecrets(), "calc",
      WithRefs({{"API_TOKEN", {SecretRef::Kind::kEnv, "SKILLRT_TEST_SECRET_UNSET"}}}), "/h/i");
  ASSERT_FALSE(unset.has_value());
  EXPECT_EQ(unset.error().message,
            "skill 'calc': secret API_TOKEN: env reference: variable SKILLRT_TEST_SECRET_UNSET "
            "is not set");
  auto unreadable = ResolveSecrets(
      WithSecrets(), "calc", WithRefs({{"API_TOKEN", {SecretRef::Kind::kFile, "/nonexistent/t"}}}),
      "/h/i");
  ASSERT_FALSE(unreadable.has_value());
  EXPECT_EQ(unreadable.error().message.find(
                "skill 'calc': secret API_TOKEN: file reference: cannot open /nonexistent/t"),
            0u)
      << unreadable.error().message;
}

TEST(SecretsTest, RedactsEveryOccurrenceLongestFirstAndCutTails) {
  std::vector<ResolvedSecret> secrets = {{"SHORT", "abc", true},
                                         {"LONG", "abcdef", true},
                                         {"PLAIN", "visible", false}};
  EXPECT_EQ(RedactSecrets("x abcdef y abc z visible", secrets, false),
            "x [REDACTED:LONG] y [REDACTED:SHORT] z visible");
  EXPECT_EQ(RedactSecrets("abcabc", secrets, false), "[REDACTED:SHORT][REDACTED:SHORT]");
  // A stream cut in the middle of a value: the visible start of it goes too.
  EXPECT_EQ(RedactSecrets("tail abcd", secrets, true), "tail [REDACTED:LONG]");
  EXPECT_EQ(RedactSecrets("tail abcd", secrets, false), "tail [REDACTED:SHORT]d");
  // Overlapping values leave nothing of either.
  std::vector<ResolvedSecret> overlapping = {{"A", "xyz", true}, {"B", "zw", true}};
  EXPECT_EQ(RedactSecrets("1xyzw2", overlapping, false), "1[REDACTED:A]2");

  Outcome outcome;
  outcome.stdout_stream.data = "token=abcdef\n";
  outcome.stderr_stream.data = "error: abcdef failed";
  outcome.message = "abc";
  RedactOutcome(outcome, secrets);
  EXPECT_EQ(outcome.stdout_stream.data, "token=[REDACTED:LONG]\n");
  EXPECT_EQ(outcome.stderr_stream.data, "error: [REDACTED:LONG] failed");
  EXPECT_EQ(outcome.message, "[REDACTED:SHORT]");
}

TEST(SecretsTest, InstanceSettingsAndSecretsReachThePlanEnvironment) {
  Plan plan;
  plan.env = {"PATH=/usr/bin", "LOG_LEVEL=info"};
  Instance instance = WithRefs({});
  instance.env["LOG_LEVEL"] = "warn";
  instance.config = {{"precision", 4}};
  AddCallEnvironment(plan, instance, {{"API_TOKEN", "v", true}});
  EXPECT_EQ(plan.env, (std::vector<std::string>{"PATH=/usr/bin", "LOG_LEVEL=warn",
                                                "SKILLRT_INSTANCE=prod",
                                                "SKILLRT_CONFIG={\"precision\":4}",
                                                "API_TOKEN=v"}));
}

TEST(SecretsTest, EgressProxyVariablesKeepTheirValues) {
  Plan plan;
  plan.env = {"PATH=/usr/bin"};
  for (const std::string& entry : EgressProxyEnvironment()) plan.env.push_back(entry);
  const std::vector<std::string> before = plan.env;
  Instance instance = WithRefs({});
  instance.env["HTTPS_PROXY"] = "http://10.0.0.1:8080";
  AddCallEnvironment(plan, instance, {{"http_proxy", "http://10.0.0.2:3128", true}});
  for (const std::string& entry : before) {
    EXPECT_NE(std::find(plan.env.begin(), plan.env.end(), entry), plan.env.end()) << entry;
  }
  EXPECT_EQ(std::find(plan.env.begin(), plan.env.end(), "HTTPS_PROXY=http://10.0.0.1:8080"),
            plan.env.end());
  // Without egress the same names are ordinary variables.
  Plan offline;
  AddCallEnvironment(offline, instance, {});
  EXPECT_NE(std::find(offline.env.begin(), offline.env.end(), "HTTPS_PROXY=http://10.0.0.1:8080"),
            offline.env.end());
}

TEST(SecretsTest, EgressRecordsAreRedacted) {
  const std::vector<ResolvedSecret> secrets = {{"API_TOKEN", "s3cr3tvalue", true}};
  Outcome outcome;
  outcome.egress.push_back(EgressRecord{.method = "CONNECT",
                                        .host = "s3cr3tvalue.evil.test",
                                        .port = 443,
                                        .reason = "host s3cr3tvalue.evil.test is not in the "
                                                  "allowlist"});
  RedactOutcome(outcome, secrets);
  EXPECT_EQ(outcome.egress[0].host.find("s3cr3tvalue"), std::string::npos);
  EXPECT_EQ(outcome.egress[0].reason.find("s3cr3tvalue"), std::string::npos);
  EXPECT_NE(outcome.egress[0].host.find("evil.test"), std::string::npos);
}

// What a JSON reader makes of the text is what must not hold a value: skillrt parses stdout
// as JSON and prints the result, and `--json` shows stdout as a JSON string.
TEST(SecretsTest, JsonEscapedValuesAreRedacted) {
  const std::vector<ResolvedSecret> secrets = {{"TOKEN", "hunter2/x", true}};
  EXPECT_EQ(RedactSecrets(R"({"leak": "\u0068unter2\/x"})", secrets, false),
            R"({"leak": "[REDACTED:TOKEN]"})");
  EXPECT_EQ(
      RedactSecrets(R"(\u0068\u0075\u006E\u0074\u0065\u0072\u0032\u002f\u0078)", secrets, false),
      "[REDACTED:TOKEN]");
  EXPECT_EQ(RedactSecrets(R"(a "hunt\u0065r2/x" b)", secrets, false), R"(a "[REDACTED:TOKEN]" b)");
  // A cut stream whose tail is the escaped start of a value.
  EXPECT_EQ(RedactSecrets(R"(x \u0068unt)", secrets, true), "x [REDACTED:TOKEN]");
  // A value beyond the BMP, as a surrogate pair, and one with characters JSON must escape.
  const std::vector<ResolvedSecret> wide = {{"EMOJI", "k\xf0\x9f\x98\x80y", true},
                                            {"QUOTED", "a\"b\\c\nd", true}};
  EXPECT_EQ(RedactSecrets(R"(k\ud83d\ude00y)", wide, false), "[REDACTED:EMOJI]");
  EXPECT_EQ(RedactSecrets(R"("a\"b\\c\nd")", wide, false), "\"[REDACTED:QUOTED]\"");
  // Positive controls: escapes of other text stay as they are, and so does an escaped
  // backslash before "u0068" (a reader gets "\u0068unter2", not the value).
  EXPECT_EQ(RedactSecrets(R"({"ok": "\u0068ello \/ \ud83d\ude00"})", secrets, false),
            R"({"ok": "\u0068ello \/ \ud83d\ude00"})");
  EXPECT_EQ(RedactSecrets(R"(\\u0068unter2/x)", secrets, false), R"(\\u0068unter2/x)");
}

TEST(SecretsTest, ValuesAreFoundWhateverTheirAsciiCase) {
  const std::vector<ResolvedSecret> secrets = {{"TOKEN", "MiXeD-S3cret", true}};
  EXPECT_EQ(RedactSecrets("host mixed-s3cret.evil.test", secrets, false),
            "host [REDACTED:TOKEN].evil.test");
  EXPECT_EQ(RedactSecrets("MIXED-S3CRET", secrets, false), "[REDACTED:TOKEN]");
  EXPECT_EQ(RedactSecrets("mixed-s3cre", secrets, false), "mixed-s3cre");  // Control.
  // The search is linear: a value that is almost all one letter in a long run of it.
  const std::vector<ResolvedSecret> runs = {{"RUN", std::string(2000, 'a') + "b", true}};
  const std::string text = std::string(1 << 20, 'a') + "b";
  EXPECT_EQ(RedactSecrets(text, runs, false),
            std::string((1 << 20) - 2000, 'a') + "[REDACTED:RUN]");
}

TEST(SecretsTest, ParsedOutputIsRedactedInValuesKeysAndNumbers) {
  const std::vector<ResolvedSecret> secrets = {{"TOKEN", "hunter2", true},
                                               {"PIN", "12345678", true}};
  nlohmann::json value = nlohmann::json::parse(
      R"({"leak": "\u0068unter2", "hunter2": 1, "HUNTER2": 2, "n": [1.2345678e7, 12345678, 7],
          "ok": "\u0068ello", "nested": {"deep": ["x hunter2 y"]}})");
  RedactJson(value, secrets);
  EXPECT_EQ(value["leak"], "[REDACTED:TOKEN]");
  // Keys are redacted (in the object's order: "HUNTER2" first); neither member is lost.
  EXPECT_EQ(value["[REDACTED:TOKEN]"], 2);
  EXPECT_EQ(value["[REDACTED:TOKEN] (2)"], 1);
  EXPECT_EQ(value["n"], nlohmann::json::parse(R"(["[REDACTED:PIN].0", "[REDACTED:PIN]", 7])"));
  EXPECT_EQ(value["nested"]["deep"][0], "x [REDACTED:TOKEN] y");
  EXPECT_EQ(value["ok"], "hello");  // Positive control.
  EXPECT_EQ(value.dump().find("hunter2"), std::string::npos);

  Outcome outcome;
  outcome.stdout_stream.data = R"({"leak": "\u0068unter2"})";
  outcome.output = nlohmann::json::parse(outcome.stdout_stream.data);
  outcome.egress.push_back(EgressRecord{.method = "CONNECT", .host = "hunter2.evil.test"});
  RedactOutcome(outcome, secrets);
  EXPECT_EQ(outcome.output["leak"], "[REDACTED:TOKEN]");
  EXPECT_EQ(outcome.stdout_stream.data, R"({"leak": "[REDACTED:TOKEN]"})");
  EXPECT_EQ(outcome.egress[0].host, "[REDACTED:TOKEN].evil.test");

  Error error = Error::Make(ErrorCode::kSandbox, "cannot start hunter2");
  RedactError(error, secrets);
  EXPECT_EQ(error.message, "cannot start [REDACTED:TOKEN]");
}

}  // namespace
}  // namespace skillrt
