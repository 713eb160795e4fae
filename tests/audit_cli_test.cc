// End-to-end tests of `skillrt audit verify`, `audit query` and `audit tail`: the built CLI
// (SKILLRT_CLI_PATH) runs as a subprocess with a private SKILLRT_HOME.
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstring>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

#include "skillrt/audit.h"
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

class AuditCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skills written here.
    home_ = tmp_.path() / "home";
  }

  std::filesystem::path Log() const { return home_ / "audit.log"; }

  // Runs the CLI with `args` (tests/cli_runner.h).
  CliResult Cli(const std::vector<std::string>& args) {
    return RunCli(tmp_.path(), home_, args);
  }

  // Appends records as the engine would, with the given skill, event, status and time.
  void Append(const std::string& skill, const std::string& event, const std::string& status,
              const std::string& time) {
    auto log = AuditLog::Open(Log());
    ASSERT_TRUE(log.has_value()) << log.error().ToString();
    ASSERT_TRUE(log->Append({{"skill", skill},
                             {"event", event},
                             {"kind", "exec"},
                             {"status", status},
                             {"time", time},
                             {"message", status == "ok" ? "" : "not allowed"}})
                    .has_value());
  }

  TempDir tmp_;
  std::filesystem::path home_;
};

TEST_F(AuditCliTest, VerifyPassesThenNamesTheEditedRecord) {
  for (int i = 0; i < 3; ++i) {
    Append("calc", "run", "ok", "2026-11-29T10:00:0" + std::to_string(i) + ".000000Z");
  }
  CliResult r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "audit log ok: 3 records\n");

  // One byte of record 2 changed, the line still valid JSON: "calc" -> "calx".
  std::string text = ReadFile(Log());
  size_t second = text.find('\n') + 1;
  size_t at = text.find("\"calc\"", second);
  ASSERT_NE(at, std::string::npos);
  text[at + 4] = 'x';
  WriteFile(Log(), text);
  r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, Log().string() + ":2: record seq 2: hash mismatch (record edited)\n");
  EXPECT_EQ(Lines(r.out).size(), 1u);

  // The same through --log and --json.
  r = Cli({"audit", "verify", "--log", Log().string(), "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  nlohmann::json j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j["ok"], false);
  EXPECT_EQ(j["line"], 2);
  EXPECT_EQ(j["seq"], 2);
  EXPECT_EQ(j["problem"], "bad_hash");
  EXPECT_EQ(j["records"], 1);

  // A byte that breaks the JSON: named too.
  text[at + 4] = 'c';
  size_t third = text.find('\n', second) + 1;
  text[third + 1] = '{';
  WriteFile(Log(), text);
  r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("audit.log:3: record seq 3: malformed JSON"), std::string::npos) << r.out;
}

TEST_F(AuditCliTest, VerifyReportsTruncationAndMissingLogs) {
  for (int i = 0; i < 3; ++i) Append("calc", "run", "ok", "2026-11-29T10:00:00.000000Z");
  std::string text = ReadFile(Log());
  WriteFile(Log(), text.substr(0, text.rfind('\n', text.size() - 2) + 1));
  CliResult r = Cli({"audit", "verify", "--json"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(nlohmann::json::parse(r.out)["problem"], "head_mismatch");

  r = Cli({"audit", "verify", "--log", (tmp_.path() / "nope.log").string()});
  EXPECT_EQ(r.exit_code, 2) << r.out << r.err;
  EXPECT_NE(r.err.find("nope.log"), std::string::npos) << r.err;

  // A home where nothing ran yet.
  home_ = tmp_.path() / "fresh";
  r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out.rfind("audit log ok: 0 records", 0), 0u) << r.out;
  r = Cli({"audit", "tail"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST_F(AuditCliTest, VerifyChecksAPinnedHead) {
  for (int i = 0; i < 2; ++i) Append("calc", "run", "ok", "2026-11-29T10:00:00.000000Z");
  CliResult r = Cli({"audit", "verify", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  nlohmann::json head = nlohmann::json::parse(r.out)["head"];
  std::string pin = std::to_string(head["seq"].get<int>()) + ":" + head["hash"].get<std::string>();
  std::filesystem::path pin_file = tmp_.path() / "pinned.head";
  WriteFile(pin_file, ReadFile(home_ / "audit.head"));
  Append("calc", "run", "ok", "2026-11-29T11:00:00.000000Z");
  EXPECT_EQ(Cli({"audit", "verify", "--pin", pin}).exit_code, 0);
  EXPECT_EQ(Cli({"audit", "verify", "--pin", pin_file.string()}).exit_code, 0);

  // The log and its head replaced by a consistent forgery: only the pin notices.
  std::filesystem::remove(Log());
  std::filesystem::remove(home_ / "audit.head");
  for (int i = 0; i < 3; ++i) Append("other", "run", "ok", "2026-11-29T10:00:00.000000Z");
  EXPECT_EQ(Cli({"audit", "verify"}).exit_code, 0);
  r = Cli({"audit", "verify", "--pin", pin});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_EQ(r.out, Log().string() +
                       ":2: record seq 2: hash differs from the pinned head (the log replaced)\n");

  r = Cli({"audit", "verify", "--pin", "2:abc"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--pin: '2:abc'"), std::string::npos) << r.err;
}

TEST_F(AuditCliTest, VerifyReportsUnchainedRecords) {
  WriteFile(Log(), "{\"event\":\"run\",\"skill\":\"old\"}\n");
  Append("calc", "run", "ok", "2026-11-29T10:00:00.000000Z");
  CliResult r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 1) << r.out << r.err;
  EXPECT_NE(r.out.find("audit.log:1: record seq 1: unchained record"), std::string::npos)
      << r.out;
}

TEST_F(AuditCliTest, QueryFiltersBySkillStatusEventAndTime) {
  Append("calc", "run", "ok", "2026-11-01T10:00:00.000000Z");
  Append("calc", "refusal", "denied", "2026-11-02T10:00:00.000000Z");
  Append("csv", "run", "error", "2026-11-03T10:00:00.000000Z");
  Append("calc", "run", "ok", "2099-01-01T00:00:00.000000Z");  // In the future: within 1h.

  auto seqs = [this](std::vector<std::string> args) {
    args.insert(args.begin(), {"audit", "query", "--json"});
    CliResult r = Cli(args);
    EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
    std::vector<int> out;
    for (const std::string& line : Lines(r.out)) {
      out.push_back(nlohmann::json::parse(line)["seq"]);
    }
    return out;
  };
  using V = std::vector<int>;
  EXPECT_EQ(seqs({}), (V{1, 2, 3, 4}));
  EXPECT_EQ(seqs({"--skill", "calc"}), (V{1, 2, 4}));
  EXPECT_EQ(seqs({"--status", "ok"}), (V{1, 4}));
  EXPECT_EQ(seqs({"--event", "refusal"}), (V{2}));
  EXPECT_EQ(seqs({"--since", "2026-11-02T10:00:00Z", "--until", "2026-11-03"}), (V{2}));
  EXPECT_EQ(seqs({"--since", "1h"}), (V{4}));
  EXPECT_EQ(seqs({"--until", "1h"}), (V{1, 2, 3}));
  EXPECT_EQ(seqs({"--skill", "calc", "-n", "2"}), (V{2, 4}));

  CliResult r = Cli({"audit", "query", "--skill", "calc", "--status", "denied"});
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::vector<std::string> lines = Lines(r.out);
  ASSERT_EQ(lines.size(), 2u) << r.out;
  EXPECT_EQ(lines[0].rfind("TIME", 0), 0u) << lines[0];
  EXPECT_NE(lines[1].find("2026-11-02T10:00:00Z"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("refusal"), std::string::npos) << lines[1];
  EXPECT_NE(lines[1].find("not allowed"), std::string::npos) << lines[1];

  r = Cli({"audit", "query", "--since", "yesterday"});
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("--since: 'yesterday' is not a time"), std::string::npos) << r.err;
  r = Cli({"audit", "query", "--event", "party"});
  EXPECT_EQ(r.exit_code, 2);
}

TEST_F(AuditCliTest, TailReadsTheLogGivenByLog) {
  Append("calc", "run", "ok", "2026-11-01T10:00:00.000000Z");
  Append("csv", "run", "ok", "2026-11-02T10:00:00.000000Z");
  std::filesystem::path moved = tmp_.path() / "elsewhere.log";
  std::filesystem::rename(Log(), moved);
  CliResult r = Cli({"audit", "tail", "-n", "1", "--json", "--log", moved.string()});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 1u);
  EXPECT_EQ(nlohmann::json::parse(r.out)["skill"], "csv");
}

// Real calls through the engine, a run and a refusal, leave a log that verifies.
TEST_F(AuditCliTest, RunsAndRefusalsLeaveAVerifiableLog) {
  std::filesystem::path skills = tmp_.path() / "skills";
  WriteFile(skills / "echoer" / "SKILL.md",
            "---\nname: echoer\ndescription: Echoes its arguments.\n---\n# Echoer\n");
  WriteFile(skills / "echoer" / "skill.toml",
            "runtime = \"native\"\n\n[capabilities]\ncommands = [\"echo\"]\n");
  CliResult r = Cli({"--skills", skills.string(), "exec", "echoer", "--", "echo", "hi"});
  ASSERT_EQ(r.exit_code, 0) << r.out << r.err;
  r = Cli({"--skills", skills.string(), "exec", "echoer", "--", "rm", "-rf", "/"});
  ASSERT_EQ(r.exit_code, 3) << r.out << r.err;

  r = Cli({"audit", "verify"});
  EXPECT_EQ(r.exit_code, 0) << r.out << r.err;
  EXPECT_EQ(r.out, "audit log ok: 2 records\n");
  r = Cli({"audit", "query", "--event", "refusal", "--json"});
  ASSERT_EQ(r.exit_code, 0) << r.err;
  ASSERT_EQ(Lines(r.out).size(), 1u) << r.out;
  nlohmann::json refusal = nlohmann::json::parse(r.out);
  EXPECT_EQ(refusal["status"], "denied");
  EXPECT_EQ(refusal["seq"], 2);
}

}  // namespace
}  // namespace skillrt
