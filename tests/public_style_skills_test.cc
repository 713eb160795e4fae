// The skills in examples/public-style/ (written with the habits of published collections: no
// skill.toml, `python scripts/x.py`, relative outputs, helper pipelines, PyPI packages) work
// through `skillrt exec --workspace DIR` exactly as their SKILL.md says, unedited, as root and
// as an unprivileged user, and what they write belongs to the workspace's owner.
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>
#include <nlohmann/json.hpp>

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

constexpr uid_t kOwner = 4242;         // Owns the workspace when skillrt runs as root.
constexpr uid_t kUnprivileged = 4243;  // Runs skillrt (and owns everything) when not root.

fs::path PublicStyleDir() { return fs::path(SKILLRT_SOURCE_DIR) / "examples" / "public-style"; }

// Who runs skillrt.
enum class Caller { kRoot, kUnprivileged };

std::string CallerName(const ::testing::TestParamInfo<Caller>& info) {
  return info.param == Caller::kRoot ? "AsRoot" : "AsUnprivilegedUser";
}

// Whether the package index that `prepare` installs from answers at all: pip itself
// downloading one wheel, with the interpreter the sandbox runs. Only asked after `prepare`
// failed, to tell an unreachable index (skip) from a broken `prepare` (failure).
bool PackageIndexReachable(const fs::path& scratch) {
  const std::string command =
      "PATH=/usr/local/bin:/usr/bin:/bin python3 -m pip download --quiet --no-deps "
      "--only-binary :all: --dest '" +
      scratch.string() + "' pypdf >/dev/null 2>&1";
  return std::system(command.c_str()) == 0;
}

class PublicStyleSkillsTest : public ::testing::TestWithParam<Caller> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "switching users needs root";
    ::chmod(base_.path().c_str(), 0755);
    home_ = base_.path() / "home";
    io_ = base_.path() / "io";
    workspace_ = base_.path() / "ws";
    fs::create_directories(home_);
    fs::create_directories(io_);
    fs::create_directories(workspace_);
    // The tests are about the sandbox and the skills, not the policy: every call may run.
    WriteFile(home_ / "policy.toml", "[[rule]]\nname = \"tests\"\neffect = \"allow\"\n");
    ::chmod((home_ / "policy.toml").c_str(), 0600);
    if (GetParam() == Caller::kUnprivileged) {
      as_user_ = kUnprivileged;
      owner_ = kUnprivileged;
      // No cgroups for an unprivileged user here: best-effort, as docs/sandbox.md says.
      flags_ = {"--sandbox", "best-effort"};
    }
  }

  // Hands the test's files to whoever they belong to: the workspace to its owner, and when
  // skillrt runs unprivileged, everything (its state directory too) to that user. Call after
  // writing the workspace's inputs.
  void HandOver() { ChownAll(GetParam() == Caller::kRoot ? workspace_ : base_.path(), owner_); }

  void ChownAll(const fs::path& dir, uid_t uid) {
    ASSERT_EQ(::chown(dir.c_str(), uid, uid), 0);
    for (const auto& entry : fs::recursive_directory_iterator(dir)) {
      ASSERT_EQ(::lchown(entry.path().c_str(), uid, uid), 0) << entry.path();
    }
  }

  // `skillrt --skills examples/public-style ARGS...`, as the caller under test.
  CliResult Skillrt(std::vector<std::string> args) {
    args.insert(args.begin(), {"--skills", PublicStyleDir().string()});
    return RunCli(io_, home_, args, "", {}, as_user_);
  }

  // `skillrt exec --workspace WS SKILL -- ARGV...`, the way SKILL.md tells an agent to run it.
  CliResult Exec(const std::string& skill, const std::vector<std::string>& argv) {
    std::vector<std::string> args = {"exec", "--workspace", workspace_.string()};
    args.insert(args.end(), flags_.begin(), flags_.end());
    args.push_back(skill);
    args.push_back("--");
    args.insert(args.end(), argv.begin(), argv.end());
    return Skillrt(args);
  }

  // `skillrt prepare SKILL`; skips the test when the package index cannot be reached.
  void Prepare(const std::string& skill) {
    const CliResult prepared = Skillrt({"prepare", skill});
    if (prepared.exit_code != 0 && !PackageIndexReachable(base_.path() / "pip-probe")) {
      GTEST_SKIP() << "the Python package index cannot be reached from this machine, so " << skill
                   << "'s packages cannot be prepared: " << prepared.err;
    }
    ASSERT_EQ(prepared.exit_code, 0) << prepared.out << prepared.err;
    EXPECT_NE(prepared.out.find(skill + ": prepared"), std::string::npos) << prepared.out;
  }

  uid_t OwnerOf(const fs::path& path) {
    struct stat st = {};
    EXPECT_EQ(::lstat(path.c_str(), &st), 0) << path;
    return st.st_uid;
  }

  VarTmpDir base_;
  fs::path home_, io_, workspace_;
  std::optional<uid_t> as_user_;
  uid_t owner_ = kOwner;
  std::vector<std::string> flags_;
};

// pdf-pages: pypdf from requirements.txt, prepared by skillrt; a PDF made from text in the
// workspace, pages picked out of it, and its text read back.
TEST_P(PublicStyleSkillsTest, PdfPagesMakesMergesAndReadsPdfs) {
  WriteFile(workspace_ / "notes.txt",
            "Quarterly notes\nRevenue grew (a little).\n---\nSecond page\n---\nThird page\n");
  HandOver();
  // Before `prepare` the skill cannot import pypdf, and skillrt says what to do.
  const CliResult unprepared =
      Exec("pdf-pages", {"python", "scripts/text_to_pdf.py", "notes.txt", "notes.pdf"});
  EXPECT_EQ(unprepared.exit_code, 3) << unprepared.out << unprepared.err;
  EXPECT_NE(unprepared.err.find("skillrt prepare pdf-pages"), std::string::npos) << unprepared.err;
  ASSERT_NO_FATAL_FAILURE(Prepare("pdf-pages"));
  if (IsSkipped()) return;

  const CliResult made =
      Exec("pdf-pages", {"python", "scripts/text_to_pdf.py", "notes.txt", "notes.pdf"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_EQ(made.out, "wrote notes.pdf: 3 page(s)\n");
  EXPECT_EQ(ReadFile(workspace_ / "notes.pdf").substr(0, 5), "%PDF-");
  const CliResult merged =
      Exec("pdf-pages", {"python", "scripts/merge.py", "picked.pdf", "notes.pdf:3,1"});
  ASSERT_EQ(merged.exit_code, 0) << merged.out << merged.err;
  EXPECT_EQ(merged.out, "wrote picked.pdf: 2 page(s)\n");
  const CliResult read =
      Exec("pdf-pages", {"python", "scripts/extract_text.py", "picked.pdf", "picked.txt"});
  ASSERT_EQ(read.exit_code, 0) << read.out << read.err;
  EXPECT_EQ(ReadFile(workspace_ / "picked.txt"),
            "=== page 1 ===\nThird page\n=== page 2 ===\nQuarterly notes\n"
            "Revenue grew (a little).\n");
  for (const char* made_file : {"notes.pdf", "picked.pdf", "picked.txt"}) {
    EXPECT_EQ(OwnerOf(workspace_ / made_file), owner_) << made_file;
  }
  // A page the document does not have is the script's own error, passed through.
  const CliResult bad = Exec("pdf-pages", {"python", "scripts/merge.py", "x.pdf", "notes.pdf:7"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("notes.pdf:7: page range '7' is outside 1-3"), std::string::npos)
      << bad.err;
}

// sheet-report: openpyxl from PEP 723 metadata in the scripts; report.xlsx from a CSV in the
// workspace, read back by the skill's second script.
TEST_P(PublicStyleSkillsTest, SheetReportWritesAWorkbookFromACsv) {
  WriteFile(workspace_ / "sales.csv",
            "date,region,product,amount\n2024-01-03,north,widget,120\n"
            "2024-01-04,south,gadget,80.5\n2024-01-05,north,gadget,40\n"
            "2024-01-07,east,widget,15\n");
  HandOver();
  ASSERT_NO_FATAL_FAILURE(Prepare("sheet-report"));
  if (IsSkipped()) return;

  const CliResult made = Exec("sheet-report", {"python", "scripts/csv_to_xlsx.py", "sales.csv",
                                               "--group-by", "region", "--sum", "amount"});
  ASSERT_EQ(made.exit_code, 0) << made.out << made.err;
  EXPECT_EQ(made.out, "wrote report.xlsx: 4 rows, 3 groups\n");
  EXPECT_EQ(ReadFile(workspace_ / "report.xlsx").substr(0, 2), "PK");  // A zip, as xlsx is.
  EXPECT_EQ(OwnerOf(workspace_ / "report.xlsx"), owner_);
  const CliResult dump =
      Exec("sheet-report", {"python", "scripts/dump_xlsx.py", "report.xlsx", "--sheet", "Summary"});
  ASSERT_EQ(dump.exit_code, 0) << dump.out << dump.err;
  EXPECT_EQ(dump.out,
            "# Summary\nregion\trows\ttotal amount\neast\t1\t15\nnorth\t2\t160\n"
            "south\t1\t80.5\nall\t4\t255.5\n");
  // A column the CSV lacks is named, with the ones it has.
  const CliResult bad = Exec(
      "sheet-report", {"python", "scripts/csv_to_xlsx.py", "sales.csv", "--group-by", "country"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("no column 'country' (columns: date, region, product, amount)"),
            std::string::npos)
      << bad.err;
}

// repo-digest: git log/status and sort|uniq|head pipelines on a repository in the workspace;
// git accepts the repository as the skill's own (no "dubious ownership").
TEST_P(PublicStyleSkillsTest, RepoDigestSummarisesARepository) {
  // Three commits by two authors, at a fixed time, and one untracked file; made on the host.
  const std::string script = "set -e; cd '" + workspace_.string() + "'\n" + R"(
export GIT_AUTHOR_DATE=2024-03-01T10:00:00Z GIT_COMMITTER_DATE=2024-03-01T10:00:00Z
export GIT_AUTHOR_EMAIL=dev@example.com GIT_COMMITTER_EMAIL=dev@example.com
commit() { GIT_AUTHOR_NAME="$1" GIT_COMMITTER_NAME="$1" git commit -q -m "$2" "$3"; }
git -c init.defaultBranch=main init -q .
echo a > a.txt; git add a.txt; commit 'Ada L' 'Add a' --
echo b > b.txt; echo a >> a.txt; git add .; commit Bob 'Add b' --
echo a >> a.txt; commit 'Ada L' 'More a' -a
echo x > untracked.txt
)";
  WriteFile(base_.path() / "make-repo.sh", script);
  ASSERT_EQ(std::system(("sh " + (base_.path() / "make-repo.sh").string()).c_str()), 0);
  HandOver();

  const CliResult digest = Exec("repo-digest", {"python", "scripts/digest.py", "--top", "2"});
  ASSERT_EQ(digest.exit_code, 0) << digest.out << digest.err;
  const std::string written = ReadFile(workspace_ / "DIGEST.md");
  EXPECT_EQ(digest.out, written);
  for (const char* expected :
       {"# Digest of branch main\n", "\n3 commit(s).\n", " 2024-03-01 More a\n",
        "## Most active authors\n\n- Ada L: 2\n- Bob: 1\n",
        "## Files changed most often\n\n- a.txt: 3\n- b.txt: 1\n",
        "## Uncommitted\n\n- `?? untracked.txt`\n"}) {
    EXPECT_NE(written.find(expected), std::string::npos) << expected << " in\n" << written;
  }
  EXPECT_EQ(written.find("Add a"), std::string::npos) << "--top 2 lists two commits";
  EXPECT_EQ(OwnerOf(workspace_ / "DIGEST.md"), owner_);
  // Not a repository: the script's own error.
  fs::remove_all(workspace_ / ".git");
  const CliResult bad = Exec("repo-digest", {"python", "scripts/digest.py"});
  EXPECT_EQ(bad.exit_code, 1);
  EXPECT_NE(bad.err.find("not inside a git work tree"), std::string::npos) << bad.err;
}

// site-smoke: the script serves the workspace's site with `python -m http.server` on the
// sandbox's 127.0.0.1 and crawls it with urllib; one broken link fails the check.
TEST_P(PublicStyleSkillsTest, SiteSmokeServesAndChecksASiteOnTheLoopback) {
  WriteFile(
      workspace_ / "public" / "index.html",
      "<html><body><a href=\"about.html\">About</a> <a href=\"docs/\">Docs</a>"
      "<img src=\"logo.png\"> <a href=\"https://example.org/\">elsewhere</a></body></html>\n");
  WriteFile(workspace_ / "public" / "about.html",
            "<html><body><a href=\"/\">Home</a> <a href=\"missing.html\">gone</a></body></html>\n");
  WriteFile(workspace_ / "public" / "docs" / "index.html",
            "<html><body><a href=\"../about.html\">About</a></body></html>\n");
  WriteFile(workspace_ / "public" / "logo.png", "not really a png");
  HandOver();

  const CliResult smoke = Exec("site-smoke", {"python", "scripts/smoke.py", "public/"});
  EXPECT_EQ(smoke.exit_code, 1) << smoke.out << smoke.err;  // The broken link.
  EXPECT_EQ(smoke.out,
            "ok   200 /\nok   200 /about.html\nok   200 /docs/\nok   200 /logo.png\n"
            "FAIL 404 /missing.html\n5 checked, 1 failed; report in smoke-report.json\n")
      << smoke.err;
  const nlohmann::json report = nlohmann::json::parse(ReadFile(workspace_ / "smoke-report.json"));
  EXPECT_EQ(report["checked"], 5);
  EXPECT_EQ(report["failed"], 1);
  EXPECT_EQ(report["base"].get<std::string>().rfind("http://127.0.0.1:", 0), 0u) << report;
  EXPECT_EQ(OwnerOf(workspace_ / "smoke-report.json"), owner_);

  // Control: with the link fixed the same check passes.
  WriteFile(workspace_ / "public" / "missing.html", "<html><body>here</body></html>\n");
  ::lchown((workspace_ / "public" / "missing.html").c_str(), owner_, owner_);
  const CliResult fixed = Exec("site-smoke", {"python", "scripts/smoke.py", "public/"});
  EXPECT_EQ(fixed.exit_code, 0) << fixed.out << fixed.err;
  EXPECT_NE(fixed.out.find("5 checked, 0 failed"), std::string::npos) << fixed.out;
}

// parallel-count: a multiprocessing.Pool (its locks live in /dev/shm) over the workspace's
// files; the CSV and the word list land in the workspace.
TEST_P(PublicStyleSkillsTest, ParallelCountUsesAProcessPool) {
  for (int i = 1; i <= 6; ++i) {
    WriteFile(workspace_ / "docs" / ("f" + std::to_string(i) + ".txt"),
              "The cat sat on the mat.\nDon't panic: the end.\n");
  }
  WriteFile(workspace_ / "docs" / "sub" / "notes.md", "# Notes\nthe cat again\n");
  WriteFile(workspace_ / "docs" / "skipped.bin", "not text\n");
  HandOver();

  const CliResult counted = Exec(
      "parallel-count", {"python", "scripts/count.py", "docs", "--workers", "4", "--top", "3"});
  ASSERT_EQ(counted.exit_code, 0) << counted.out << counted.err;
  EXPECT_EQ(counted.out,
            "counted 7 file(s) with a pool of 4 worker process(es): 14 lines, 64 words\n");
  std::string expected_csv = "file,lines,words,chars\n";
  for (int i = 1; i <= 6; ++i) expected_csv += "docs/f" + std::to_string(i) + ".txt,2,10,46\n";
  expected_csv += "docs/sub/notes.md,2,4,22\nTOTAL,14,64,298\n";
  EXPECT_EQ(ReadFile(workspace_ / "counts.csv"), expected_csv);
  EXPECT_EQ(ReadFile(workspace_ / "top-words.txt"), "19 the\n7 cat\n6 don't\n");
  EXPECT_EQ(OwnerOf(workspace_ / "counts.csv"), owner_);
  EXPECT_EQ(OwnerOf(workspace_ / "top-words.txt"), owner_);
}

// log-triage: `bash scripts/triage.sh app.log`, as its SKILL.md says. The guard reads the
// skill's own script (docs/risk-guard.md, "A skill's own shell scripts"), so the shell does not
// run unseen commands; inside, awk, grep, sed, sort, uniq, head and cut do the work.
TEST_P(PublicStyleSkillsTest, LogTriageRunsItsShellScript) {
  WriteFile(workspace_ / "app.log",
            "2024-05-01T10:00:00Z INFO server: listening on port 8080\n"
            "2024-05-01T10:00:03Z ERROR db: connection refused (attempt 1)\n"
            "2024-05-01T10:00:05Z ERROR db: connection refused (attempt 2)\n"
            "2024-05-01T10:01:00Z FATAL worker: out of memory\n");
  // The same shell on a script that is not the skill's: nobody read it, so it is refused.
  WriteFile(workspace_ / "mine.sh", "echo not the skill's\n");
  HandOver();

  const CliResult triage = Exec("log-triage", {"bash", "scripts/triage.sh", "app.log"});
  ASSERT_EQ(triage.exit_code, 0) << triage.out << triage.err;
  const std::string expected =
      "log: app.log (4 lines)\n\nentries per level:\n      2 ERROR\n      1 FATAL\n"
      "      1 INFO\n\nmost frequent errors:\n      2 db: connection refused (attempt N)\n"
      "      1 worker: out of memory\n\n"
      "first error: 2024-05-01T10:00:03Z ERROR db: connection refused (attempt 1)\n"
      "last error:  2024-05-01T10:01:00Z FATAL worker: out of memory\n";
  EXPECT_EQ(triage.out, expected);
  EXPECT_EQ(ReadFile(workspace_ / "triage.txt"), expected);
  EXPECT_EQ(OwnerOf(workspace_ / "triage.txt"), owner_);

  const CliResult unseen = Exec("log-triage", {"bash", "mine.sh"});
  EXPECT_EQ(unseen.exit_code, 3) << unseen.out << unseen.err;
  EXPECT_NE(unseen.err.find("rule shell-script-unseen"), std::string::npos) << unseen.err;
}

// The set is what the tests above cover, every skill passes strict validation, and none has a
// skill.toml: what they may run comes from inference alone.
TEST(PublicStyleSkillsSetTest, EverySkillIsTestedValidAndWithoutAManifest) {
  std::set<std::string> on_disk;
  for (const auto& entry : fs::directory_iterator(PublicStyleDir())) {
    if (!entry.is_directory()) continue;
    on_disk.insert(entry.path().filename().string());
    EXPECT_TRUE(fs::exists(entry.path() / "SKILL.md")) << entry.path();
    EXPECT_FALSE(fs::exists(entry.path() / "skill.toml")) << entry.path();
  }
  EXPECT_EQ(on_disk, (std::set<std::string>{"log-triage", "parallel-count", "pdf-pages",
                                            "repo-digest", "sheet-report", "site-smoke"}));
  VarTmpDir base;
  const CliResult valid =
      RunCli(base.path(), base.path() / "home", {"validate", PublicStyleDir().string()});
  EXPECT_EQ(valid.exit_code, 0) << valid.out << valid.err;
}

INSTANTIATE_TEST_SUITE_P(Callers, PublicStyleSkillsTest,
                         ::testing::Values(Caller::kRoot, Caller::kUnprivileged), CallerName);

}  // namespace
}  // namespace skillrt
