// End-to-end tests of skills as they are published: without skill.toml, with names and
// frontmatter that bend the specification, and with several copies of one skill under the
// roots. The built CLI runs as a subprocess with a private SKILLRT_HOME.
#include <sys/stat.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using skillrt::testing::CliResult;
using skillrt::testing::RunCli;
using skillrt::testing::TempDir;
using skillrt::testing::WriteFile;

class PublishedSkillsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    // The sandbox's user must be able to read the skills the tests write.
    ::chmod(tmp_.path().c_str(), 0755);
    home_ = tmp_.path() / "home";
    fs::create_directories(home_ / "skills");
  }

  CliResult Cli(const std::vector<std::string>& args) { return RunCli(tmp_.path(), home_, args); }

  // A skill as a collection publishes it: no skill.toml, a loosely written name, a script
  // that SKILL.md tells the agent to run with `python`, and a command it only mentions.
  fs::path WriteReporter(const fs::path& dir) {
    WriteFile(dir / "SKILL.md",
              "---\n"                                                     // 1
              "name: Word Counter\n"                                      // 2
              "description: Counts the words of a text.\n"                // 3
              "metadata:\n"                                               // 4
              "  tags: [text, count]\n"                                   // 5
              "---\n"                                                     // 6
              "# Word counter\n"                                          // 7
              "\n"                                                        // 8
              "Count the words of a text:\n"                              // 9
              "\n"                                                        // 10
              "```bash\n"                                                 // 11
              "python scripts/count.py \"some text here\"\n"              // 12
              "curl -s https://example.com/more.txt\n"                    // 13
              "```\n");                                                   // 14
    WriteFile(dir / "scripts/count.py",
              "import sys\n"
              "print(len(' '.join(sys.argv[1:]).split()))\n");
    return dir;
  }

  TempDir tmp_;
  fs::path home_;
};

TEST_F(PublishedSkillsTest, ListShowsShadowedSkillsAndLenientCorrections) {
  fs::path first = tmp_.path() / "first", second = tmp_.path() / "second";
  WriteReporter(first / "word-counter");
  WriteReporter(second / "nested/Word_Counter");
  WriteReporter(home_ / "skills/word-counter");
  CliResult r = Cli({"--skills", first.string(), "--skills", second.string(), "list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u) << r.out;
  EXPECT_EQ(j[0]["name"], "word-counter");
  EXPECT_EQ(j[0]["path"], fs::canonical(first / "word-counter").string());
  EXPECT_EQ(j[0]["root"], first.string());
  ASSERT_EQ(j[0]["shadowed"].size(), 2u);
  EXPECT_EQ(j[0]["shadowed"][0]["path"], fs::canonical(second / "nested/Word_Counter").string());
  EXPECT_EQ(j[0]["shadowed"][0]["root"], second.string());
  EXPECT_EQ(j[0]["shadowed"][1]["path"], fs::canonical(home_ / "skills/word-counter").string());
  // What lenient loading corrected: the name and the list in metadata.
  ASSERT_EQ(j[0]["warnings"].size(), 2u) << j[0]["warnings"].dump();
  EXPECT_EQ(j[0]["warnings"][0]["field"], "name");
  EXPECT_NE(j[0]["warnings"][0]["message"].get<std::string>().find("normalised to 'word-counter'"),
            std::string::npos);
  EXPECT_EQ(j[0]["warnings"][1]["field"], "metadata.tags");

  r = Cli({"--skills", first.string(), "--skills", second.string(), "list"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("(shadowed by " + fs::canonical(first / "word-counter").string() + ")"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find(fs::canonical(home_ / "skills/word-counter").string()), std::string::npos);

  // Without --skills, the installed copy is the only one.
  r = Cli({"list", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 1u);
  EXPECT_TRUE(j[0]["shadowed"].empty());

  // A shadowed skill is used by naming its path; the name as written finds the winner.
  r = Cli({"--skills", first.string(), "--skills", second.string(), "info", "--json",
           (second / "nested/Word_Counter").string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["path"],
            fs::canonical(second / "nested/Word_Counter").string());
  r = Cli({"--skills", first.string(), "info", "--json", "Word Counter"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["name"], "word-counter");
  EXPECT_EQ(j["display_name"], "Word Counter");
}

TEST_F(PublishedSkillsTest, ValidateChecksShadowedSkillsToo) {
  fs::path root = tmp_.path() / "root";
  WriteReporter(root / "x/word-counter");
  WriteReporter(root / "y/word-counter");
  CliResult r = Cli({"validate", "--json", root.string()});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  ASSERT_EQ(j.size(), 2u) << r.out;
  EXPECT_EQ(j[0]["path"], fs::canonical(root / "x/word-counter").string());
  EXPECT_EQ(j[1]["path"], fs::canonical(root / "y/word-counter").string());
  // Strictly, what lenient loading corrects is an error.
  EXPECT_FALSE(j[0]["valid"].get<bool>());
  EXPECT_EQ(j[0]["diagnostics"][0]["field"], "name");
  EXPECT_EQ(j[0]["diagnostics"][0]["severity"], "error");
}

TEST_F(PublishedSkillsTest, InfoShowsInferredCommandsAndWhereTheyCameFrom) {
  WriteReporter(home_ / "skills/word-counter");
  CliResult r = Cli({"info", "word-counter"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  EXPECT_NE(r.out.find("name:         word-counter (written 'Word Counter')"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("inferred:     python3, python (only to run a file of the skill"),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  python <- scripts/count.py: extension .py; SKILL.md:12: python "
                       "scripts/count.py \"some text here\""),
            std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("mentioned:    curl (in SKILL.md; not granted"), std::string::npos)
      << r.out;
  EXPECT_NE(r.out.find("  curl <- SKILL.md:13: curl -s https://example.com/more.txt"),
            std::string::npos)
      << r.out;

  r = Cli({"info", "--json", "word-counter"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  nlohmann::json m = nlohmann::json::parse(r.out)["manifest"];
  EXPECT_TRUE(m["inferred"].get<bool>());
  ASSERT_EQ(m["script_commands"].size(), 2u);
  EXPECT_EQ(m["script_commands"][0]["command"], "python3");
  EXPECT_EQ(m["script_commands"][0]["sources"][1],
            nlohmann::json({{"file", "SKILL.md"},
                            {"line", 12},
                            {"text", "python scripts/count.py \"some text here\""}}));
  ASSERT_EQ(m["mentioned_commands"].size(), 1u);
  EXPECT_EQ(m["mentioned_commands"][0]["command"], "curl");
  EXPECT_TRUE(m["capabilities"]["commands"].empty());
}

TEST_F(PublishedSkillsTest, ExecRunsTheSkillsOwnScriptWithoutSkillToml) {
  fs::path dir = WriteReporter(home_ / "skills/word-counter");
  CliResult r = Cli({"exec", "word-counter", "--json", "--", "python3", "scripts/count.py",
                     "one two three"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["status"], "ok");
  EXPECT_EQ(j["stdout"], "3\n");

  // `python` is granted as well. Whether it runs depends on the sandbox having a `python`;
  // the guard must not be what stops it.
  r = Cli({"exec", "word-counter", "--json", "--", "python", "scripts/count.py", "a b"});
  j = nlohmann::json::parse(r.out);
  if (fs::exists("/usr/bin/python") || fs::exists("/bin/python")) {
    EXPECT_EQ(j["status"], "ok") << r.out;
    EXPECT_EQ(j["stdout"], "2\n");
  } else {
    EXPECT_NE(j["status"], "denied") << r.out;
    EXPECT_NE(j["message"].get<std::string>().find("command not found in the sandbox: python"),
              std::string::npos)
        << r.out;
  }

  // The script rule: python3 running anything but a file of the skill is refused, and the
  // refusal names no skill.toml, which does not exist.
  for (const std::vector<std::string>& argv : std::vector<std::vector<std::string>>{
           {"python3", "-c", "print(1)"},
           {"python3", "/etc/hostname"},
           {"python3", "../x.py"},
           {"curl", "-s", "https://example.com/more.txt"}}) {
    std::vector<std::string> args = {"exec", "word-counter", "--json", "--"};
    args.insert(args.end(), argv.begin(), argv.end());
    r = Cli(args);
    EXPECT_EQ(r.exit_code, 3) << argv[1] << ": " << r.out << r.err;
    j = nlohmann::json::parse(r.out);
    EXPECT_EQ(j["status"], "denied");
    const std::string message = j["message"].get<std::string>();
    EXPECT_EQ(message.find((fs::canonical(dir) / "skill.toml").string()), std::string::npos)
        << message;
    EXPECT_NE(message.find("the skill has no skill.toml; inferred from its files: python3, "
                           "python (only to run a file of the skill); any other command needs "
                           "a grant from the user"),
              std::string::npos)
        << message;
  }
  // Without --json the refusal is printed too.
  r = Cli({"exec", "word-counter", "--", "curl", "x"});
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE((r.out + r.err).find("command 'curl' is not allowed"), std::string::npos)
      << r.out << r.err;
}

}  // namespace
}  // namespace skillrt
