// `skillrt exec --workspace` end to end, as root and as an unprivileged user: a script-style
// skill written the way published skills are (`python scripts/x.py` with relative data and
// output paths, a helper shell pipeline, git) works on files in a workspace, and what it
// writes belongs to the workspace's owner.
#include <sys/stat.h>
#include <unistd.h>

#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "cli_runner.h"
#include "test_util.h"

namespace skillrt {
namespace {

namespace fs = std::filesystem;
using ::skillrt::testing::CliResult;
using ::skillrt::testing::ReadFile;
using ::skillrt::testing::RunCli;
using ::skillrt::testing::VarTmpDir;
using ::skillrt::testing::WriteFile;

constexpr uid_t kOwner = 4242;       // Owns the workspace when skillrt runs as root.
constexpr uid_t kUnprivileged = 4243;  // Runs skillrt in the unprivileged tests.

// A skill with the habits of published ones: `python scripts/...`, relative paths meaning the
// working directory, a shell pipeline inside the script, git.
void WriteNotesSkill(const fs::path& dir) {
  WriteFile(dir / "SKILL.md",
            "---\nname: notes\ndescription: Sorts notes into a report and commits them.\n---\n"
            "Run `python scripts/report.py notes.txt` to write report.txt, then\n"
            "`python scripts/commit.py` to commit it.\n");
  WriteFile(dir / "skill.toml",
            "runtime = \"native\"\n[capabilities]\ncommands = [\"python\"]\n"
            "[limits]\nwall_time_ms = 60000\ncpu_time_ms = 30000\nmemory_mb = 512\n"
            "processes = 64\n");
  WriteFile(dir / "scripts" / "report.py",
            "import subprocess, sys\n"
            "lines = open(sys.argv[1]).read()\n"
            "out = subprocess.run('sort | uniq -c | sort -rn | head -n 1', shell=True,\n"
            "                     input=lines, capture_output=True, text=True, check=True)\n"
            "open('report.txt', 'w').write(out.stdout.split()[1] + '\\n')\n"
            "print('wrote report.txt')\n");
  WriteFile(dir / "scripts" / "commit.py",
            "import subprocess\n"
            "for step in (['init', '-q', '.'], ['add', 'report.txt'],\n"
            "             ['commit', '-q', '-m', 'report'], ['status', '--porcelain'],\n"
            "             ['log', '--format=%s']):\n"
            "    subprocess.run(['git'] + step, check=True)\n");
}

class WorkspaceCliTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    ::chmod(base_.path().c_str(), 0755);
    skills_ = base_.path() / "skills";
    home_ = base_.path() / "home";
    io_ = base_.path() / "io";
    workspace_ = base_.path() / "ws";
    WriteNotesSkill(skills_ / "notes");
    fs::create_directories(home_);
    fs::create_directories(io_);
    fs::create_directories(workspace_);
    WriteFile(workspace_ / "notes.txt", "pear\napple\npear\nfig\n");
  }

  // Lets every call run: the tests are about the sandbox, not the policy.
  void AllowAll(uid_t owner) {
    WriteFile(home_ / "policy.toml", "[[rule]]\nname = \"tests\"\neffect = \"allow\"\n");
    ::chmod((home_ / "policy.toml").c_str(), 0600);
    ASSERT_EQ(::chown((home_ / "policy.toml").c_str(), owner, owner), 0);
  }

  void ChownAll(const fs::path& dir, uid_t uid) {
    ASSERT_EQ(::chown(dir.c_str(), uid, uid), 0);
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      ASSERT_EQ(::lchown(entry.path().c_str(), uid, uid), 0) << entry.path();
    }
  }

  CliResult Exec(const std::vector<std::string>& argv, std::optional<uid_t> as_user,
                 const std::vector<std::string>& flags = {}) {
    std::vector<std::string> args = {"--skills", skills_.string(), "exec", "--workspace",
                                     workspace_.string()};
    args.insert(args.end(), flags.begin(), flags.end());
    args.push_back("notes");
    args.push_back("--");
    args.insert(args.end(), argv.begin(), argv.end());
    return RunCli(io_, home_, args, "", {}, as_user);
  }

  uid_t OwnerOf(const fs::path& path) {
    struct stat st = {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_uid;
  }

  // The skill's two steps, as its SKILL.md tells them; what they made belongs to `owner`.
  void RunTheSkill(std::optional<uid_t> as_user, uid_t owner,
                   const std::vector<std::string>& flags = {}) {
    const CliResult report = Exec({"python", "scripts/report.py", "notes.txt"}, as_user, flags);
    ASSERT_EQ(report.exit_code, 0) << report.out << report.err;
    EXPECT_EQ(report.out, "wrote report.txt\n");
    EXPECT_EQ(ReadFile(workspace_ / "report.txt"), "pear\n");
    EXPECT_EQ(OwnerOf(workspace_ / "report.txt"), owner);
    const CliResult commit = Exec({"python", "scripts/commit.py"}, as_user, flags);
    ASSERT_EQ(commit.exit_code, 0) << commit.out << commit.err;
    EXPECT_EQ(commit.out, "?? notes.txt\nreport\n");  // git status, then git log.
    EXPECT_EQ(OwnerOf(workspace_ / ".git" / "HEAD"), owner);
    EXPECT_EQ(OwnerOf(workspace_ / ".git" / "objects"), owner);
  }

  VarTmpDir base_;
  fs::path skills_, home_, io_, workspace_;
};

// Root: the workspace's owner (not root, not the sandbox's host uid) owns what the skill makes.
TEST_F(WorkspaceCliTest, AsRootTheSkillWorksOnTheOwnersFiles) {
  ChownAll(workspace_, kOwner);
  AllowAll(0);
  RunTheSkill(std::nullopt, kOwner);
  // The audit record names the workspace.
  EXPECT_NE(ReadFile(home_ / "audit.log").find("\"workspace\":\"" + workspace_.string() + "\""),
            std::string::npos);
}

// The workspace widens the call: by default the policy asks about writing it, and with no one
// to ask the call is refused, naming the path. Control: the test above, with a policy that
// allows it.
TEST_F(WorkspaceCliTest, TheWorkspaceIsAWriteThePolicyJudges) {
  ChownAll(workspace_, kOwner);
  const CliResult refused = Exec({"python", "scripts/report.py", "notes.txt"}, std::nullopt);
  EXPECT_EQ(refused.exit_code, 3) << refused.out << refused.err;
  EXPECT_NE(refused.err.find("write " + fs::canonical(workspace_).string()), std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(workspace_ / "report.txt"));
}

// Unprivileged: the sandbox's user is the caller, who owns the workspace. (No cgroups for an
// unprivileged user here: best-effort, as documented.)
TEST_F(WorkspaceCliTest, AsAnUnprivilegedUserTheSkillWorksOnTheCallersFiles) {
  ChownAll(base_.path(), kUnprivileged);
  AllowAll(kUnprivileged);
  RunTheSkill(kUnprivileged, kUnprivileged, {"--sandbox", "best-effort"});
}

// Unprivileged, a workspace owned by someone else cannot be mapped: refused, naming both ids.
// Control: the test above, with the caller's own workspace.
TEST_F(WorkspaceCliTest, AsAnUnprivilegedUserSomeoneElsesWorkspaceIsRefused) {
  ChownAll(base_.path(), kUnprivileged);
  ChownAll(workspace_, kOwner);
  ::chmod(workspace_.c_str(), 0777);
  AllowAll(kUnprivileged);
  const CliResult refused = Exec({"python", "scripts/report.py", "notes.txt"}, kUnprivileged,
                                 {"--sandbox", "best-effort"});
  EXPECT_NE(refused.exit_code, 0);
  EXPECT_NE(refused.err.find("is owned by uid 4242, but skillrt runs as uid 4243"),
            std::string::npos)
      << refused.err;
  EXPECT_FALSE(fs::exists(workspace_ / "report.txt"));
}

}  // namespace
}  // namespace skillrt
