#include "skillrt/engine.h"

#include <stdlib.h>
#include <sys/stat.h>

#include <algorithm>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "fake_runtime.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::ReadFile;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills written here.
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
  }

  // The echo skill passes one host variable, which the default policy asks about: a user
  // policy allows it.
  void AllowTestEnv() {
    WriteFile(home_ / "policy.toml",
              "[[rule]]\nname = \"engine-test-env\"\neffect = \"allow\"\n"
              "env = [\"ENGINE_TEST_PASSED\"]\n");
  }

  void WriteSkill(const std::string& name, const std::string& toml, const std::string& script) {
    std::filesystem::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md",
              "---\nname: " + name + "\ndescription: A test skill.\n---\n# " + name + "\n");
    if (!toml.empty()) WriteFile(dir / "skill.toml", toml);
    if (!script.empty()) WriteFile(dir / "scripts" / "main.py", script);
  }

  // The skills run as host processes (FakeRuntime::RunsOnHost): these tests are about what
  // the engine does around a run; the sandbox has its own.
  std::unique_ptr<Engine> Open() {
    EngineOptions options;
    options.home = home_;
    options.skill_roots = {skills_};
    options.native_runtime = std::make_shared<testing::FakeRuntime>(
        testing::FakeRuntime::RunsOnHost());
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.has_value()) << engine.error().ToString();
    return engine ? std::move(*engine) : nullptr;
  }

  std::vector<nlohmann::json> Audit(Engine& engine) {
    auto records = engine.audit().Tail(1000);
    EXPECT_TRUE(records.has_value()) << records.error().ToString();
    return records ? *records : std::vector<nlohmann::json>{};
  }

  Outcome RunOrSkip(Engine& engine, const RunRequest& request) {
    auto outcome = engine.Run(request);
    EXPECT_TRUE(outcome.has_value()) << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
  }

  static RunRequest Request(const std::string& skill, nlohmann::json input = {}) {
    RunRequest request;
    request.skill = skill;
    request.input = input.is_null() ? nlohmann::json::object() : std::move(input);
    return request;
  }

  static ExecRequest ExecOf(const std::string& skill, std::vector<std::string> argv) {
    ExecRequest request;
    request.skill = skill;
    request.argv = std::move(argv);
    return request;
  }

  TempDir tmp_;
  std::filesystem::path skills_;
  std::filesystem::path home_;
};

constexpr char kEchoToml[] =
    "runtime = \"native\"\n"
    "[entry]\n"
    "argv = [\"python3\", \"scripts/main.py\"]\n"
    "input_schema = { type = \"object\", required = [\"n\"], properties = { n = { type = "
    "\"integer\" } } }\n"
    "[capabilities]\n"
    "commands = [\"python3\"]\n"
    "[capabilities.env]\n"
    "pass = [\"ENGINE_TEST_PASSED\"]\n"
    "[limits]\n"
    "wall_time_ms = 20000\n";

constexpr char kEchoScript[] =
    "import json, os, sys\n"
    "args = json.load(sys.stdin)\n"
    "print(json.dumps({'n': args['n'] * 2, 'secret': os.environ.get('HOST_SECRET'),\n"
    "                  'passed': os.environ.get('ENGINE_TEST_PASSED')}))\n";

TEST_F(EngineTest, OpenCreatesAPrivateHome) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  struct stat st{};
  ASSERT_EQ(::stat(home_.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_TRUE(std::filesystem::is_directory(home_ / "skills"));
  EXPECT_TRUE(std::filesystem::exists(home_ / "audit.log"));
  EXPECT_EQ(engine->home(), home_);
}

TEST_F(EngineTest, UnknownSkillIsNotFoundAndNotAudited) {
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  auto outcome = engine->Run(Request("no-such-skill"));
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(Audit(*engine).empty());
}

TEST_F(EngineTest, RefusalsAreOutcomesOrErrorsAndAlwaysAudited) {
  WriteSkill("echo", kEchoToml, kEchoScript);
  WriteSkill("tools", "runtime = \"native\"\n[capabilities]\ncommands = [\"python3\"]\n", "");
  // /var/log passes the manifest's checks but not the container launch policy.
  WriteSkill("boxed",
             "runtime = \"container\"\n[container]\nimage = \"localhost/none:1\"\n"
             "command = [\"sh\"]\n[capabilities]\nread = [\"/var/log\"]\n",
             "");
  auto engine = Open();
  ASSERT_NE(engine, nullptr);

  // 1. A command the manifest does not list: a denied Outcome.
  auto denied = engine->Exec(ExecOf("echo", {"sh", "-c", "id"}));
  ASSERT_TRUE(denied.has_value()) << denied.error().ToString();
  EXPECT_EQ(denied->status, Status::kDenied);
  EXPECT_EQ(denied->skill, "echo");
  EXPECT_FALSE(denied->run_id.empty());
  EXPECT_NE(denied->message.find("command 'sh' is not allowed"), std::string::npos);

  // 2. No entry point: denied.
  auto no_entry = engine->Run(Request("tools"));
  ASSERT_TRUE(no_entry.has_value());
  EXPECT_EQ(no_entry->status, Status::kDenied);
  EXPECT_EQ(no_entry->message, "skill 'tools' has no entry point; use exec");

  // 3. Input not matching the schema: an Error naming the input.
  auto bad_input = engine->Run(Request("echo", {{"n", "two"}}));
  ASSERT_FALSE(bad_input.has_value());
  EXPECT_EQ(bad_input.error().code, ErrorCode::kInvalidArgument);
  EXPECT_EQ(bad_input.error().message.rfind("input", 0), 0u) << bad_input.error().message;

  // 4. A widening override.
  RunRequest wide = Request("echo", {{"n", 1}});
  wide.overrides.wall_time = std::chrono::minutes(5);
  auto widened = engine->Run(wide);
  ASSERT_FALSE(widened.has_value());
  EXPECT_EQ(widened.error().code, ErrorCode::kInvalidArgument);

  // 5. A container launch the policy refuses: denied before any engine is involved.
  auto boxed = engine->Run(Request("boxed"));
  ASSERT_TRUE(boxed.has_value()) << boxed.error().ToString();
  EXPECT_EQ(boxed->status, Status::kDenied);
  EXPECT_NE(boxed->message.find("capabilities.read: '/var/log' is or lies under '/var/log'"),
            std::string::npos)
      << boxed->message;

  std::vector<nlohmann::json> records = Audit(*engine);
  ASSERT_EQ(records.size(), 5u);
  for (const auto& r : records) {
    EXPECT_EQ(r["event"], "refusal") << r.dump();
    for (const char* key : {"run_id", "time", "kind", "skill", "skill_dir", "tree_sha256",
                            "invocation", "sandbox_level", "limits", "status", "message"}) {
      EXPECT_TRUE(r.contains(key)) << key << " in " << r.dump();
    }
  }
  EXPECT_EQ(records[0]["kind"], "exec");
  EXPECT_EQ(records[0]["status"], "denied");
  EXPECT_EQ(records[0]["run_id"], denied->run_id);
  EXPECT_EQ(records[0]["invocation"]["argv"], nlohmann::json::array({"sh", "-c", "id"}));
  EXPECT_EQ(records[1]["status"], "denied");
  EXPECT_EQ(records[2]["status"], "error");
  EXPECT_EQ(records[2]["error_code"], "invalid_argument");
  EXPECT_EQ(records[4]["status"], "denied");
  EXPECT_EQ(records[2]["invocation"]["input_bytes"], std::string("{\"n\":\"two\"}").size());
  // The input is recorded by hash only.
  EXPECT_EQ(ReadFile(home_ / "audit.log").find("two"), std::string::npos);
}

TEST_F(EngineTest, RunParsesOutputAndAuditsWithoutValues) {
  AllowTestEnv();
  WriteSkill("echo", kEchoToml, kEchoScript);
  ::setenv("HOST_SECRET", "hunter2", 1);
  ::setenv("ENGINE_TEST_PASSED", "passed-value", 1);
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  Outcome outcome = RunOrSkip(*engine, Request("echo", {{"n", 21}}));
  ::unsetenv("HOST_SECRET");
  ::unsetenv("ENGINE_TEST_PASSED");

  EXPECT_EQ(outcome.status, Status::kOk) << outcome.message << outcome.stderr_stream.data;
  EXPECT_EQ(outcome.skill, "echo");
  EXPECT_EQ(outcome.output["n"], 42);
  EXPECT_TRUE(outcome.output["secret"].is_null()) << "an undeclared host variable leaked";
  EXPECT_EQ(outcome.output["passed"], "passed-value");

  std::vector<nlohmann::json> records = Audit(*engine);
  ASSERT_EQ(records.size(), 1u);
  const nlohmann::json& r = records[0];
  EXPECT_EQ(r["event"], "run");
  EXPECT_EQ(r["kind"], "run");
  EXPECT_EQ(r["status"], "ok");
  EXPECT_EQ(r["run_id"], outcome.run_id);
  EXPECT_EQ(r["exit_code"], 0);
  EXPECT_EQ(r["limits"]["wall_time_ms"], 20000);
  EXPECT_EQ(r["sandbox_level"], "strict");
  nlohmann::json env = r["invocation"]["env"];
  EXPECT_NE(std::find(env.begin(), env.end(), "ENGINE_TEST_PASSED"), env.end());
  std::string log = ReadFile(home_ / "audit.log");
  EXPECT_EQ(log.find("passed-value"), std::string::npos) << "an env value was recorded";
  EXPECT_EQ(log.find("hunter2"), std::string::npos);
}

TEST_F(EngineTest, TextOrMixedStdoutLeavesOutputNullAndStatusOk) {
  WriteSkill("chatty",
             "[entry]\nargv = [\"python3\", \"scripts/main.py\"]\n"
             "[capabilities]\ncommands = [\"python3\"]\n",
             "print('progress...')\nprint('{\"n\": 1}')\n");
  WriteSkill("texty",
             "[entry]\nargv = [\"python3\", \"scripts/main.py\"]\noutput = \"text\"\n"
             "[capabilities]\ncommands = [\"python3\"]\n",
             "print('{\"n\": 1}')\n");
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  Outcome chatty = RunOrSkip(*engine, Request("chatty"));
  EXPECT_EQ(chatty.status, Status::kOk);
  EXPECT_TRUE(chatty.output.is_null());
  EXPECT_EQ(chatty.stdout_stream.data, "progress...\n{\"n\": 1}\n");

  Outcome texty = RunOrSkip(*engine, Request("texty"));
  EXPECT_EQ(texty.status, Status::kOk);
  EXPECT_TRUE(texty.output.is_null());
}

TEST_F(EngineTest, ConcurrentRunsEachGetOneAuditRecord) {
  AllowTestEnv();
  WriteSkill("echo", kEchoToml, kEchoScript);
  auto engine = Open();
  ASSERT_NE(engine, nullptr);
  constexpr int kThreads = 4;
  std::vector<Result<Outcome>> results(kThreads, Fail(ErrorCode::kInternal, "not run"));
  std::vector<std::thread> threads;
  for (int i = 0; i < kThreads; ++i) {
    threads.emplace_back([&, i] { results[i] = engine->Run(Request("echo", {{"n", i}})); });
  }
  for (auto& thread : threads) thread.join();
  std::set<std::string> ids;
  for (int i = 0; i < kThreads; ++i) {
    ASSERT_TRUE(results[i].has_value()) << results[i].error().ToString();
    EXPECT_EQ(results[i]->status, Status::kOk);
    EXPECT_EQ(results[i]->output["n"], 2 * i);
    ids.insert(results[i]->run_id);
  }
  EXPECT_EQ(ids.size(), static_cast<size_t>(kThreads));
  EXPECT_EQ(Audit(*engine).size(), static_cast<size_t>(kThreads));
}

}  // namespace
}  // namespace skillrt

namespace skillrt {
namespace {

class EngineGateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);
    skills_ = tmp_.path() / "skills";
    home_ = tmp_.path() / "home";
    const std::filesystem::path dir = skills_ / "sorter";
    testing::WriteFile(dir / "SKILL.md", "---\nname: sorter\ndescription: Sorts.\n---\n# S\n");
    testing::WriteFile(dir / "skill.toml",
                       "[capabilities]\ncommands = [\"sort\", \"cat\"]\n[limits]\n"
                       "wall_time_ms = 20000\n");
  }

  std::unique_ptr<Engine> Open(bool require_lock) {
    EngineOptions options;
    options.home = home_;
    options.skill_roots = {skills_};
    options.native_runtime = std::make_shared<testing::FakeRuntime>(
        testing::FakeRuntime::RunsOnHost());
    options.require_lock = require_lock;
    auto engine = Engine::Open(std::move(options));
    EXPECT_TRUE(engine.has_value()) << engine.error().ToString();
    return engine ? std::move(*engine) : nullptr;
  }

  static ExecRequest Exec(const std::string& skill, std::vector<std::string> argv) {
    ExecRequest request;
    request.skill = skill;
    request.argv = std::move(argv);
    return request;
  }

  testing::TempDir tmp_;
  std::filesystem::path skills_, home_;
};

TEST_F(EngineGateTest, RequireLockOptionRefusesUnlockedSkillsAndAuditsIt) {
  auto engine = Open(/*require_lock=*/true);
  ASSERT_NE(engine, nullptr);
  auto outcome = engine->Exec(Exec("sorter", {"sort", "--version"}));
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kDenied);
  EXPECT_NE(outcome->message.find("is not locked"), std::string::npos) << outcome->message;
  auto records = engine->audit().Tail(10);
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0]["event"], "refusal");
  EXPECT_EQ((*records)[0]["status"], "denied");
}

TEST_F(EngineGateTest, InstanceNarrowsExecCommandsAndIsAudited) {
  std::filesystem::create_directories(home_);
  testing::WriteFile(home_ / "instances.toml",
                     "[sorter.prod]\ncapabilities = { commands = [\"sort\"] }\n");
  ::chmod((home_ / "instances.toml").c_str(), 0600);
  auto engine = Open(false);
  ASSERT_NE(engine, nullptr);
  auto narrowed = engine->Exec(Exec("sorter@prod", {"cat", "SKILL.md"}));
  ASSERT_TRUE(narrowed.has_value()) << narrowed.error().ToString();
  EXPECT_EQ(narrowed->status, Status::kDenied);
  EXPECT_NE(narrowed->message.find("'cat'"), std::string::npos) << narrowed->message;
  auto records = engine->audit().Tail(10);
  ASSERT_TRUE(records.has_value());
  ASSERT_EQ(records->size(), 1u);
  EXPECT_EQ((*records)[0]["instance"], "prod");

  // Positive control: without the instance, cat is granted by the manifest.
  auto plain = engine->Exec(Exec("sorter", {"cat", "SKILL.md"}));
  ASSERT_TRUE(plain.has_value()) << plain.error().ToString();
  EXPECT_EQ(plain->status, Status::kOk) << plain->message << plain->stderr_stream.data;
  EXPECT_NE(plain->stdout_stream.data.find("name: sorter"), std::string::npos);
}

}  // namespace
}  // namespace skillrt
