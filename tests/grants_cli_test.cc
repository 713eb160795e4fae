// User grants through the built CLI (SKILLRT_CLI_PATH): `--allow-command`, `--read` and
// `--write` for one call, `skillrt grant`/`revoke` for the grants file; each widening asks by
// default, is in the approval key, the audit record and the lock, and skillrt's state
// directory, where the grants live, is never reachable from a sandbox (docs/grants.md).
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <sstream>
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
using skillrt::testing::ReadFile;
using skillrt::testing::RunCli;
using skillrt::testing::VarTmpDir;
using skillrt::testing::WriteFile;

bool Has(const std::string& text, std::string_view part) {
  return text.find(part) != std::string::npos;
}

// Everything lives under /var/tmp: granted host paths may not lie under the host's /tmp.
class GrantsCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ::chmod(tmp_.path().c_str(), 0755);  // The sandbox's user reads the skill.
    home_ = tmp_.path() / "home";
    skills_ = tmp_.path() / "skills";
    work_ = tmp_.path() / "work";
    WriteFile(skills_ / "tool/SKILL.md", "---\nname: tool\ndescription: A tool.\n---\nUse it.\n");
    WriteFile(skills_ / "tool/skill.toml", "[capabilities]\ncommands = [\"python3\"]\n");
    WriteFile(skills_ / "tool/scripts/write.py",
              "import sys\n"
              "try:\n"
              "    open(sys.argv[1], 'w').write('from the sandbox\\n')\n"
              "    print('wrote', sys.argv[1])\n"
              "except OSError as e:\n"
              "    print('refused', sys.argv[1], e.strerror)\n"
              "    sys.exit(1)\n");
    WriteFile(work_ / "notes.txt", "host notes\n");
    // The sandbox's user is not the directory's owner when skillrt runs as root.
    ::chmod(work_.c_str(), 0777);
  }

  CliResult Cli(std::vector<std::string> args) {
    args.insert(args.begin(), {"--skills", skills_.string()});
    return RunCli(tmp_.path(), home_, args);
  }

  void AllowGrants(std::string_view rule_body) {
    WriteFile(home_ / "policy.toml",
              "[[rule]]\nname = \"my-grants\"\neffect = \"allow\"\ngrants = true\n" +
                  std::string(rule_body));
    ::chmod((home_ / "policy.toml").c_str(), 0600);
  }

  std::vector<nlohmann::json> Audit() {
    std::vector<nlohmann::json> records;
    std::istringstream lines(ReadFile(home_ / "audit.log"));
    for (std::string line; std::getline(lines, line);) {
      records.push_back(nlohmann::json::parse(line));
    }
    return records;
  }

  VarTmpDir tmp_;
  fs::path home_, skills_, work_;
};

TEST_F(GrantsCliTest, AllowCommandAsksByDefaultAndRunsWhenThePolicyAllowsIt) {
  // Without a grant, the command guard refuses sort.
  CliResult plain = Cli({"exec", "tool", "--", "sort", "--version"});
  EXPECT_EQ(plain.exit_code, 3) << plain.err;
  // With it, the policy asks, and without a terminal nobody approves.
  CliResult asked = Cli({"exec", "tool", "--allow-command", "sort", "--", "sort", "--version"});
  EXPECT_EQ(asked.exit_code, 3) << asked.err;
  EXPECT_TRUE(Has(asked.err, "default-grant")) << asked.err;
  EXPECT_TRUE(Has(asked.err, "grant command sort")) << asked.err;

  AllowGrants("commands = [\"sort\"]\n");
  CliResult ran = Cli({"exec", "tool", "--allow-command", "sort", "--", "sort", "--version"});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  EXPECT_TRUE(Has(ran.out, "sort")) << ran.out;
  // The policy rule names sort only: another granted command still asks.
  CliResult other = Cli({"exec", "tool", "--allow-command", "head", "--", "head", "--version"});
  EXPECT_EQ(other.exit_code, 3) << other.err;

  // The audit record says what was granted and where it came from.
  nlohmann::json run;
  for (const nlohmann::json& r : Audit()) {
    if (r.value("event", "") == "run" && r.value("status", "") == "ok") run = r;
  }
  ASSERT_FALSE(run.is_null());
  EXPECT_EQ(run["invocation"]["grants"]["call"]["commands"], nlohmann::json({"sort"}));
  EXPECT_EQ(run["invocation"]["grants"]["widened"]["commands"], nlohmann::json({"sort"}));
  EXPECT_EQ(run["invocation"]["grants"]["file"], nlohmann::json::object());
}

TEST_F(GrantsCliTest, WriteGrantMountsThePathAndIsInTheApprovalKey) {
  const std::string target = (work_ / "out.txt").string();
  // Positive control for the mount: without the grant the path is not there.
  AllowGrants("write = [\"" + work_.string() + "/**\"]\n");
  CliResult absent = Cli({"exec", "tool", "--", "python3", "scripts/write.py", target});
  EXPECT_EQ(absent.exit_code, 1) << absent.err;
  EXPECT_TRUE(Has(absent.out, "refused")) << absent.out;
  EXPECT_FALSE(fs::exists(target));

  // A relative --write is taken from the caller's directory.
  CliResult wrote = RunCli(tmp_.path(), home_,
                           {"--skills", skills_.string(), "exec", "tool", "--write", "work", "--",
                            "python3", "scripts/write.py", target},
                           "", tmp_.path());
  ASSERT_EQ(wrote.exit_code, 0) << wrote.err << wrote.out;
  EXPECT_EQ(ReadFile(target), "from the sandbox\n");

  // The approval key differs with and without the grant, and with a read instead of a write.
  auto key = [&](std::vector<std::string> grant) {
    std::vector<std::string> args = {"policy", "check", "tool", "--json"};
    args.insert(args.end(), grant.begin(), grant.end());
    args.insert(args.end(), {"--", "python3", "scripts/write.py", target});
    WriteFile(home_ / "policy.toml", "");  // The default: grants ask, so there is a key.
    CliResult check = Cli(args);
    nlohmann::json out = nlohmann::json::parse(check.out, nullptr, false);
    return out.is_object() && out["approval_key"].is_string()
               ? out["approval_key"].get<std::string>()
               : std::string("(none: " + check.out + check.err + ")");
  };
  const std::string with_write = key({"--write", work_.string()});
  const std::string with_read = key({"--read", work_.string()});
  EXPECT_EQ(with_write.size(), 64u) << with_write;
  EXPECT_EQ(with_read.size(), 64u) << with_read;
  EXPECT_NE(with_write, with_read);
}

TEST_F(GrantsCliTest, LimitGrantRaisesTheManifestsLimitThroughThePolicy) {
  CliResult asked = Cli({"policy", "check", "tool", "--limit", "wall_time_ms=45000", "--",
                         "python3", "-c", "1"});
  EXPECT_EQ(asked.exit_code, 6) << asked.out << asked.err;
  EXPECT_TRUE(Has(asked.out, "grant limit wall_time_ms 45000")) << asked.out;
  AllowGrants("");
  CliResult ran = Cli({"exec", "tool", "--json", "--limit", "wall_time_ms=45000", "--", "python3",
                       "-c", "print(1)"});
  ASSERT_EQ(ran.exit_code, 0) << ran.err;
  nlohmann::json run;
  for (const nlohmann::json& r : Audit()) {
    if (r.value("event", "") == "run") run = r;
  }
  EXPECT_EQ(run["limits"]["wall_time_ms"], 45000);
  EXPECT_EQ(run["invocation"]["grants"]["widened"]["limits"]["wall_time_ms"], 45000);
  // Positive control: without the grant the manifest's default applies.
  ASSERT_EQ(Cli({"exec", "tool", "--", "python3", "-c", "print(1)"}).exit_code, 0);
  EXPECT_EQ(Audit().back()["limits"]["wall_time_ms"], 30000);
  CliResult bad = Cli({"exec", "tool", "--limit", "wall_time=5", "--", "python3", "-c", "1"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(Has(bad.err, "unknown limit 'wall_time'")) << bad.err;
}

TEST_F(GrantsCliTest, GrantFileCommandsAndTheirEffect) {
  CliResult granted = Cli({"grant", "tool", "--allow-command", "sort", "--read", work_.string()});
  ASSERT_EQ(granted.exit_code, 0) << granted.err;
  EXPECT_TRUE(Has(granted.out, "tool: command sort; read " + work_.string())) << granted.out;
  struct stat st {};
  ASSERT_EQ(::stat((home_ / "grants.toml").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  CliResult instance = Cli({"grant", "tool@work", "--write", work_.string()});
  ASSERT_EQ(instance.exit_code, 0) << instance.err;

  CliResult list = Cli({"grant", "--list", "--json"});
  ASSERT_EQ(list.exit_code, 0) << list.err;
  nlohmann::json listed = nlohmann::json::parse(list.out);
  EXPECT_EQ(listed["skills"]["tool"]["commands"], nlohmann::json({"sort"}));
  EXPECT_EQ(listed["skills"]["tool@work"]["write"], nlohmann::json({work_.string()}));

  AllowGrants("commands = [\"sort\"]\nread = [\"" + work_.string() + "/**\"]\n");
  CliResult sorted = Cli({"exec", "tool", "--", "sort", (work_ / "notes.txt").string()});
  ASSERT_EQ(sorted.exit_code, 0) << sorted.err;
  EXPECT_EQ(sorted.out, "host notes\n");

  CliResult revoked = Cli({"revoke", "tool", "--allow-command", "sort"});
  ASSERT_EQ(revoked.exit_code, 0) << revoked.err;
  CliResult refused = Cli({"exec", "tool", "--", "sort", (work_ / "notes.txt").string()});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  CliResult all = Cli({"revoke", "tool", "--all"});
  ASSERT_EQ(all.exit_code, 0) << all.err;
  listed = nlohmann::json::parse(Cli({"grant", "--list", "--json"}).out);
  EXPECT_FALSE(listed["skills"].contains("tool"));
  EXPECT_TRUE(listed["skills"].contains("tool@work"));

  // Bad grants are refused by name, before anything is written.
  CliResult bad = Cli({"grant", "tool", "--allow-command", "rm -rf"});
  EXPECT_EQ(bad.exit_code, 2);
  EXPECT_TRUE(Has(bad.err, "whitespace")) << bad.err;
  CliResult reserved = Cli({"exec", "tool", "--write", "/etc", "--", "python3", "-c", "1"});
  EXPECT_EQ(reserved.exit_code, 2);
  EXPECT_TRUE(Has(reserved.err, "reserved")) << reserved.err;
  CliResult unknown = Cli({"grant", "nosuch", "--allow-command", "sort"});
  EXPECT_EQ(unknown.exit_code, 2) << unknown.err;
}

TEST_F(GrantsCliTest, LockRecordsGrantsAndAWiderGrantIsNotFileDrift) {
  ASSERT_EQ(Cli({"grant", "tool", "--read", work_.string()}).exit_code, 0);
  CliResult lock = Cli({"lock", "tool"});
  ASSERT_EQ(lock.exit_code, 0) << lock.err;
  nlohmann::json locked = nlohmann::json::parse(ReadFile(home_ / "skills.lock"));
  EXPECT_EQ(locked["skills"]["tool"]["user_grants"]["tool"]["read"],
            nlohmann::json({work_.string()}));
  AllowGrants("read = [\"" + work_.string() + "/**\"]\ncommands = [\"sort\"]\n");
  CliResult ok = Cli({"exec", "tool", "--", "python3", "-c", "print('ok')"});
  ASSERT_EQ(ok.exit_code, 0) << ok.err;

  ASSERT_EQ(Cli({"grant", "tool", "--allow-command", "sort"}).exit_code, 0);
  CliResult refused = Cli({"exec", "tool", "--", "python3", "-c", "print('ok')"});
  EXPECT_EQ(refused.exit_code, 3) << refused.err;
  EXPECT_TRUE(Has(refused.err, "user grants for skill 'tool'")) << refused.err;
  EXPECT_TRUE(Has(refused.err, "tool: command sort")) << refused.err;
  EXPECT_FALSE(Has(refused.err, "drifted")) << refused.err;

  nlohmann::json info = nlohmann::json::parse(Cli({"info", "tool", "--json"}).out);
  EXPECT_EQ(info["user"]["grants"]["commands"], nlohmann::json({"sort"}));
  EXPECT_TRUE(Has(info["user"]["lock"].get<std::string>(),
                  "user grants widened since: tool: command sort"))
      << info["user"]["lock"];

  CliResult check = Cli({"lock", "--check", "--json", "tool"});
  EXPECT_EQ(check.exit_code, 1) << check.err;
  nlohmann::json report = nlohmann::json::parse(check.out);
  EXPECT_EQ(report[0]["grants_widened"], nlohmann::json({"tool: command sort"}));
  EXPECT_EQ(report[0]["drift"]["changed"], nlohmann::json::array());

  // Narrowing needs no new lock; approving the wider grant is `lock` again.
  ASSERT_EQ(Cli({"revoke", "tool", "--all"}).exit_code, 0);
  EXPECT_EQ(Cli({"exec", "tool", "--", "python3", "-c", "print('ok')"}).exit_code, 0);
  ASSERT_EQ(Cli({"grant", "tool", "--allow-command", "sort"}).exit_code, 0);
  ASSERT_EQ(Cli({"lock", "tool"}).exit_code, 0);
  CliResult relocked = Cli({"exec", "tool", "--", "sort", "--version"});
  EXPECT_EQ(relocked.exit_code, 0) << relocked.err;
}

// A skill cannot widen its own grants: the state directory that holds them is never bound
// into a sandbox, whether a grant or the manifest names it, a directory above it, or a link
// to either; and a skill with write access elsewhere does not see it.
TEST_F(GrantsCliTest, TheStateDirectoryIsNeverReachable) {
  ASSERT_EQ(Cli({"grant", "tool", "--read", work_.string()}).exit_code, 0);
  const std::string grants_before = ReadFile(home_ / "grants.toml");
  AllowGrants("write = [\"" + tmp_.path().string() + "/**\"]\n");

  for (const fs::path& path : {home_, tmp_.path(), home_ / "envs"}) {
    fs::create_directories(path);
    CliResult refused = Cli({"exec", "tool", "--write", path.string(), "--", "python3", "-c", "1"});
    EXPECT_EQ(refused.exit_code, 3) << path << refused.err;
    EXPECT_TRUE(Has(refused.err, "state directory")) << refused.err;
  }
  // A symbolic link to it is judged by what it resolves to.
  fs::create_directory_symlink(home_, work_ / "link");
  CliResult linked = Cli({"exec", "tool", "--write", (work_ / "link").string(), "--", "python3",
                          "-c", "1"});
  EXPECT_EQ(linked.exit_code, 3) << linked.err;
  EXPECT_TRUE(Has(linked.err, "state directory")) << linked.err;
  fs::remove(work_ / "link");
  // The manifest cannot name it either.
  WriteFile(skills_ / "tool/skill.toml", "[capabilities]\ncommands = [\"python3\"]\nwrite = [\"" +
                                             tmp_.path().string() + "\"]\n");
  CliResult declared = Cli({"exec", "tool", "--", "python3", "-c", "1"});
  EXPECT_EQ(declared.exit_code, 3) << declared.err;
  EXPECT_TRUE(Has(declared.err, "state directory")) << declared.err;
  WriteFile(skills_ / "tool/skill.toml", "[capabilities]\ncommands = [\"python3\"]\n");

  // With write access to a directory beside it, the grants file is not there to write.
  const std::string own = (home_ / "grants.toml").string();
  CliResult probe = Cli({"exec", "tool", "--write", work_.string(), "--", "python3",
                         "scripts/write.py", own});
  EXPECT_EQ(probe.exit_code, 1) << probe.err << probe.out;
  EXPECT_TRUE(Has(probe.out, "refused")) << probe.out;
  EXPECT_EQ(ReadFile(home_ / "grants.toml"), grants_before);
  // Positive control: the same script writes where it was granted.
  CliResult control = Cli({"exec", "tool", "--write", work_.string(), "--", "python3",
                           "scripts/write.py", (work_ / "ok.txt").string()});
  EXPECT_EQ(control.exit_code, 0) << control.err << control.out;
  EXPECT_EQ(ReadFile(work_ / "ok.txt"), "from the sandbox\n");
}

}  // namespace
}  // namespace skillrt
