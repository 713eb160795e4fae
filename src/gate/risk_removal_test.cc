// The removal rules and the unseen-script rule: every command line of the security review
// that deleted a declared directory (/srv/x) while rated below critical, spelled the other
// ways the same mechanism allows; and, as the positive control, ordinary command lines that
// keep the rating they had.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "skillrt/risk.h"

namespace skillrt {
namespace {

std::string Rules(const RiskAssessment& a) {
  std::string out;
  for (const RiskReason& r : a.reasons) out += r.rule + "(" + r.reason + ") ";
  return out;
}

bool HasRule(const RiskAssessment& a, std::string_view rule) {
  for (const RiskReason& r : a.reasons) {
    if (r.rule == rule) return true;
  }
  return false;
}

struct Critical {
  std::string line;
  std::string rule;
};

void ExpectCritical(const std::vector<Critical>& cases) {
  for (const Critical& c : cases) {
    RiskAssessment a = AssessShellRisk(c.line);
    EXPECT_EQ(a.level, RiskLevel::kCritical) << c.line << " -> " << Rules(a);
    EXPECT_TRUE(HasRule(a, c.rule)) << c.line << " -> " << Rules(a);
  }
}

// The command lines of the review, one per mechanism it used.
TEST(RiskRemovalTest, TheReviewedBypassesAreCritical) {
  ExpectCritical({
      {"rm --recur -f /srv/x", "rm-recursive-system"},
      {"rm -rf /s?v/x", "rm-recursive-system"},
      {"rm -rf /sr[v]/x", "rm-recursive-system"},
      {"rm -rf /*/x", "rm-recursive-home"},  // Its worst reading: /home/x.
      {"rm -rf ${X:-/srv/x}", "rm-recursive-root"},
      {"rm -rf $PWD/../srv/x", "rm-recursive-root"},
      {"sh -c 'rm -rf \"$0\"' /srv/x", "rm-recursive-root"},
      {"env -i rm -rf /srv/x", "rm-recursive-system"},
      {"env -i rm --recur -f /srv/x/*", "rm-recursive-system"},
      {"find -P /srv/x -delete", "find-delete-system"},
      {"find /srv/x -maxdepth 0 -exec rm -rf {} +", "rm-recursive-system"},
      {"sh scripts/evil.sh", "shell-script-unseen"},
      {"sh", "shell-script-unseen"},  // Reads skillrt's own standard input.
      {"rm -rf /srv/x/*", "rm-recursive-system"},
      {"rm -rf /srv/x", "rm-recursive-system"},
  });
}

TEST(RiskRemovalTest, OptionsAreReadAsRmReadsThem) {
  ExpectCritical({
      {"rm --recursive --force /srv/x", "rm-recursive-system"},
      {"rm --rec /srv/x", "rm-recursive-system"},
      {"rm --r -f /srv/x", "rm-recursive-system"},
      {"rm -fR /srv/x", "rm-recursive-system"},
      {"rm -Rf /srv/x", "rm-recursive-system"},
      {"rm -f -R /srv/x", "rm-recursive-system"},
      {"rm /srv/x -rf", "rm-recursive-system"},       // Options after the operand.
      {"rm /srv/x --recur", "rm-recursive-system"},
      {"rm -rf -- /srv/x", "rm-recursive-system"},
      {"rm --bogus -r /srv/x", "rm-recursive-system"},  // The rest still counts.
      {"rm --no-p -rf /x", "rm-no-preserve-root"},
      {"/bin/rm -r /srv/x", "rm-recursive-system"},
  });
  RiskAssessment a = AssessShellRisk("rm -f -- -r /srv/x");  // "-r" is a file name here.
  EXPECT_EQ(a.level, RiskLevel::kLow) << Rules(a);
}

TEST(RiskRemovalTest, PatternsAreReadAtTheirWorst) {
  ExpectCritical({
      {"rm -rf /s*/x", "rm-recursive-system"},
      {"rm -rf /?rv/x", "rm-recursive-system"},
      {"rm -rf /[r-t]rv/x", "rm-recursive-system"},
      {"rm -rf /srv/?", "rm-recursive-system"},
      {"rm -rf /h*/alice", "rm-recursive-home"},
      {"rm -rf /tmp/.*/srv/x", "rm-recursive-system"},  // ".*" can be "..".
      {"mv /s?v/x /tmp/y", "move-system"},
  });
}

TEST(RiskRemovalTest, ExpansionsAndPositionalParametersCanBeAnyPath) {
  ExpectCritical({
      {"rm -rf \"$X\"", "rm-recursive-root"},
      {"rm -rf \"${X}\"/", "rm-recursive-root"},
      {"rm -rf $(cat list)", "rm-recursive-root"},
      {"rm -rf `cat list`", "rm-recursive-root"},
      {"rm -rf /tmp/$X", "rm-recursive-root"},  // X=../srv/x
      {"sh -c 'rm -rf \"$1\"' _ /srv/x", "rm-recursive-root"},
      {"sh -c 'rm -rf \"$@\"' _ /srv/x", "rm-recursive-root"},
      {"bash -c 'rm -rf $0' /srv/x", "rm-recursive-root"},
      {"find /srv/x -exec sh -c 'rm -rf \"$1\"' _ {} \\;", "rm-recursive-root"},
  });
}

TEST(RiskRemovalTest, RelativePathsFollowTheDirectoryChanges) {
  ExpectCritical({
      {"rm -rf ../srv/x", "rm-recursive-root"},  // Above the start: anywhere.
      {"cd / && rm -rf srv/x", "rm-recursive-system"},
      {"cd /srv && rm -rf x", "rm-recursive-system"},
      {"cd /srv; rm -rf *", "rm-recursive-system"},
      {"(cd / ; rm -rf srv/x)", "rm-recursive-system"},
      {"cd \"$D\" && rm -rf x", "rm-recursive-root"},
      {"cd .. && rm -rf srv/x", "rm-recursive-root"},
      {"cd && rm -rf *", "rm-recursive-home"},
      {"pushd /srv && rm -rf x", "rm-recursive-system"},
      {"CDPATH=/srv; cd x && rm -rf *", "rm-recursive-root"},
      {"env -C / rm -rf srv/x", "rm-recursive-system"},
      {"env --chdir=/srv rm -rf x", "rm-recursive-system"},
      {"env -i -C /srv rm -rf x", "rm-recursive-system"},
      {"find /srv -maxdepth 1 -name x -execdir rm -rf x \\;", "rm-recursive-system"},
  });
}

TEST(RiskRemovalTest, FindIsReadAsFindReadsItself) {
  ExpectCritical({
      {"find /srv/x -delete", "find-delete-system"},
      {"find -L /srv/x -delete", "find-delete-system"},
      {"find -H -- /srv/x -delete", "find-delete-system"},
      {"find -D tree /srv/x -delete", "find-delete-system"},
      {"find -O3 /srv/x -delete", "find-delete-system"},
      {"find / -name x -delete", "find-delete-system"},
      {"find /s?v/x -delete", "find-delete-system"},
      {"find $D -delete", "find-delete-system"},
      {"find -files0-from list -delete", "find-delete-system"},
      {"find /srv -maxdepth 1 -name x -exec rm -rf {} +", "rm-recursive-system"},
      {"find /srv/x -maxdepth 0 -exec rm -rf {} \\;", "rm-recursive-system"},
      {"find /srv/x -maxdepth 0 -execdir rm -rf {} \\;", "rm-recursive-system"},
      {"find /srv/x -maxdepth 0 -ok rm -rf {} \\;", "rm-recursive-system"},
      {"find /srv/x -exec env rm -rf {} +", "rm-recursive-system"},
      {"find /srv/x -exec nice rm -rf {}/ +", "rm-recursive-system"},
      {"find / -maxdepth 1 -exec rm -rf {} +", "rm-recursive-root"},
  });
}

TEST(RiskRemovalTest, XargsInputCanBeAnyPath) {
  ExpectCritical({
      {"echo /srv/x | xargs rm -rf", "rm-recursive-root"},
      {"find /srv -name x | xargs rm -rf", "rm-recursive-root"},
      {"echo /srv/x | xargs -I{} rm -rf {}", "rm-recursive-root"},
      {"echo /srv/x | xargs --replace=F rm -rf F", "rm-recursive-root"},
      {"echo /srv/x | xargs -0 -n1 rm -rf", "rm-recursive-root"},
      {"echo /srv/x | xargs mv -t /tmp", "move-system"},
  });
}

TEST(RiskRemovalTest, EveryWrapperIsLookedThrough) {
  ExpectCritical({
      {"env -- rm -rf /srv/x", "rm-recursive-system"},
      {"env - rm -rf /srv/x", "rm-recursive-system"},
      {"env -iu HOME rm -rf /srv/x", "rm-recursive-system"},
      {"env --ignore-env rm -rf /srv/x", "rm-recursive-system"},
      {"timeout 5 rm -rf /srv/x", "rm-recursive-system"},
      {"timeout -s KILL 5 rm -rf /srv/x", "rm-recursive-system"},
      {"nice -n 1 rm -rf /srv/x", "rm-recursive-system"},
      {"nice -5 rm -rf /srv/x", "rm-recursive-system"},
      {"nohup rm -rf /srv/x", "rm-recursive-system"},
      {"stdbuf -o0 rm -rf /srv/x", "rm-recursive-system"},
      {"setsid -f rm -rf /srv/x", "rm-recursive-system"},
      {"ionice -c3 rm -rf /srv/x", "rm-recursive-system"},
      {"taskset -c 0 rm -rf /srv/x", "rm-recursive-system"},
      {"command -- rm -rf /srv/x", "rm-recursive-system"},
      {"exec -a x rm -rf /srv/x", "rm-recursive-system"},
      {"time -p rm -rf /srv/x", "rm-recursive-system"},
      {"busybox rm -rf /srv/x", "rm-recursive-system"},
      {"watch -x rm -rf /srv/x", "rm-recursive-system"},
      {"sudo -D / rm -rf srv/x", "rm-recursive-system"},
      {"mv -t /tmp /srv/x", "move-system"},
      {"mv --target-directory=/tmp /srv/x", "move-system"},
  });
}

TEST(RiskRemovalTest, AShellWhoseCommandsAreUnseenIsCritical) {
  ExpectCritical({
      {"bash scripts/evil.sh", "shell-script-unseen"},
      {"sh -e scripts/evil.sh", "shell-script-unseen"},
      {"sh -o pipefail scripts/evil.sh", "shell-script-unseen"},
      {"sh < scripts/evil.sh", "shell-script-unseen"},
      {"sh -s", "shell-script-unseen"},
      {"bash -", "shell-script-unseen"},
      {"exec sh", "shell-script-unseen"},
      {"env sh scripts/evil.sh", "shell-script-unseen"},
      {"nohup bash scripts/evil.sh", "shell-script-unseen"},
      {"busybox sh scripts/evil.sh", "shell-script-unseen"},
      {"cat scripts/evil.sh | sh", "shell-script-unseen"},
      {"BASH_ENV=evil.sh bash -c true", "shell-script-unseen"},
  });
  RiskAssessment a = AssessShellRisk("sh -o pipefail scripts/evil.sh");
  ASSERT_FALSE(a.reasons.empty());
  EXPECT_NE(a.reasons[0].reason.find("'scripts/evil.sh'"), std::string::npos)
      << a.reasons[0].reason;
  // An exec argv: a shell reading the caller's standard input.
  auto parsed = ParseArgv({"sh"});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(AssessRisk(*parsed).level, RiskLevel::kCritical);
  parsed = ParseArgv({"sh", "-c", "rm -rf \"$0\"", "/srv/x"});
  ASSERT_TRUE(parsed.has_value());
  EXPECT_EQ(AssessRisk(*parsed).level, RiskLevel::kCritical);
}

TEST(RiskRemovalTest, ReasonsShowTheWorstReading) {
  RiskAssessment a = AssessShellRisk("rm -rf /s?v/x");
  ASSERT_FALSE(a.reasons.empty());
  EXPECT_EQ(a.reasons[0].rule, "rm-recursive-system");
  EXPECT_NE(a.reasons[0].reason.find("'/s?v/x' could name '/srv/x'"), std::string::npos)
      << a.reasons[0].reason;
  a = AssessShellRisk("rm -rf \"$X\"");
  EXPECT_NE(a.reasons[0].reason.find("'$X' could name '/'"), std::string::npos)
      << a.reasons[0].reason;
  a = AssessShellRisk("rm -rf /srv/x");
  EXPECT_NE(a.reasons[0].reason.find("('/srv/x')"), std::string::npos) << a.reasons[0].reason;
}

// Positive control: ordinary command lines keep the rating they had before the worst
// readings (checked against the previous guard when this table was written).
TEST(RiskRemovalTest, OrdinaryCommandLinesKeepTheirRating) {
  struct Benign {
    std::string line;
    RiskLevel level;
  };
  const std::vector<Benign> cases = {
      {"rm -f /tmp/x.txt", RiskLevel::kLow},
      {"ls *.txt", RiskLevel::kLow},
      {"python3 scripts/x.py", RiskLevel::kLow},
      {"rm -rf build", RiskLevel::kMedium},
      {"rm -rf build/*", RiskLevel::kMedium},
      {"rm -rf ./build/*.o", RiskLevel::kMedium},
      {"rm -rf /tmp/build", RiskLevel::kMedium},
      {"rm -rf /tmp/*.log", RiskLevel::kMedium},
      {"rm -rf /var/tmp/x", RiskLevel::kMedium},
      {"rm -rf /tmp/build-$$", RiskLevel::kMedium},
      {"rm -f *.o", RiskLevel::kLow},
      {"rm -r dist", RiskLevel::kLow},
      {"rm -f \"$F\"", RiskLevel::kLow},
      {"rm -d empty", RiskLevel::kLow},
      {"find . -name '*.pyc' -delete", RiskLevel::kLow},
      {"find build -name '*.o' -delete", RiskLevel::kLow},
      {"find . -type d -name __pycache__ -exec rm -rf {} +", RiskLevel::kMedium},
      {"find build -name '*.o' -exec rm -f {} \\;", RiskLevel::kLow},
      {"find /tmp/work -name '*.tmp' -exec rm -f {} +", RiskLevel::kLow},
      {"cd build && rm -rf out", RiskLevel::kMedium},
      {"cd /tmp && rm -rf x", RiskLevel::kMedium},
      {"cd tests && pytest", RiskLevel::kLow},
      {"mv a b", RiskLevel::kLow},
      {"mv -t /tmp a b", RiskLevel::kLow},
      {"mv build/x.o /tmp/", RiskLevel::kLow},
      {"cp -t /tmp a b", RiskLevel::kLow},
      {"env FOO=1 python3 x.py", RiskLevel::kLow},
      {"nice -n 5 python3 x.py", RiskLevel::kLow},
      {"timeout 5 pytest", RiskLevel::kLow},
      {"ls | xargs -0 rm -f", RiskLevel::kLow},
      {"ls *.txt | xargs wc -l", RiskLevel::kLow},
      {"sh -c 'echo hi'", RiskLevel::kLow},
      {"bash -lc 'cd tests && pytest'", RiskLevel::kLow},
      {"sh <<'EOF'\necho hi\nEOF", RiskLevel::kLow},
      {"python3 -c 'print(1)'", RiskLevel::kMedium},
      {"echo 'rm -rf /srv/x'", RiskLevel::kLow},
      {"grep -r 'rm -rf' .", RiskLevel::kLow},
      {"chmod +x \"$F\"", RiskLevel::kLow},
      {"echo x > \"$OUT\"", RiskLevel::kLow},
      {"ls -la /srv/x", RiskLevel::kLow},
  };
  for (const Benign& c : cases) {
    RiskAssessment a = AssessShellRisk(c.line);
    EXPECT_EQ(a.level, c.level) << c.line << " -> " << Rules(a);
  }
}

// Through the allowlist rule: allowing rm, sh, find and env does not let these through.
TEST(RiskRemovalTest, TheGuardRefusesThemEvenWhenEveryCommandIsAllowed) {
  const std::vector<std::string> allowed = {"rm", "sh", "find", "env", "xargs", "echo", "cd"};
  for (std::string line : {"rm --recur -f /srv/x", "rm -rf /s?v/x", "env -i rm -rf /srv/x",
                           "find -P /srv/x -delete", "sh scripts/evil.sh", "sh",
                           "find /srv/x -maxdepth 0 -exec rm -rf {} +",
                           "sh -c 'rm -rf \"$0\"' /srv/x", "cd / && rm -rf srv/x"}) {
    auto parsed = ParseShell(line);
    ASSERT_TRUE(parsed.has_value()) << line;
    GuardVerdict v = GuardCommands(*parsed, allowed);
    EXPECT_FALSE(v.allowed) << line;
    EXPECT_NE(v.message.find("critical risk"), std::string::npos) << line << ": " << v.message;
  }
  auto parsed = ParseShell("rm -rf build && find . -name '*.pyc' -delete");
  ASSERT_TRUE(parsed.has_value());
  GuardVerdict control = GuardCommands(*parsed, allowed);
  EXPECT_TRUE(control.allowed) << control.message;
}

}  // namespace
}  // namespace skillrt
