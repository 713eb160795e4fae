// Secrets and instances through the built CLI (SKILLRT_CLI_PATH): a skill that tries to leak
// its secret through stdout, stderr and an error never gets the value into any output, the
// audit log, any file under $SKILLRT_HOME, or `info`/`list`; yet it did receive the value.
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::CliResult;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

// Prints its secret everywhere it can, and a hash of it as proof that it was received.
constexpr std::string_view kLeakScript = R"(import hashlib, json, os, sys
token = os.environ.get("API_TOKEN", "")
data = sys.stdin.read()
request = json.loads(data) if data.strip() else {}
digest = hashlib.sha256(token.encode()).hexdigest()
print("debug: token=" + token + " instance=" + os.environ.get("SKILLRT_INSTANCE", "-") +
      " level=" + os.environ.get("LOG_LEVEL", "-"), file=sys.stderr)
if request.get("fail"):
    raise RuntimeError("could not authenticate with " + token)
print(json.dumps({"token": token, "sha256": digest,
                  "instance": os.environ.get("SKILLRT_INSTANCE", ""),
                  "level": os.environ.get("LOG_LEVEL", ""),
                  "config": os.environ.get("SKILLRT_CONFIG", "")}))
)";

std::string RandomHex(size_t n) {
  std::random_device rd;
  std::string out;
  const char* digits = "0123456789abcdef";
  for (size_t i = 0; i < n; ++i) out += digits[rd() % 16];
  return out;
}

class SecretsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills.
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    env_secret_ = "envtok-" + RandomHex(24);
    file_secret_ = "filetok-" + RandomHex(24);
    ::setenv("SECRETS_CLI_TEST_TOKEN", env_secret_.c_str(), 1);
    secret_file_ = tmp_.path() / "secret-store/token";
    WriteFile(secret_file_, file_secret_ + "\n");
    const fs::path dir = skills_ / "leaky";
    WriteFile(dir / "SKILL.md",
              "---\nname: leaky\ndescription: Tries to leak its API token.\n---\n# Leaky\n");
    WriteFile(dir / "skill.toml", R"(
[entry]
argv = ["python3", "scripts/leak.py"]

[capabilities]
commands = ["python3"]

[limits]
wall_time_ms = 20000

[secrets]
API_TOKEN = { description = "token for the example API", required = true }
)");
    WriteFile(dir / "scripts/leak.py", kLeakScript);
    WriteInstances(R"(
[leaky]
default = "dev"

[leaky.dev]
env = { LOG_LEVEL = "debug" }
secrets = { API_TOKEN = "env:SECRETS_CLI_TEST_TOKEN" }

[leaky.prod]
env = { LOG_LEVEL = "warn" }
secrets = { API_TOKEN = "file:)" + secret_file_.string() + R"(" }
config = { region = "eu" }
[leaky.prod.limits]
wall_time_ms = 15000
)");
  }
  void TearDown() override { ::unsetenv("SECRETS_CLI_TEST_TOKEN"); }

  void WriteInstances(const std::string& text) {
    fs::create_directories(home_);
    WriteFile(home_ / "instances.toml", text);
    ::chmod((home_ / "instances.toml").c_str(), 0600);
  }

  CliResult Cli(const std::vector<std::string>& args, const std::string& stdin_data = "") {
    std::vector<std::string> all = {"--skills", skills_.string()};
    all.insert(all.end(), args.begin(), args.end());
    CliResult r = RunCli(tmp_.path(), home_, all, stdin_data);
    outputs_.push_back(r.out);
    outputs_.push_back(r.err);
    return r;
  }

  // Every file under `dir`, read whole.
  static std::vector<std::pair<fs::path, std::string>> FilesUnder(const fs::path& dir) {
    std::vector<std::pair<fs::path, std::string>> files;
    for (const auto& e : fs::recursive_directory_iterator(dir)) {
      if (e.is_regular_file()) files.emplace_back(e.path(), ReadFile(e.path()));
    }
    return files;
  }

  // The secret appears in no output seen so far and in no file under $SKILLRT_HOME.
  void ExpectNowhere(const std::string& secret) {
    for (const std::string& output : outputs_) {
      EXPECT_EQ(output.find(secret), std::string::npos) << output;
    }
    auto files = FilesUnder(home_);
    EXPECT_FALSE(files.empty());
    for (const auto& [path, content] : files) {
      EXPECT_EQ(content.find(secret), std::string::npos) << path;
    }
  }

  bool SandboxAvailable(const CliResult& r) {
    return r.err.find("user namespace") == std::string::npos && r.exit_code != 70;
  }

  TempDir tmp_;
  fs::path home_, skills_, secret_file_;
  std::string env_secret_, file_secret_;
  std::vector<std::string> outputs_;
};

TEST_F(SecretsCliTest, SecretValueNeverAppearsAnywhereButTheSkillGotIt) {
  CliResult ok = Cli({"run", "leaky", "--json"});
  if (!SandboxAvailable(ok)) GTEST_SKIP() << "no native sandbox here: " << ok.err;
  ASSERT_EQ(ok.exit_code, 0) << ok.out << ok.err;
  nlohmann::json j = nlohmann::json::parse(ok.out);
  // Positive control: the skill received the value (the default instance, dev, from env:).
  EXPECT_EQ(j["output"]["sha256"], Sha256Hex(env_secret_)) << ok.out;
  EXPECT_EQ(j["output"]["token"], "[REDACTED:API_TOKEN]");
  EXPECT_EQ(j["output"]["instance"], "dev");
  EXPECT_EQ(j["output"]["level"], "debug");
  EXPECT_NE(j["stderr"].get<std::string>().find("token=[REDACTED:API_TOKEN]"), std::string::npos);

  // Without --json: the output object and the skill's stderr go straight to the terminal.
  CliResult plain = Cli({"run", "leaky"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find(Sha256Hex(env_secret_)), std::string::npos);
  EXPECT_NE(plain.err.find("[REDACTED:API_TOKEN]"), std::string::npos) << plain.err;

  // An error message that quotes the secret: the traceback on stderr, exit 1.
  CliResult failed = Cli({"run", "leaky", "--input", "{\"fail\": true}"});
  EXPECT_EQ(failed.exit_code, 1) << failed.out << failed.err;
  EXPECT_NE(failed.err.find("could not authenticate with [REDACTED:API_TOKEN]"),
            std::string::npos)
      << failed.err;
  CliResult failed_json = Cli({"run", "leaky", "--json", "--input", "{\"fail\": true}"});
  EXPECT_EQ(failed_json.exit_code, 1);

  // exec gets the secret too, and the same redaction.
  CliResult exec = Cli({"exec", "leaky", "--json", "--", "python3", "scripts/leak.py"});
  ASSERT_EQ(exec.exit_code, 0) << exec.out << exec.err;
  EXPECT_NE(exec.out.find(Sha256Hex(env_secret_)), std::string::npos) << exec.out;

  // The file: reference of prod.
  CliResult prod = Cli({"run", "leaky@prod", "--json"});
  ASSERT_EQ(prod.exit_code, 0) << prod.out << prod.err;
  nlohmann::json p = nlohmann::json::parse(prod.out);
  EXPECT_EQ(p["output"]["sha256"], Sha256Hex(file_secret_));
  EXPECT_EQ(p["output"]["instance"], "prod");
  EXPECT_EQ(p["output"]["level"], "warn");
  EXPECT_EQ(p["output"]["config"], "{\"region\":\"eu\"}");
  EXPECT_EQ(p["output"]["token"], "[REDACTED:API_TOKEN]");

  // Everything else that shows a skill or the log.
  for (const std::vector<std::string>& args :
       std::vector<std::vector<std::string>>{{"info", "leaky"},
                                             {"info", "leaky", "--json"},
                                             {"info", "leaky@prod"},
                                             {"info", "leaky@prod", "--json"},
                                             {"list"},
                                             {"list", "--json"},
                                             {"audit", "tail", "-n", "50", "--json"},
                                             {"audit", "query", "--skill", "leaky"},
                                             {"lock", "leaky"},
                                             {"lock", "--check", "--json"}}) {
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << args[0] << ": " << r.err;
  }
  ExpectNowhere(env_secret_);
  ExpectNowhere(file_secret_);

  // The audit keeps the instance and the secret's name.
  std::vector<nlohmann::json> records;
  std::istringstream lines(ReadFile(home_ / "audit.log"));
  for (std::string line; std::getline(lines, line);) records.push_back(nlohmann::json::parse(line));
  ASSERT_GE(records.size(), 6u);
  const nlohmann::json& last_run = records[5];
  EXPECT_EQ(last_run["instance"], "prod") << last_run.dump();
  EXPECT_EQ(last_run["invocation"]["secrets"], nlohmann::json::array({"API_TOKEN"}));
  EXPECT_EQ(records[0]["instance"], "dev");
}

// Prints its token with JSON escapes (all of it, its first character only), upper-cased, and
// an escaped word that is not a secret, as the positive control.
constexpr std::string_view kEscapeScript = R"(import json, os, sys
token = os.environ["API_TOKEN"]
every = "".join("\\u%04x" % ord(c) for c in token)
first = "\\u%04x" % ord(token[0]) + token[1:]
sys.stdout.write('{"leak": "%s", "first": "%s", "upper": "%s", "ok": "\\u0068ello"}\n'
                 % (every, first, token.upper()))
sys.stderr.write('{"log": "%s"}\n' % every)
)";

// The escaped spelling of `s` that kEscapeScript prints.
std::string Escaped(const std::string& s) {
  std::string out;
  char buf[8];
  for (unsigned char c : s) {
    std::snprintf(buf, sizeof buf, "\\u%04x", c);
    out += buf;
  }
  return out;
}

TEST_F(SecretsCliTest, EscapedOrRecasedValuesAreRedactedToo) {
  const fs::path dir = skills_ / "escaper";
  WriteFile(dir / "SKILL.md",
            "---\nname: escaper\ndescription: Escapes its API token.\n---\n# Escaper\n");
  WriteFile(dir / "skill.toml", R"(
[entry]
argv = ["python3", "scripts/escape.py"]

[capabilities]
commands = ["python3"]

[secrets]
API_TOKEN = { description = "token for the example API", required = true }
)");
  WriteFile(dir / "scripts/escape.py", kEscapeScript);
  WriteInstances(R"(
[escaper.dev]
secrets = { API_TOKEN = "env:SECRETS_CLI_TEST_TOKEN" }
)");
  CliResult json_run = Cli({"run", "escaper@dev", "--json"});
  if (!SandboxAvailable(json_run)) GTEST_SKIP() << "no native sandbox here: " << json_run.err;
  ASSERT_EQ(json_run.exit_code, 0) << json_run.out << json_run.err;
  nlohmann::json j = nlohmann::json::parse(json_run.out);
  EXPECT_EQ(j["output"]["leak"], "[REDACTED:API_TOKEN]") << json_run.out;
  EXPECT_EQ(j["output"]["first"], "[REDACTED:API_TOKEN]");
  EXPECT_EQ(j["output"]["upper"], "[REDACTED:API_TOKEN]");
  EXPECT_EQ(j["output"]["ok"], "hello");  // Positive control: other escapes pass unchanged.
  EXPECT_NE(j["stdout"].get<std::string>().find("\\u0068ello"), std::string::npos);
  EXPECT_EQ(j["stderr"], "{\"log\": \"[REDACTED:API_TOKEN]\"}\n");

  // Plain `run` prints the parsed output: decoded, so the escapes would have been the value.
  CliResult plain = Cli({"run", "escaper@dev"});
  ASSERT_EQ(plain.exit_code, 0) << plain.err;
  EXPECT_NE(plain.out.find("\"leak\": \"[REDACTED:API_TOKEN]\""), std::string::npos) << plain.out;
  EXPECT_NE(plain.out.find("\"ok\": \"hello\""), std::string::npos) << plain.out;

  CliResult audit = Cli({"audit", "tail", "-n", "10", "--json"});
  EXPECT_EQ(audit.exit_code, 0) << audit.err;
  ExpectNowhere(env_secret_);
  std::string upper = env_secret_;
  for (char& c : upper) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  ExpectNowhere(upper);
  ExpectNowhere(Escaped(env_secret_));
  ExpectNowhere(Escaped(env_secret_.substr(0, 1)) + env_secret_.substr(1));
}

TEST_F(SecretsCliTest, MissingSecretIsAClearErrorBeforeAnythingRuns) {
  ::unsetenv("SECRETS_CLI_TEST_TOKEN");
  CliResult r = Cli({"run", "leaky"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("skill 'leaky': secret API_TOKEN: env reference: variable "
                       "SECRETS_CLI_TEST_TOKEN is not set"),
            std::string::npos)
      << r.err;
  fs::remove(secret_file_);
  r = Cli({"run", "leaky@prod"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("secret API_TOKEN: file reference: cannot open " + secret_file_.string()),
            std::string::npos)
      << r.err;
  // No instance at all: the secret has no reference.
  WriteInstances("");
  r = Cli({"run", "leaky"});
  EXPECT_EQ(r.exit_code, 2) << r.err;
  EXPECT_NE(r.err.find("secret API_TOKEN is required and has no reference"), std::string::npos)
      << r.err;
  // Nothing started: every record is a refusal.
  std::istringstream lines(ReadFile(home_ / "audit.log"));
  int records = 0;
  for (std::string line; std::getline(lines, line); ++records) {
    EXPECT_EQ(nlohmann::json::parse(line)["event"], "refusal") << line;
  }
  EXPECT_EQ(records, 3);
}

TEST_F(SecretsCliTest, InstancesSelectNarrowAndRefuseWidening) {
  CliResult unknown = Cli({"run", "leaky@staging"});
  EXPECT_EQ(unknown.exit_code, 2);
  EXPECT_NE(unknown.err.find("unknown instance 'staging' of skill 'leaky' (" +
                             (home_ / "instances.toml").string() + " defines: dev, prod)"),
            std::string::npos)
      << unknown.err;

  CliResult info = Cli({"info", "leaky@prod", "--json"});
  ASSERT_EQ(info.exit_code, 0) << info.err;
  nlohmann::json j = nlohmann::json::parse(info.out);
  EXPECT_EQ(j["manifest"]["limits"]["wall_time_ms"], 15000);  // Narrowed by prod.
  EXPECT_EQ(j["user"]["instance"]["name"], "prod");
  EXPECT_EQ(j["user"]["default_instance"], "dev");
  EXPECT_EQ(j["manifest"]["secrets"]["API_TOKEN"]["description"], "token for the example API");
  CliResult dev_info = Cli({"info", "leaky", "--json"});
  EXPECT_EQ(nlohmann::json::parse(dev_info.out)["manifest"]["limits"]["wall_time_ms"], 20000);

  WriteInstances(R"(
[leaky.wide]
secrets = { API_TOKEN = "env:SECRETS_CLI_TEST_TOKEN" }
[leaky.wide.limits]
wall_time_ms = 60000
[leaky.net]
capabilities = { commands = ["python3", "curl"] }
)");
  CliResult wide = Cli({"run", "leaky@wide"});
  EXPECT_EQ(wide.exit_code, 2);
  EXPECT_NE(wide.err.find("instances.toml: leaky.wide.limits.wall_time_ms: 60000 exceeds the "
                          "manifest's 20000"),
            std::string::npos)
      << wide.err;
  CliResult net = Cli({"exec", "leaky@net", "--", "python3", "-V"});
  EXPECT_EQ(net.exit_code, 2);
  EXPECT_NE(net.err.find("leaky.net.capabilities.commands[1]: 'curl' is not granted"),
            std::string::npos)
      << net.err;

  // A group-writable instances file is refused: others could redirect the secrets.
  ::chmod((home_ / "instances.toml").c_str(), 0660);
  CliResult loose = Cli({"run", "leaky@wide"});
  EXPECT_EQ(loose.exit_code, 3) << loose.err;
  EXPECT_NE(loose.err.find("writable by group or others"), std::string::npos) << loose.err;
}

}  // namespace
}  // namespace skillrt
