// The bundled example skills (examples/skills/) load, validate strictly, and do what their
// SKILL.md says when run through the Engine in the real sandbox.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "http_test_server.h"
#include "skillrt/engine.h"
#include "skillrt/skill.h"
#include "test_util.h"
#include "skillrt/sha256.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::TempDir;
using ::skillrt::testing::WriteFile;

fs::path ExamplesDir() { return fs::path(SKILLRT_SOURCE_DIR) / "examples" / "skills"; }
fs::path ExampleSkill(const std::string& name) { return ExamplesDir() / name; }

const std::vector<std::string>& BundledSkills() {
  static const std::vector<std::string> kSkills = {"calculator",  "text-processor",
                                                   "data-analyzer", "file-digest",
                                                   "csv-tools",   "unit-converter",
                                                   "web-fetch",   "word-freq",
                                                   "web-fetch-container"};
  return kSkills;
}

std::string Join(const std::vector<Diagnostic>& diagnostics) {
  std::string out;
  for (const auto& d : diagnostics) out += d.ToString() + "\n";
  return out;
}

// --- Loading and validation --------------------------------------------------------------------

TEST(ExamplesTest, EveryBundledSkillIsListed) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(ExamplesDir())) {
    if (entry.is_directory()) on_disk.insert(entry.path().filename().string());
  }
  std::set<std::string> listed(BundledSkills().begin(), BundledSkills().end());
  // The WebAssembly examples, tested in tests/wasm_examples_test.cc, and those written in
  // Python and JavaScript, tested in tests/wasmlang/test_build.py.
  listed.insert({"number-stats", "csv-to-json", "slugify", "web-fetch-wasm", "csv-summary-py",
                 "text-stats-js"});
  EXPECT_EQ(on_disk, listed);
}

TEST(ExamplesTest, EveryBundledSkillLoadsAndValidates) {
  for (const std::string& name : BundledSkills()) {
    SCOPED_TRACE(name);
    auto skill = LoadSkill(ExampleSkill(name));
    ASSERT_TRUE(skill.has_value()) << skill.error().ToString();
    EXPECT_EQ(skill->meta.name, name);
    EXPECT_FALSE(skill->meta.description.empty());
    EXPECT_EQ(skill->meta.license, std::optional<std::string>("Apache-2.0"));
    EXPECT_GT(skill->meta.body.size(), 500u) << "SKILL.md needs real instructions";
    EXPECT_TRUE(skill->warnings.empty()) << Join(skill->warnings);
    EXPECT_EQ(skill->manifest.runtime, name == "word-freq" || name == "web-fetch-container"
                                           ? RuntimeKind::kContainer
                                           : RuntimeKind::kNative);
    // Only the web-fetch skills need the network, and each names its one destination.
    EXPECT_EQ(skill->manifest.capabilities.network, name.starts_with("web-fetch"));
    EXPECT_EQ(skill->tree_sha256.size(), 64u);

    const std::vector<Diagnostic> diagnostics = ValidateSkill(ExampleSkill(name));
    EXPECT_TRUE(diagnostics.empty()) << Join(diagnostics);
  }
}

TEST(ExamplesTest, ManifestsDeclareWhatTheSkillsUse) {
  auto calculator = LoadSkill(ExampleSkill("calculator"));
  ASSERT_TRUE(calculator.has_value()) << calculator.error().ToString();
  ASSERT_TRUE(calculator->manifest.entry.has_value());
  EXPECT_EQ(calculator->manifest.entry->argv,
            (std::vector<std::string>{"python3", "scripts/calc.py"}));
  ASSERT_TRUE(calculator->manifest.input_schema.has_value());
  EXPECT_EQ(calculator->manifest.input_schema->value("required", json::array()),
            json::array({"expression"}));
  EXPECT_FALSE(calculator->manifest.inferred);

  // The text processor keeps its schema inline in skill.toml.
  auto text = LoadSkill(ExampleSkill("text-processor"));
  ASSERT_TRUE(text.has_value()) << text.error().ToString();
  ASSERT_TRUE(text->manifest.input_schema.has_value());
  EXPECT_TRUE(text->manifest.input_schema->contains("properties"));

  // The bash skill lists every program it runs.
  auto digest = LoadSkill(ExampleSkill("file-digest"));
  ASSERT_TRUE(digest.has_value()) << digest.error().ToString();
  const auto& commands = digest->manifest.capabilities.commands;
  for (const char* command : {"bash", "wc", "sha256sum", "tr"}) {
    EXPECT_NE(std::find(commands.begin(), commands.end(), command), commands.end()) << command;
  }

  // The script-style skill has no entry point: exec only.
  auto csv = LoadSkill(ExampleSkill("csv-tools"));
  ASSERT_TRUE(csv.has_value()) << csv.error().ToString();
  EXPECT_FALSE(csv->manifest.entry.has_value());
  EXPECT_EQ(csv->manifest.capabilities.commands, std::vector<std::string>{"python3"});

  // No skill.toml: the manifest is inferred from the one script.
  auto units = LoadSkill(ExampleSkill("unit-converter"));
  ASSERT_TRUE(units.has_value()) << units.error().ToString();
  EXPECT_TRUE(units->manifest.inferred);
  ASSERT_TRUE(units->manifest.entry.has_value());
  EXPECT_EQ(units->manifest.entry->argv,
            (std::vector<std::string>{"python3", "scripts/convert.py"}));
  EXPECT_FALSE(fs::exists(ExampleSkill("unit-converter") / "skill.toml"));
  // Its script needs Python, which inference grants only to run the skill's own files.
  std::vector<std::string> interpreters;
  for (const InferredCommand& c : units->manifest.script_commands) {
    interpreters.push_back(c.command);
  }
  EXPECT_EQ(interpreters, (std::vector<std::string>{"python3", "python"}));
}

// --- Running through the engine -----------------------------------------------------------------

class ExamplesEngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    EngineOptions options;
    options.home = home_.path();
    // The web-fetch skills use the network, which the default policy asks about; as a user
    // would, the test's policy allows it for those skills alone.
    WriteFile(home_.path() / "policy.toml",
              "[[rule]]\nname = \"web-fetch\"\neffect = \"allow\"\n"
              "skills = [\"web-fetch\", \"web-fetch-container\"]\nnetwork = true\n");
    auto engine = Engine::Open(std::move(options));
    if (!engine) {
      if (engine.error().code == ErrorCode::kUnsupported) {
        GTEST_SKIP() << "no native sandbox on this kernel: " << engine.error().ToString();
      }
      FAIL() << "Engine::Open: " << engine.error().ToString();
    }
    engine_ = std::move(*engine);
  }

  Outcome Run(const std::string& skill, json input) {
    RunRequest request;
    request.skill = ExampleSkill(skill).string();
    request.input = std::move(input);
    auto outcome = engine_->Run(request);
    EXPECT_TRUE(outcome.has_value()) << skill << ": " << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
  }

  Outcome Exec(const std::string& skill, std::vector<std::string> argv) {
    ExecRequest request;
    request.skill = ExampleSkill(skill).string();
    request.argv = std::move(argv);
    auto outcome = engine_->Exec(request);
    EXPECT_TRUE(outcome.has_value()) << skill << ": " << outcome.error().ToString();
    return outcome ? *outcome : Outcome{};
  }

  static std::string Describe(const Outcome& o) {
    return OutcomeToJson(o).dump();
  }

  TempDir home_;
  std::unique_ptr<Engine> engine_;
};

TEST_F(ExamplesEngineTest, Calculator) {
  const Outcome outcome = Run("calculator", {{"expression", "2*(3+4)"}});
  EXPECT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  EXPECT_EQ(outcome.output, json({{"result", 14}})) << Describe(outcome);
  // The integer stays an integer in the JSON text as well.
  EXPECT_NE(outcome.stdout_stream.data.find("14}"), std::string::npos);

  const Outcome power = Run("calculator", {{"expression", "2**3**2 - -1"}});
  EXPECT_EQ(power.output, json({{"result", 513}})) << Describe(power);

  const Outcome error = Run("calculator", {{"expression", "1/0"}});
  EXPECT_EQ(error.status, Status::kError) << Describe(error);
  EXPECT_EQ(error.exit_code, std::optional<int>(1));
  EXPECT_NE(error.stdout_stream.data.find("division by zero"), std::string::npos)
      << Describe(error);

  const Outcome bomb = Run("calculator", {{"expression", "9**9**9"}});
  EXPECT_EQ(bomb.status, Status::kError) << Describe(bomb);
  EXPECT_NE(bomb.stdout_stream.data.find("exponent exceeds"), std::string::npos);
}

TEST_F(ExamplesEngineTest, CalculatorInputMustMatchItsSchema) {
  RunRequest request;
  request.skill = ExampleSkill("calculator").string();
  request.input = {{"expression", 42}};
  auto outcome = engine_->Run(request);
  ASSERT_FALSE(outcome.has_value());
  EXPECT_EQ(outcome.error().code, ErrorCode::kInvalidArgument) << outcome.error().ToString();
}

TEST_F(ExamplesEngineTest, TextProcessor) {
  const Outcome outcome =
      Run("text-processor", {{"text", "Hello world. Hello again!\nBye."},
                             {"operations", {"word_count", "line_count", "top_words",
                                             "sentences", "uppercase"}},
                             {"top_n", 1}});
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  EXPECT_EQ(outcome.output.value("word_count", -1), 5);
  EXPECT_EQ(outcome.output.value("line_count", -1), 2);
  EXPECT_EQ(outcome.output["top_words"], json::parse(R"([{"word": "hello", "count": 2}])"));
  EXPECT_EQ(outcome.output["sentences"],
            json({"Hello world.", "Hello again!", "Bye."}));
  EXPECT_EQ(outcome.output.value("uppercase", ""), "HELLO WORLD. HELLO AGAIN!\nBYE.");
}

TEST_F(ExamplesEngineTest, DataAnalyzerReadsItsBundledData) {
  const Outcome outcome =
      Run("data-analyzer", {{"path", "/skill/data/sample.csv"},
                            {"columns", {"units", "region"}}});
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  EXPECT_EQ(outcome.output.value("rows", -1), 30);
  const json& units = outcome.output["columns"]["units"];
  EXPECT_EQ(units.value("type", ""), "numeric");
  EXPECT_EQ(units.value("count", -1), 29);
  EXPECT_EQ(units.value("missing", -1), 1);
  EXPECT_EQ(outcome.output["columns"]["region"].value("distinct", -1), 4);

  const Outcome inline_csv = Run("data-analyzer", {{"csv", "x,y\n1,a\n3,b\n"}});
  ASSERT_EQ(inline_csv.status, Status::kOk) << Describe(inline_csv);
  EXPECT_EQ(inline_csv.output["columns"]["x"].value("mean", 0.0), 2.0);
}

TEST_F(ExamplesEngineTest, FileDigestInBash) {
  const Outcome outcome = Run("file-digest", {{"path", "data/pangram.txt"}});
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  const std::string content = ReadFile(ExampleSkill("file-digest") / "data" / "pangram.txt");
  ASSERT_FALSE(content.empty());
  EXPECT_EQ(outcome.output.value("sha256", ""), Sha256Hex(content));
  EXPECT_EQ(outcome.output.value("bytes", -1), static_cast<int>(content.size()));
  EXPECT_EQ(outcome.output.value("lines", -1), 2);

  // The host outside the sandbox is not visible to it.
  const Outcome hidden = Run("file-digest", {{"path", "/etc/shadow"}});
  EXPECT_EQ(hidden.status, Status::kError) << Describe(hidden);
  EXPECT_NE(hidden.stdout_stream.data.find("no such file"), std::string::npos)
      << Describe(hidden);
}

TEST_F(ExamplesEngineTest, UnitConverterWithAnInferredManifest) {
  const Outcome outcome = Run("unit-converter", {{"value", 100}, {"from", "C"}, {"to", "F"}});
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  EXPECT_EQ(outcome.output.value("result", json()), json(212));
  EXPECT_EQ(outcome.output.value("category", ""), "temperature");
}

TEST_F(ExamplesEngineTest, CsvToolsThroughExec) {
  const Outcome outcome =
      Exec("csv-tools", {"python3", "scripts/csvtool.py", "count", "data/cities.csv",
                         "continent"});
  ASSERT_EQ(outcome.status, Status::kOk) << Describe(outcome);
  const json counts = json::parse(outcome.stdout_stream.data, nullptr, false);
  ASSERT_TRUE(counts.is_array()) << outcome.stdout_stream.data;
  EXPECT_EQ(counts.at(0), json::parse(R"({"value": "Asia", "count": 4})"));

  const Outcome filtered = Exec("csv-tools", {"python3", "scripts/csvtool.py", "filter",
                                              "data/cities.csv", "population", ">", "15000000"});
  ASSERT_EQ(filtered.status, Status::kOk) << Describe(filtered);
  EXPECT_NE(filtered.stdout_stream.data.find("Shanghai"), std::string::npos);
  EXPECT_EQ(filtered.stdout_stream.data.find("Paris"), std::string::npos);

  // A data error is the tool's exit status 1, not a skillrt failure.
  const Outcome bad = Exec("csv-tools", {"python3", "scripts/csvtool.py", "count",
                                         "data/cities.csv", "nope"});
  EXPECT_EQ(bad.status, Status::kError) << Describe(bad);
  EXPECT_NE(bad.stderr_stream.data.find("unknown column"), std::string::npos);
}

TEST_F(ExamplesEngineTest, WordFreqInAContainer) {
  RunRequest request;
  request.skill = ExampleSkill("word-freq").string();
  request.input = {{"text", "The quick brown fox jumps over the lazy dog. The dog sleeps."},
                   {"top", 2}};
  auto outcome = engine_->Run(request);
  if (!outcome && (outcome.error().code == ErrorCode::kUnsupported ||
                   outcome.error().message.find("not in the local store") != std::string::npos)) {
    GTEST_SKIP() << "no container engine or image here: " << outcome.error().ToString();
  }
  ASSERT_TRUE(outcome.has_value()) << outcome.error().ToString();
  EXPECT_EQ(outcome->status, Status::kOk) << Describe(*outcome);
  EXPECT_EQ(outcome->output, json::parse(R"({"words": 12, "unique": 9, "top": [
      {"word": "the", "count": 3}, {"word": "dog", "count": 2}]})"))
      << Describe(*outcome);
  EXPECT_NE(std::find(outcome->layers.begin(), outcome->layers.end(), "cap-drop:ALL"),
            outcome->layers.end());

  // Bad input is the script's own error, reported as JSON with exit status 1.
  request.input = {{"text", "a"}, {"top", 0}};
  auto refused = engine_->Run(request);
  ASSERT_FALSE(refused.has_value()) << "the schema bounds top";
  EXPECT_EQ(refused.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(ExamplesEngineTest, WebFetchContainerReachesOnlyItsDeclaredHost) {
  // The example as shipped, with its one allowlist entry moved from the demo's port to this
  // test's server.
  ::skillrt::testing::HttpTestServer server("test");
  ASSERT_NE(server.port(), 0);
  const std::string port = std::to_string(server.port());
  TempDir skills;
  const fs::path dir = skills.path() / "web-fetch-container";
  fs::copy(ExampleSkill("web-fetch-container"), dir, fs::copy_options::recursive);
  ::chmod(skills.path().c_str(), 0755);  // The container's user reads the skill.
  std::string toml = ReadFile(dir / "skill.toml");
  const size_t at = toml.find("\"127.0.0.1:8765\"");
  ASSERT_NE(at, std::string::npos);
  toml.replace(at, 16, "\"127.0.0.1:" + port + "\"");
  WriteFile(dir / "skill.toml", toml);

  RunRequest request;
  request.skill = dir.string();
  request.input = {{"url", "http://127.0.0.1:" + port + "/a.txt"}};
  auto fetched = engine_->Run(request);
  if (!fetched && (fetched.error().code == ErrorCode::kUnsupported ||
                   fetched.error().message.find("not in the local store") != std::string::npos)) {
    GTEST_SKIP() << "no container engine, image or namespace privilege here: "
                 << fetched.error().ToString();
  }
  ASSERT_TRUE(fetched.has_value()) << fetched.error().ToString();
  EXPECT_EQ(fetched->status, Status::kOk) << Describe(*fetched);
  EXPECT_EQ(fetched->output, json::parse(R"({"url": "http://127.0.0.1:)" + port + R"(/a.txt",
      "ok": true, "status": 200, "bytes": 37, "truncated": false,
      "text": "hello from test: GET /a.txt HTTP/1.1\n"})")) << Describe(*fetched);
  ASSERT_EQ(fetched->egress.size(), 1u);
  EXPECT_TRUE(fetched->egress[0].allowed);
  EXPECT_NE(std::find(fetched->layers.begin(), fetched->layers.end(), "network:egress_proxy"),
            fetched->layers.end());

  for (const std::string& url : std::vector<std::string>{
           "http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
           "http://127.0.0.1:1/", "http://example.org/"}) {
    SCOPED_TRACE(url);
    request.input = {{"url", url}};
    auto refused = engine_->Run(request);
    ASSERT_TRUE(refused.has_value()) << refused.error().ToString();
    EXPECT_EQ(refused->status, Status::kOk) << Describe(*refused);
    EXPECT_EQ(refused->output.value("ok", true), false) << Describe(*refused);
    EXPECT_EQ(refused->output.value("status", 0), 403) << Describe(*refused);
    ASSERT_EQ(refused->egress.size(), 1u) << Describe(*refused);
    EXPECT_FALSE(refused->egress[0].allowed);
  }
  EXPECT_EQ(server.connections(), 1) << "a refused request reached the server";
}

TEST_F(ExamplesEngineTest, CsvToolsRefusesRunAndUndeclaredCommands) {
  // No [entry]: `run` is denied, not an error of skillrt.
  const Outcome run = Run("csv-tools", json::object());
  EXPECT_EQ(run.status, Status::kDenied) << Describe(run);

  const Outcome shell = Exec("csv-tools", {"bash", "-c", "id"});
  EXPECT_EQ(shell.status, Status::kDenied) << Describe(shell);
}

TEST_F(ExamplesEngineTest, WebFetchReachesOnlyItsDeclaredHost) {
  // The manifest allows 127.0.0.1:8765, where the demo serves the skill's data.
  ::skillrt::testing::HttpTestServer server("demo", /*echo=*/false, 8765);
  if (server.port() == 0) GTEST_SKIP() << "127.0.0.1:8765 is in use on this host";
  const Outcome fetched = Run("web-fetch", {{"url", "http://127.0.0.1:8765/hello.txt"}});
  EXPECT_EQ(fetched.status, Status::kOk) << Describe(fetched);
  EXPECT_EQ(fetched.output.value("ok", false), true) << Describe(fetched);
  EXPECT_EQ(fetched.output.value("status", 0), 200) << Describe(fetched);
  EXPECT_EQ(fetched.output.value("text", ""), "hello from demo: GET /hello.txt HTTP/1.1\n");
  ASSERT_EQ(fetched.egress.size(), 1u);
  EXPECT_TRUE(fetched.egress[0].allowed);

  for (const char* url : {"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                          "http://localhost:8765/hello.txt", "http://127.0.0.1:8766/",
                          "https://example.org/"}) {
    SCOPED_TRACE(url);
    const Outcome refused = Run("web-fetch", {{"url", url}});
    EXPECT_EQ(refused.status, Status::kOk) << Describe(refused);
    EXPECT_EQ(refused.output.value("ok", true), false) << Describe(refused);
    ASSERT_EQ(refused.egress.size(), 1u) << Describe(refused);
    EXPECT_FALSE(refused.egress[0].allowed);
  }
  EXPECT_EQ(server.connections(), 1) << "a refused request reached the server";
}

}  // namespace
}  // namespace skillrt
