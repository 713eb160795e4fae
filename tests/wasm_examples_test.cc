// The WebAssembly example skills (examples/skills/{number-stats,csv-to-json,slugify,
// web-fetch-wasm}), built from source by scripts/build-wasm.sh, validate strictly and return
// what their SKILL.md promises when run end to end through `skillrt run --json`.
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "http_test_server.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using nlohmann::json;
using ::skillrt::testing::CliResult;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::RunCli;
using ::skillrt::testing::TempDir;

const fs::path kSkills = fs::path(SKILLRT_SOURCE_DIR) / "examples" / "skills";

class WasmExamplesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    const fs::path unavailable = fs::path(SKILLRT_WASM_PROBE_DIR) / "UNAVAILABLE";
    if (fs::exists(unavailable)) {
      GTEST_SKIP() << "WebAssembly toolchain missing: " << ReadFile(unavailable);
    }
    for (const char* module : {"number-stats/scripts/stats.wasm",
                               "csv-to-json/scripts/csv2json.wasm",
                               "slugify/scripts/slugify.wasm",
                               "web-fetch-wasm/scripts/fetch.wasm"}) {
      ASSERT_TRUE(fs::exists(kSkills / module))
          << kSkills / module << " is missing: run scripts/build-wasm.sh";
    }
  }

  // `skillrt --skills SKILLS run SKILL --json --input INPUT`; returns the outcome.
  json Run(const std::string& skill, const std::string& input, const fs::path& skills = kSkills) {
    last_ = RunCli(tmp_.path(), tmp_.path() / "home",
                   {"--skills", skills.string(), "run", skill, "--json", "--input", input});
    json outcome = json::parse(last_.out, nullptr, /*allow_exceptions=*/false);
    return outcome.is_discarded() ? json() : outcome;
  }

  // The output object of a run that must succeed.
  json RunOk(const std::string& skill, const std::string& input) {
    const json outcome = Run(skill, input);
    EXPECT_EQ(outcome.value("status", ""), "ok") << Describe();
    EXPECT_EQ(last_.exit_code, 0) << Describe();
    return outcome.is_object() ? outcome.value("output", json()) : json();
  }

  std::string Describe() const {
    return "exit " + std::to_string(last_.exit_code) + "\nstdout: " + last_.out +
           "\nstderr: " + last_.err;
  }

  TempDir tmp_;
  CliResult last_;
};

TEST_F(WasmExamplesTest, SkillsValidateStrictly) {
  for (const char* skill : {"number-stats", "csv-to-json", "slugify", "web-fetch-wasm"}) {
    SCOPED_TRACE(skill);
    const CliResult r =
        RunCli(tmp_.path(), tmp_.path() / "home", {"validate", (kSkills / skill).string()});
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    EXPECT_NE(r.out.find("valid"), std::string::npos) << r.out << r.err;
  }
}

TEST_F(WasmExamplesTest, NumberStatsComputesStatistics) {
  const json out = RunOk("number-stats", R"({"numbers": [2, 4, 4, 4, 5, 5, 7, 9],
                                             "percentiles": [10, 90]})");
  EXPECT_EQ(out["count"], 8) << Describe();
  EXPECT_EQ(out["sum"], 40);
  EXPECT_EQ(out["mean"], 5);
  EXPECT_EQ(out["median"], 4.5);
  EXPECT_EQ(out["min"], 2);
  EXPECT_EQ(out["max"], 9);
  EXPECT_EQ(out["range"], 7);
  EXPECT_NEAR(out.value("variance", 0.0), 32.0 / 7.0, 1e-12);
  EXPECT_NEAR(out.value("stddev", 0.0), 2.138089935299395, 1e-12);
  EXPECT_NEAR(out["percentiles"].value("10", 0.0), 3.4, 1e-12);
  EXPECT_NEAR(out["percentiles"].value("90", 0.0), 7.6, 1e-12);
}

TEST_F(WasmExamplesTest, NumberStatsReadsAFileFromItsDirectory) {
  const json out = RunOk("number-stats", R"({"path": "/skill/data/temperatures.txt"})");
  EXPECT_EQ(out["count"], 8) << Describe();
  EXPECT_EQ(out["mean"], 11.84375);
  EXPECT_EQ(out["min"], 8.25);
  EXPECT_EQ(out["max"], 15.5);
  EXPECT_EQ(out["percentiles"]["50"], out["median"]);
}

TEST_F(WasmExamplesTest, NumberStatsReportsBadInput) {
  const json outcome = Run("number-stats", R"({"numbers": []})");
  EXPECT_EQ(outcome.value("status", ""), "error") << Describe();
  EXPECT_EQ(outcome.value("exit_code", -1), 1) << Describe();
  EXPECT_NE(outcome.value("stdout", "").find("no numbers given"), std::string::npos)
      << Describe();
  // Outside the preopens there is nothing to read.
  const json escape = Run("number-stats", R"({"path": "/etc/passwd"})");
  EXPECT_EQ(escape.value("status", ""), "error") << Describe();
  EXPECT_EQ(escape.value("stdout", "").find("root:"), std::string::npos) << Describe();
}

TEST_F(WasmExamplesTest, CsvToJsonConvertsTheBundledFile) {
  const json out = RunOk("csv-to-json", R"({"path": "/skill/data/planets.csv"})");
  EXPECT_EQ(out["columns"], json::array({"name", "moons", "radius_km", "ringed"})) << Describe();
  EXPECT_EQ(out["row_count"], 8);
  ASSERT_EQ(out["rows"].size(), 8u) << Describe();
  EXPECT_EQ(out["rows"][4], json::parse(R"({"name": "Jupiter", "moons": 95,
                                            "radius_km": 69911, "ringed": true})"));
  EXPECT_EQ(out["types"], json::parse(R"({"name": "string", "moons": "integer",
                                          "radius_km": "number", "ringed": "boolean"})"));
}

TEST_F(WasmExamplesTest, CsvToJsonConvertsInlineText) {
  const json out = RunOk("csv-to-json",
                         R"({"csv": "city;pop\nOslo;709000\n\"Bergen; Vestland\";\n",
                             "delimiter": ";", "limit": 1})");
  EXPECT_EQ(out["row_count"], 2) << Describe();
  EXPECT_EQ(out["rows"], json::parse(R"([{"city": "Oslo", "pop": 709000}])"));
  EXPECT_EQ(out["types"]["pop"], "integer");
  const json bad = Run("csv-to-json", R"({"csv": "a,b\n\"open,1\n"})");
  EXPECT_EQ(bad.value("status", ""), "error") << Describe();
  EXPECT_NE(bad.value("stderr", "").find("csv"), std::string::npos) << Describe();
}

TEST_F(WasmExamplesTest, SlugifyComponentReturnsItsResult) {
  json out = RunOk("slugify", R"({"text": "Crème Brûlée: the ÜBER guide — don't panic!"})");
  EXPECT_EQ(out, json::parse(R"({"slug": "creme-brulee-the-uber-guide-dont-panic",
                                 "truncated": false})")) << Describe();
  out = RunOk("slugify", R"({"text": "Straße nach Łódź", "separator": "_"})");
  EXPECT_EQ(out["slug"], "strasse_nach_lodz") << Describe();
  out = RunOk("slugify", R"({"text": "Hello wonderful world of slugs", "max_length": 17})");
  EXPECT_EQ(out, json::parse(R"({"slug": "hello-wonderful", "truncated": true})")) << Describe();
}

TEST_F(WasmExamplesTest, SlugifyErrIsStatusErrorWithItsMessage) {
  const json outcome = Run("slugify", R"({"text": "x", "separator": "ab"})");
  EXPECT_EQ(outcome.value("status", ""), "error") << Describe();
  EXPECT_EQ(outcome.value("message", ""), "separator: only ASCII punctuation is allowed")
      << Describe();
  EXPECT_NE(last_.exit_code, 0) << Describe();
}

TEST_F(WasmExamplesTest, WebFetchWasmReachesOnlyItsDeclaredHost) {
  // The example as shipped, with its one allowlist entry moved from the demo's port to this
  // test's server (so that tests running at once never compete for a fixed port).
  ::skillrt::testing::HttpTestServer server("test");
  ASSERT_NE(server.port(), 0);
  const std::string port = std::to_string(server.port());
  const fs::path skills = tmp_.path() / "skills";
  fs::create_directories(skills);
  fs::copy(kSkills / "web-fetch-wasm", skills / "web-fetch-wasm", fs::copy_options::recursive);
  const fs::path manifest = skills / "web-fetch-wasm" / "skill.toml";
  std::string toml = ReadFile(manifest);
  const size_t at = toml.find("\"127.0.0.1:8765\"");
  ASSERT_NE(at, std::string::npos) << toml;
  toml.replace(at, 16, "\"127.0.0.1:" + port + "\"");
  ::skillrt::testing::WriteFile(manifest, toml);
  // The network needs the user's consent; this user's policy gives it for this skill.
  ::skillrt::testing::WriteFile(tmp_.path() / "home" / "policy.toml",
                                "[[rule]]\nname = \"fetch\"\neffect = \"allow\"\n"
                                "skills = [\"web-fetch-wasm\"]\nnetwork = true\n");

  json outcome = Run("web-fetch-wasm", R"({"url": "http://127.0.0.1:)" + port + R"(/a.txt"})",
                     skills);
  ASSERT_EQ(outcome.value("status", ""), "ok") << Describe();
  EXPECT_EQ(outcome["output"], json::parse(R"({"url": "http://127.0.0.1:)" + port + R"(/a.txt",
      "ok": true, "status": 200, "content_type": "text/plain", "bytes": 37, "truncated": false,
      "text": "hello from test: GET /a.txt HTTP/1.1\n"})")) << Describe();
  ASSERT_EQ(outcome["egress"].size(), 1u) << Describe();
  EXPECT_EQ(outcome["egress"][0]["decision"], "allowed");
  outcome = Run("web-fetch-wasm",
                R"({"url": "http://127.0.0.1:)" + port + R"(/a.txt", "max_bytes": 5})", skills);
  EXPECT_EQ(outcome["output"].value("text", ""), "hello") << Describe();
  EXPECT_EQ(outcome["output"].value("truncated", false), true) << Describe();

  // Undeclared hosts and ports, the metadata address, a private address: refused before any
  // connection, reported as the skill's answer and recorded.
  for (const std::string& url : std::vector<std::string>{"http://169.254.169.254/latest/meta-data/", "http://10.0.0.1/",
                                "https://10.0.0.1/", "http://localhost:" + port + "/",
                                "http://127.0.0.1:1/", "https://example.org/"}) {
    SCOPED_TRACE(url);
    outcome = Run("web-fetch-wasm", R"({"url": ")" + url + R"("})", skills);
    EXPECT_EQ(outcome.value("status", ""), "ok") << Describe();
    EXPECT_EQ(outcome["output"].value("ok", true), false) << Describe();
    EXPECT_EQ(outcome["output"].value("error", "").rfind("egress refused: ", 0), 0u)
        << Describe();
    ASSERT_EQ(outcome["egress"].size(), 1u) << Describe();
    EXPECT_EQ(outcome["egress"][0]["decision"], "refused");
  }
  EXPECT_EQ(server.connections(), 2) << "a refused request reached the server";

  // Input the manifest's schema refuses never reaches the module.
  (void)Run("web-fetch-wasm", R"({"url": "ftp://example.org/"})", skills);
  EXPECT_NE(last_.exit_code, 0) << Describe();
  EXPECT_NE(last_.err.find("input at /url"), std::string::npos) << Describe();
}

}  // namespace
}  // namespace skillrt
