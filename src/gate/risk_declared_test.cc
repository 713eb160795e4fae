// The declared-path removal rules: with the run's declared paths in the RiskContext, removing a
// declared directory, a directory above one, or all of its contents is critical in every form
// the guard reads (options, patterns, expansions, positional parameters, directory changes,
// find, xargs, wrappers). /data/proj is a made-up path that is not a system path, so only the
// declaration can make these critical. Positive controls: the same lines without a context
// keep their previous rating, and removals inside the declared directory keep theirs.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "skillrt/risk.h"

namespace skillrt {
namespace {

const RiskContext kDeclared{.declared_paths = {"/data/proj"}};

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

struct Line {
  std::string line;
  std::string rule;       // The rule that makes it critical with /data/proj declared.
  RiskLevel undeclared;   // Its level without a context (the guard before declared paths).
};

// Each line is critical with the rule given when /data/proj is declared, and has exactly its
// previous level without a context.
void ExpectCriticalOnlyWhenDeclared(const std::vector<Line>& lines) {
  for (const Line& c : lines) {
    RiskAssessment a = AssessShellRisk(c.line, kDeclared);
    EXPECT_EQ(a.level, RiskLevel::kCritical) << c.line << " -> " << Rules(a);
    EXPECT_TRUE(HasRule(a, c.rule)) << c.line << " -> " << Rules(a);
    RiskAssessment control = AssessShellRisk(c.line);
    EXPECT_EQ(control.level, c.undeclared) << "without a context: " << c.line << " -> "
                                           << Rules(control);
    EXPECT_EQ(AssessShellRisk(c.line, RiskContext{}).level, c.undeclared) << c.line;
  }
}

constexpr RiskLevel kLow = RiskLevel::kLow;
constexpr RiskLevel kMedium = RiskLevel::kMedium;
constexpr RiskLevel kCritical = RiskLevel::kCritical;

TEST(RiskDeclaredTest, EachRemovalFormOfADeclaredDirectoryIsCritical) {
  ExpectCriticalOnlyWhenDeclared({
      {"rm -r /data/proj", "rm-recursive-declared", kLow},
      {"rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"rm -rf /data/proj/", "rm-recursive-declared", kMedium},
      {"rm -rf /data/proj/*", "rm-recursive-declared", kMedium},
      {"rm -rf /data/proj/.*", "rm-recursive-declared", kMedium},
      {"find /data/proj -delete", "find-delete-declared", kLow},
      {"find /data/proj -mindepth 1 -delete", "find-delete-declared", kLow},
      {"find /data/proj/* -delete", "find-delete-declared", kLow},
      {"find /data/proj -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data/proj -exec rm -rf {} \\;", "rm-recursive-declared", kMedium},
      {"find /data/proj -mindepth 1 -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data/proj -maxdepth 0 -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"mv /data/proj /var/tmp/old", "move-declared", kLow},
      {"mv /data/proj/* /var/tmp/old/", "move-declared", kLow},
      {"mv -t /var/tmp/old /data/proj", "move-declared", kLow},
  });
}

TEST(RiskDeclaredTest, ADirectoryAboveADeclaredOneIsCritical) {
  ExpectCriticalOnlyWhenDeclared({
      {"rm -rf /data", "rm-recursive-declared", kMedium},
      {"rm -rf /data/", "rm-recursive-declared", kMedium},
      {"rm -rf /data/*", "rm-recursive-declared", kMedium},
      {"rm -rf /data/proj/..", "rm-recursive-declared", kMedium},
      {"find /data -delete", "find-delete-declared", kLow},
      {"find /data -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"mv /data /var/tmp/old", "move-declared", kLow},
  });
}

TEST(RiskDeclaredTest, OptionsAreReadAsTheToolsReadThem) {
  ExpectCriticalOnlyWhenDeclared({
      {"rm --recur -f /data/proj", "rm-recursive-declared", kMedium},
      {"rm --recursive /data/proj", "rm-recursive-declared", kLow},
      {"rm -fR /data/proj", "rm-recursive-declared", kMedium},
      {"rm /data/proj -rf", "rm-recursive-declared", kMedium},
      {"rm -rf -- /data/proj", "rm-recursive-declared", kMedium},
      {"/bin/rm -r /data/proj/*", "rm-recursive-declared", kLow},
      {"env -i rm --recur -f /data/proj/*", "rm-recursive-declared", kMedium},
      {"find -P /data/proj -delete", "find-delete-declared", kLow},
      {"find -L /data/proj -mindepth 1 -delete", "find-delete-declared", kLow},
      {"find -H -- /data/proj -delete", "find-delete-declared", kLow},
      {"find -D tree -O3 /data/proj -delete", "find-delete-declared", kLow},
      {"mv --target-directory=/var/tmp/old /data/proj", "move-declared", kLow},
  });
}

TEST(RiskDeclaredTest, PatternsAreReadAtTheirWorst) {
  ExpectCriticalOnlyWhenDeclared({
      {"rm -rf /d?ta/proj", "rm-recursive-declared", kMedium},
      {"rm -rf /dat[a]/proj", "rm-recursive-declared", kMedium},
      {"rm -rf /data/pro?", "rm-recursive-declared", kMedium},
      {"rm -rf /data/p*", "rm-recursive-declared", kMedium},
      {"rm -rf /d?ta/proj/*", "rm-recursive-declared", kMedium},
      {"rm -rf /data/proj/x/.*/.*", "rm-recursive-declared", kMedium},  // ".*" can be "..".
      {"find /d?ta/proj -delete", "find-delete-declared", kLow},
      {"mv /data/pro? /var/tmp/old", "move-declared", kLow},
  });
}

// Expansions and positional parameters can be any path: `/` already makes them critical, with
// or without declared paths, and they stay so.
TEST(RiskDeclaredTest, ExpansionsAndPositionalParametersStayCritical) {
  for (std::string line :
       {"rm -rf ${X:-/data/proj}", "rm -rf \"$D\"", "rm -rf $PWD/../data/proj",
        "sh -c 'rm -rf \"$0\"' /data/proj", "sh -c 'rm -rf \"$1\"/*' _ /data/proj",
        "bash -c 'rm -rf $@' _ /data/proj", "echo /data/proj | xargs rm -rf",
        "find /data/proj -name x | xargs -I{} rm -rf {}"}) {
    RiskAssessment a = AssessShellRisk(line, kDeclared);
    EXPECT_EQ(a.level, RiskLevel::kCritical) << line << " -> " << Rules(a);
    EXPECT_TRUE(HasRule(a, "rm-recursive-root")) << line << " -> " << Rules(a);
    EXPECT_EQ(AssessShellRisk(line).level, RiskLevel::kCritical) << line;
  }
}

TEST(RiskDeclaredTest, RelativePathsFollowTheDirectoryChanges) {
  ExpectCriticalOnlyWhenDeclared({
      {"cd /data && rm -rf proj", "rm-recursive-declared", kMedium},
      {"cd /data && rm -rf proj/*", "rm-recursive-declared", kMedium},
      {"cd /data && rm -rf ./proj/", "rm-recursive-declared", kMedium},
      {"cd /data; rm -rf *", "rm-recursive-declared", kMedium},
      {"cd /data/proj && rm -rf *", "rm-recursive-declared", kMedium},
      {"cd /data/proj && rm -rf .", "rm-recursive-declared", kMedium},
      {"(cd /data && rm -rf proj)", "rm-recursive-declared", kMedium},
      {"pushd /data && rm -rf proj", "rm-recursive-declared", kMedium},
      {"env -C /data rm -rf proj", "rm-recursive-declared", kMedium},
      {"env --chdir=/data/proj rm -rf ./*", "rm-recursive-declared", kMedium},
      {"cd /data && find proj -delete", "find-delete-declared", kLow},
      {"cd /data/proj && find . -delete", "find-delete-declared", kLow},
      {"cd /data/proj && find -delete", "find-delete-declared", kLow},  // Starts at ".".
      {"cd /data && find . -name proj -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data -maxdepth 1 -name proj -execdir rm -rf proj \\;", "rm-recursive-declared",
       kMedium},
      {"cd /data && mv proj /var/tmp/old", "move-declared", kLow},
  });
}

TEST(RiskDeclaredTest, FindIsNarrowedOnlyByANameTestBeforeTheAction) {
  ExpectCriticalOnlyWhenDeclared({
      // No test, or tests that do not narrow by name: everything may be removed.
      {"find /data/proj -type f -delete", "find-delete-declared", kLow},
      {"find /data/proj -mtime +7 -delete", "find-delete-declared", kLow},
      {"find /data/proj -name '*' -delete", "find-delete-declared", kLow},
      {"find /data/proj -name '.*' -delete", "find-delete-declared", kLow},
      {"find /data/proj -name \"$P\" -delete", "find-delete-declared", kLow},
      // A name test that other files can get around, or that comes after the action.
      {"find /data/proj ! -name keep -delete", "find-delete-declared", kLow},
      {"find /data/proj -not -name keep -delete", "find-delete-declared", kLow},
      {"find /data/proj -name '*.pyc' -o -delete", "find-delete-declared", kLow},
      {"find /data/proj \\( -name '*.pyc' \\) -delete", "find-delete-declared", kLow},
      {"find /data/proj -delete -name x", "find-delete-declared", kLow},
      {"find /data/proj -name '*.pyc' -print , -delete", "find-delete-declared", kLow},
      // -exec removes what the name test lets through: the declared path or one above it.
      {"find /data -name proj -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data -iname PROJ -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data/proj -name 'p*' -exec rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data -name 'pro?' -execdir rm -rf {} \\;", "rm-recursive-declared", kMedium},
      {"find /data/proj -type d -exec rm -rf {} +", "rm-recursive-declared", kMedium},
  });
}

TEST(RiskDeclaredTest, EveryWrapperIsLookedThrough) {
  ExpectCriticalOnlyWhenDeclared({
      {"env -- rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"env FOO=1 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"timeout 5 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"nice -n 1 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"nohup rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"stdbuf -o0 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"setsid -f rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"ionice -c3 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"taskset -c 0 rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"command -- rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"exec -a x rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"time -p rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"busybox rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"watch -x rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"sh -c 'rm -rf /data/proj/*'", "rm-recursive-declared", kMedium},
      {"bash -lc 'cd /data && rm -rf proj'", "rm-recursive-declared", kMedium},
      {"echo x | sh -c 'rm -rf /data/proj'", "rm-recursive-declared", kMedium},
      {"true && rm -rf /data/proj", "rm-recursive-declared", kMedium},
      {"x=$(rm -rf /data/proj)", "rm-recursive-declared", kMedium},
      {"find /data/proj -exec env rm -rf {} +", "rm-recursive-declared", kMedium},
      {"find /data/proj -exec nice rm -rf {}/ +", "rm-recursive-declared", kMedium},
      {"find /data/proj -exec sh -c 'echo' \\; -delete", "find-delete-declared", kLow},
  });
}

// The plan gives both the declared path and its resolved form: either one counts.
TEST(RiskDeclaredTest, EveryDeclaredPathCounts) {
  const RiskContext both{.declared_paths = {"/data/link", "/store/real"}};
  for (std::string line : {"rm -rf /data/link", "rm -rf /store/real", "rm -rf /store/real/*",
                           "rm -rf /store", "find /store/real -delete"}) {
    EXPECT_EQ(AssessShellRisk(line, both).level, RiskLevel::kCritical) << line;
  }
  // Declared paths are normalised lexically; a relative one means nothing and is ignored.
  const RiskContext spelled{.declared_paths = {"/data//proj/./", "relative/dir"}};
  EXPECT_EQ(AssessShellRisk("rm -rf /data/proj", spelled).level, RiskLevel::kCritical);
  EXPECT_EQ(AssessShellRisk("cd /var/tmp && rm -rf relative/dir", spelled).level,
            RiskLevel::kMedium);
  // A declared path deeper than the guard otherwise looks below find's starting points.
  const RiskContext deep{.declared_paths = {"/data/a/.b/c/d/e/proj"}};
  RiskAssessment a = AssessShellRisk("find /data -name proj -exec rm -rf {} +", deep);
  EXPECT_EQ(a.level, RiskLevel::kCritical) << Rules(a);
  a = AssessShellRisk("find /data -name other -exec rm -rf {} +", deep);
  EXPECT_EQ(a.level, RiskLevel::kMedium) << Rules(a);
}

// Positive control: what is removed lies inside the declared directory; the declaration
// changes nothing (levels checked against the guard before declared paths).
TEST(RiskDeclaredTest, RemovalsInsideADeclaredDirectoryKeepTheirRating) {
  struct Inside {
    std::string line;
    RiskLevel level;
  };
  const std::vector<Inside> cases = {
      {"rm -rf /data/proj/build", kMedium},
      {"rm -f /data/proj/out.txt", kLow},
      {"rm -r /data/proj/build", kLow},
      {"rm -rf /data/proj/build/*", kMedium},
      {"rm -rf /data/proj/*.o", kMedium},
      {"rm -rf /data/proj/b?ild", kMedium},
      {"rm -rf /data/proj/.cache", kMedium},
      {"rm -f /data/proj/*", kLow},  // Not recursive: no directory is removed.
      {"rm -rf /data/projects", kMedium},
      {"rm -rf /data/other", kMedium},
      {"cd /data/proj && rm -rf build", kMedium},
      {"find /data/proj -name '*.pyc' -delete", kLow},
      {"find /data/proj -iname '*.PYC' -delete", kLow},
      {"find /data/proj -type f -name '*.pyc' -delete", kLow},
      {"find /data/proj -name '*.pyc' -a -mtime +1 -delete", kLow},
      {"find /data/proj -name '*.pyc' -delete -o -print", kLow},
      {"find /data -name '*.pyc' -delete", kLow},
      {"find /data -name proj -delete", kLow},  // Removes it only if it is empty.
      {"find /data/proj/build -delete", kLow},
      {"cd /data/proj && find . -name '*.pyc' -delete", kLow},
      {"find /data/proj -name __pycache__ -exec rm -rf {} +", kMedium},
      {"find /data/proj -name '*.pyc' -exec rm -f {} +", kLow},
      {"find /data/proj/build -exec rm -rf {} +", kMedium},
      {"mv /data/proj/a /data/proj/b", kLow},
      {"mv /var/tmp/x /data/proj/", kLow},
      {"ls -la /data/proj", kLow},
      {"cp -r /data/proj /var/tmp/backup", kLow},
  };
  for (const Inside& c : cases) {
    RiskAssessment a = AssessShellRisk(c.line, kDeclared);
    EXPECT_EQ(a.level, c.level) << c.line << " -> " << Rules(a);
    EXPECT_EQ(AssessShellRisk(c.line).level, c.level) << "without a context: " << c.line;
  }
}

TEST(RiskDeclaredTest, ReasonsNameTheDeclaredPath) {
  auto reason = [](std::string line) {
    RiskAssessment a = AssessShellRisk(line, kDeclared);
    return a.reasons.empty() ? std::string() : a.reasons[0].reason;
  };
  EXPECT_NE(reason("rm -rf /data/proj").find("('/data/proj')"), std::string::npos)
      << reason("rm -rf /data/proj");
  EXPECT_NE(reason("rm -rf /d?ta/proj").find("('/d?ta/proj' could name '/data/proj')"),
            std::string::npos)
      << reason("rm -rf /d?ta/proj");
  EXPECT_NE(reason("rm -rf /data").find("('/data', which holds the declared '/data/proj')"),
            std::string::npos)
      << reason("rm -rf /data");
  EXPECT_NE(reason("rm -rf /data/proj/*").find("all of the declared '/data/proj'"),
            std::string::npos)
      << reason("rm -rf /data/proj/*");
  EXPECT_NE(reason("cd /data && rm -rf proj").find("'proj' could name '/data/proj'"),
            std::string::npos)
      << reason("cd /data && rm -rf proj");
  // A path that is also a system path is reported once, under the system rule.
  RiskAssessment a = AssessShellRisk("rm -rf /srv/x", RiskContext{.declared_paths = {"/srv/x"}});
  EXPECT_TRUE(HasRule(a, "rm-recursive-system")) << Rules(a);
  EXPECT_FALSE(HasRule(a, "rm-recursive-declared")) << Rules(a);
}

// Through the allowlist rule: every command allowed, the declared directory still cannot be
// removed; removing inside it can.
TEST(RiskDeclaredTest, TheGuardRefusesThemEvenWhenEveryCommandIsAllowed) {
  const std::vector<std::string> allowed = {"rm", "sh", "find", "env", "cd", "mv"};
  for (std::string line : {"rm -rf /data/proj", "env -i rm --recur -f /data/proj/*",
                           "find -P /data/proj -delete", "cd /data && rm -rf proj",
                           "find /data/proj -exec rm -rf {} +", "rm -rf /d?ta/proj"}) {
    auto parsed = ParseShell(line);
    ASSERT_TRUE(parsed.has_value()) << line;
    GuardVerdict v = GuardCommands(*parsed, allowed, kDeclared);
    EXPECT_FALSE(v.allowed) << line;
    EXPECT_NE(v.message.find("critical risk"), std::string::npos) << line << ": " << v.message;
    EXPECT_TRUE(GuardCommands(*parsed, allowed).allowed) << "without a context: " << line;
  }
  auto parsed = ParseShell("rm -rf /data/proj/build && find /data/proj -name '*.pyc' -delete");
  ASSERT_TRUE(parsed.has_value());
  GuardVerdict control = GuardCommands(*parsed, allowed, kDeclared);
  EXPECT_TRUE(control.allowed) << control.message;
  // The same through ParseArgv, as `exec` reads an argv.
  auto argv = ParseArgv({"rm", "-rf", "/data/proj"});
  ASSERT_TRUE(argv.has_value());
  EXPECT_EQ(AssessRisk(*argv, kDeclared).level, RiskLevel::kCritical);
  EXPECT_EQ(AssessRisk(*argv).level, RiskLevel::kMedium);
}

}  // namespace
}  // namespace skillrt
