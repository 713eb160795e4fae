// End-to-end tests of the skillrt command line: the built binary (SKILLRT_CLI_PATH) runs as
// a subprocess with a private SKILLRT_HOME, on skills written by the tests.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

using skillrt::testing::CliResult;
using skillrt::testing::Lines;
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class CliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The sandbox's user must be able to read the skills the tests write.
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    std::filesystem::create_directories(skills_);
  }

  // Runs the CLI with `args` and `stdin_data` (tests/cli_runner.h).
  CliResult Cli(const std::vector<std::string>& args, const std::string& stdin_data = "") {
    return RunCli(tmp_.path(), home_, args, stdin_data);
  }

  // A skill whose entry point reads {"a": x, "b": y} on stdin and prints {"sum": x + y}.
  std::filesystem::path WriteAdder(const std::string& name = "adder") {
    std::filesystem::path dir = skills_ / name;
    WriteFile(dir / "SKILL.md", "---\nname: " + name +
                                    "\ndescription: Adds two numbers given as a and b.\n---\n"
                                    "# Adder\n\nRun it with {\"a\": 1, \"b\": 2}.\n");
    WriteFile(dir / "skill.toml",
              "runtime = \"native\"\n"
              "\n"
              "[entry]\n"
              "argv = [\"python3\", \"scripts/add.py\"]\n"
              "input = \"stdin\"\n"
              "output = \"json\"\n"
              "\n"
              "[capabilities]\n"
              "commands = [\"python3\"]\n"
              "\n"
              "[limits]\n"
              "wall_time_ms = 10000\n"
              "memory_mb = 128\n");
    WriteFile(dir / "scripts" / "add.py",
              "import json, sys\n"
              "args = json.load(sys.stdin)\n"
              "print(json.dumps({\"sum\": args.get(\"a\", 0) + args.get(\"b\", 0)}))\n");
    return dir;
  }

  std::string Skills() const { return skills_.string(); }

  TempDir tmp_;
  std::filesystem::path home_;
  std::filesystem::path skills_;
};

TEST_F(CliTest, ValidateAcceptsAGoodSkill) {
  std::filesystem::path dir = WriteAdder();
  CliResult r = Cli({"validate", dir.string()});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_NE(r.out.find("valid"), std::string::npos) << r.out;

  r = Cli({"validate", "--json", dir.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(j[0]["valid"].get<bool>());
}

TEST_F(CliTest, ValidateReportsFileAndLineOfABadSkill) {
  std::filesystem::path dir = skills_ / "broken";
  // Line 2 holds a name that breaks the specification (upper case, underscore).
  WriteFile(dir / "SKILL.md", "---\nname: Broken_Skill\ndescription: Broken.\n---\n# Broken\n");
  CliResult r = Cli({"validate", dir.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find((dir / "SKILL.md").string() + ":2:"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("error"), std::string::npos) << r.out;

  r = Cli({"validate", "--json", dir.string()});
  EXPECT_EQ(r.exit_code, 1);
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_FALSE(j[0]["valid"].get<bool>());
  ASSERT_FALSE(j[0]["diagnostics"].empty());
  EXPECT_EQ(j[0]["diagnostics"][0]["severity"], "error");
  EXPECT_EQ(j[0]["diagnostics"][0]["line"], 2);
}

TEST_F(CliTest, ValidateADirectoryOfSkillsChecksEachOne) {
  WriteAdder("adder");
  WriteFile(skills_ / "broken" / "SKILL.md", "---\nname: broken\n---\n");  // No description.
  CliResult r = Cli({"validate", "--json", Skills()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u) << j.dump(2);
  int valid = 0;
  for (const auto& item : j) valid += item["valid"].get<bool>() ? 1 : 0;
  EXPECT_EQ(valid, 1);
}

TEST_F(CliTest, ListJsonDescribesEachSkill) {
  std::filesystem::path dir = WriteAdder();
  CliResult r = Cli({"--skills", Skills(), "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_TRUE(j.is_array());
  ASSERT_EQ(j.size(), 1u);
  EXPECT_EQ(j[0]["name"], "adder");
  EXPECT_EQ(j[0]["description"], "Adds two numbers given as a and b.");
  EXPECT_EQ(j[0]["path"], std::filesystem::canonical(dir).string());
  EXPECT_EQ(j[0]["runtime"], "native");
  EXPECT_TRUE(j[0]["has_entry"].get<bool>());
}

TEST_F(CliTest, InfoShowsManifestAndTreeHash) {
  WriteAdder();
  CliResult r = Cli({"--skills", Skills(), "info", "adder"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("adder"), std::string::npos);
  EXPECT_NE(r.out.find("python3 scripts/add.py"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("10 s"), std::string::npos) << r.out;

  r = Cli({"--skills", Skills(), "info", "--json", "adder"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "adder");
  EXPECT_EQ(j["tree_sha256"].get<std::string>().size(), 64u);
  EXPECT_EQ(j["manifest"]["limits"]["wall_time_ms"], 10000);
  EXPECT_EQ(j["manifest"]["capabilities"]["commands"], nlohmann::json::array({"python3"}));
}

TEST_F(CliTest, BadInputJsonIsOneLineNamingTheFlag) {
  WriteAdder();
  CliResult r = Cli({"--skills", Skills(), "run", "adder", "--input", "{\"a\": 1,"});
  EXPECT_EQ(r.exit_code, 2);
  std::vector<std::string> lines = Lines(r.err);
  ASSERT_EQ(lines.size(), 1u) << r.err;
  EXPECT_EQ(lines[0].rfind("skillrt: --input: invalid JSON at byte", 0), 0u) << lines[0];
  EXPECT_TRUE(r.out.empty());
}

TEST_F(CliTest, UnknownSkillIsAUsageError) {
  CliResult r = Cli({"--skills", Skills(), "run", "no-such-skill"});
  EXPECT_EQ(r.exit_code, 2);
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("no-such-skill"), std::string::npos);
}

TEST_F(CliTest, RunPrintsTheSkillsOutput) {
  WriteAdder();
  CliResult r =
      Cli({"--skills", Skills(), "run", "adder", "--input", "{\"a\": 2, \"b\": 40}", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["exit_code"], 0);
  EXPECT_EQ(j["output"]["sum"], 42);
  EXPECT_EQ(j["skill"], "adder");
  EXPECT_FALSE(j["run_id"].get<std::string>().empty());

  // Without --json: the output object, pretty-printed. The input may come from stdin.
  r = Cli({"--skills", Skills(), "run", "adder", "--input", "-"}, "{\"a\": 1, \"b\": 1}");
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["sum"], 2);
}

TEST_F(CliTest, ExecOfAnUnlistedCommandIsDenied) {
  WriteAdder();
  CliResult r = Cli({"--skills", Skills(), "exec", "adder", "--json", "--", "sh", "-c", "id"});
  EXPECT_EQ(r.exit_code, 3) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "denied");
  EXPECT_NE(j["message"].get<std::string>().find("'sh'"), std::string::npos);

  // The positive control: a listed command runs.
  r = Cli({"--skills", Skills(), "exec", "adder", "--json", "--", "python3", "-c", "print(7)"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["stdout"], "7\n");
}

TEST_F(CliTest, TimeoutBeyondTheManifestIsRefused) {
  WriteAdder();
  CliResult r = Cli({"--skills", Skills(), "run", "adder", "--timeout", "60"});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  ASSERT_EQ(Lines(r.err).size(), 1u) << r.err;
  EXPECT_NE(r.err.find("--timeout"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("wall_time_ms 10000"), std::string::npos) << r.err;
}

TEST_F(CliTest, AuditTailShowsTheRun) {
  WriteAdder();
  CliResult run = Cli({"--skills", Skills(), "run", "adder", "--input", "{\"a\":1,\"b\":2}",
                       "--json"});
  ASSERT_EQ(run.exit_code, 0) << run.out << run.err;
  std::string run_id = nlohmann::json::parse(run.out)["run_id"];

  CliResult r = Cli({"audit", "tail", "-n", "1", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 1u) << r.out;
  nlohmann::json record = nlohmann::json::parse(lines[0]);
  EXPECT_EQ(record["run_id"], run_id);
  EXPECT_EQ(record["event"], "run");
  EXPECT_EQ(record["kind"], "run");
  EXPECT_EQ(record["skill"], "adder");
  EXPECT_EQ(record["status"], "ok");
  EXPECT_EQ(record["invocation"]["input_bytes"], std::string("{\"a\":1,\"b\":2}").size());
  // The input itself is never recorded, only its hash.
  EXPECT_EQ(lines[0].find("\"a\":1"), std::string::npos);

  r = Cli({"audit", "tail"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find(run_id), std::string::npos) << r.out;
}

}  // namespace
}  // namespace skillrt
