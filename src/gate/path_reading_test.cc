#include "gate/path_reading.h"

#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace skillrt::path_reading {
namespace {

struct Case {
  std::string word;
  Danger danger;
  std::string witness;  // Checked when not empty.
};

void Check(const std::vector<Case>& cases, const WorkingDirectories& cwd, Mode mode) {
  for (const Case& c : cases) {
    Reading r = ReadPath(c.word, cwd, mode);
    EXPECT_EQ(static_cast<int>(r.danger), static_cast<int>(c.danger)) << c.word << " -> "
                                                                      << r.witness;
    if (!c.witness.empty()) {
      EXPECT_EQ(r.witness, c.witness) << c.word;
    }
  }
}

TEST(PathReadingTest, WrittenPathsAreReadAsWritten) {
  Check(
      {
          {"/", Danger::kRoot, "/"},
          {"//", Danger::kRoot, "/"},
          {"/tmp/../", Danger::kRoot, "/"},
          {"/*", Danger::kRoot, "/"},
          {"/.*", Danger::kRoot, "/"},
          {"~", Danger::kHome, "~"},
          {"~/*", Danger::kHome, ""},
          {"$HOME", Danger::kHome, "~"},
          {"${HOME}/", Danger::kHome, "~"},
          {"/home/alice", Danger::kHome, "/home/alice"},
          {"/home/alice/*", Danger::kHome, "/home/alice"},
          {"/root", Danger::kHome, "/root"},
          {"/usr", Danger::kSystem, "/usr"},
          {"/etc/ssl/certs", Danger::kSystem, ""},
          {"/srv/x", Danger::kSystem, "/srv/x"},
          {"/srv/x/", Danger::kSystem, "/srv/x"},
          {"/srv/x/.", Danger::kSystem, "/srv/x"},
          {"/srv/x/*", Danger::kSystem, "/srv/x"},
          {"/var/lib", Danger::kSystem, ""},
          // Not dangerous: scratch space, deeper than a top's children, relative paths.
          {"/var/tmp", Danger::kNone, ""},
          {"/dev/shm", Danger::kNone, ""},
          {"/srv/x/data", Danger::kNone, ""},
          {"/srv/x/*.log", Danger::kNone, ""},
          {"/tmp/build", Danger::kNone, ""},
          {"/tmp/*.txt", Danger::kNone, ""},
          {"~/project", Danger::kNone, ""},
          {"$HOME/.cache", Danger::kNone, ""},
          {"build", Danger::kNone, ""},
          {"build/*", Danger::kNone, ""},
          {"./a/../b", Danger::kNone, ""},
          {"/tmp/build-$$", Danger::kNone, ""},
      },
      WorkingDirectories{}, Mode::kWorst);
}

TEST(PathReadingTest, PatternsAreReadAsAnyNameTheyCanMatch) {
  Check(
      {
          {"/s?v/x", Danger::kSystem, "/srv/x"},
          {"/sr[v]/x", Danger::kSystem, "/srv/x"},
          {"/[r-t]rv/x", Danger::kSystem, "/srv/x"},
          {"/?rv", Danger::kSystem, "/srv"},
          {"/*/x", Danger::kHome, "/home/x"},
          {"/s*", Danger::kSystem, ""},
          {"/h*/alice", Danger::kHome, "/home/alice"},
          {"/var/t?p", Danger::kSystem, ""},  // Could be /var/tap as well as /var/tmp.
          // ".*" matches ".." in dash and in bash without globskipdots.
          {"/tmp/.*/srv/x", Danger::kSystem, "/srv/x"},
          {"/tmp/.?/etc", Danger::kSystem, "/etc"},
          // "*" never matches a leading dot, so it cannot climb.
          {"/tmp/*/srv/x", Danger::kNone, ""},
          {"/tmp/x*", Danger::kNone, ""},
      },
      WorkingDirectories{}, Mode::kWorst);
}

TEST(PathReadingTest, ExpansionsCanBeAnyPath) {
  Check(
      {
          {"$X", Danger::kRoot, "/"},
          {"${X:-/srv/x}", Danger::kRoot, "/"},
          {"$PWD/../srv/x", Danger::kRoot, "/"},
          {"$0", Danger::kRoot, "/"},
          {"$@", Danger::kRoot, "/"},
          {"/tmp/$X", Danger::kRoot, "/"},
          {"$(cat list)", Danger::kRoot, "/"},
          {"`cat list`", Danger::kRoot, "/"},
          {"build/${NAME}", Danger::kRoot, "/"},
          // Numbers hold neither '/' nor "..".
          {"/tmp/x-$$", Danger::kNone, ""},
          {"/tmp/x-${#A}", Danger::kNone, ""},
          {"/tmp/x-$((1+2))", Danger::kNone, ""},
          {"a$", Danger::kNone, ""},
      },
      WorkingDirectories{}, Mode::kWorst);
}

TEST(PathReadingTest, ClimbingAboveTheStartCanReachAnything) {
  Check({{"..", Danger::kRoot, "/"},
         {"../srv/x", Danger::kRoot, "/"},
         {"a/../..", Danger::kRoot, "/"},
         {"a/..", Danger::kNone, ""},
         {"~/..", Danger::kRoot, "/"}},
        WorkingDirectories{}, Mode::kWorst);
}

TEST(PathReadingTest, DirectoryChangesMoveRelativePaths) {
  WorkingDirectories cwd;
  cwd.Change("/srv");
  Check({{"x", Danger::kSystem, "/srv/x"}, {"x/y", Danger::kNone, ""}, {"*", Danger::kSystem, ""}},
        cwd, Mode::kWorst);

  WorkingDirectories home;
  home.Change("~");
  Check({{"*", Danger::kHome, ""}, {"x", Danger::kNone, ""}}, home, Mode::kWorst);

  WorkingDirectories build;
  build.Change("build");
  build.Change("out");  // From both: build/out and out.
  ASSERT_EQ(build.dirs.size(), 4u);
  Check({{"*", Danger::kNone, ""}, {"../../x", Danger::kRoot, ""}}, build, Mode::kWorst);

  for (std::string target : {"$D", "-", "`pwd`"}) {
    WorkingDirectories unknown;
    unknown.Change(target);
    Check({{"x", Danger::kRoot, "/"}}, unknown, Mode::kWorst);
  }
}

TEST(PathReadingTest, BelowARootIsTheRootOrAnythingUnderIt) {
  WorkingDirectories start;
  Check({{".", Danger::kSystem, "/srv/x"}}, start.Below({"/srv/x"}), Mode::kWorst);
  Check({{".", Danger::kSystem, "/srv"}}, start.Below({"/srv"}), Mode::kWorst);
  Check({{".", Danger::kRoot, "/"}}, start.Below({"/"}), Mode::kWorst);
  Check({{".", Danger::kNone, ""}}, start.Below({"."}), Mode::kWorst);
  Check({{".", Danger::kNone, ""}}, start.Below({"/srv/x/data"}), Mode::kWorst);
  Check({{".", Danger::kRoot, "/"}}, start.Below({"$D"}), Mode::kWorst);
}

TEST(PathReadingTest, LiteralModeReadsOnlyWhatIsWritten) {
  Check(
      {
          {"/", Danger::kRoot, "/"},
          {"/*", Danger::kRoot, "/"},
          {"/etc/passwd", Danger::kSystem, ""},
          {"/var/*", Danger::kSystem, ""},
          {"/s?v/x", Danger::kNone, ""},
          {"$X", Danger::kNone, ""},
          {"$OUT/x", Danger::kNone, ""},
          {"../etc", Danger::kNone, ""},
          {"$HOME", Danger::kHome, ""},
      },
      WorkingDirectories{}, Mode::kLiteral);
}

TEST(PathReadingTest, ExactOnlyWhenNoGuessWasNeeded) {
  EXPECT_TRUE(ReadPath("/srv/x", {}).exact);
  EXPECT_TRUE(ReadPath("/srv/x/*", {}).exact);
  EXPECT_FALSE(ReadPath("/s?v/x", {}).exact);
  EXPECT_FALSE(ReadPath("$X", {}).exact);
  EXPECT_FALSE(ReadPath("build", {}).exact);
  EXPECT_EQ(AnyPath().danger, Danger::kRoot);
}

// The paths a run declared: a word reaches one when it can be it, a directory above it, or
// all of its contents, at its worst reading.
TEST(PathReadingTest, DeclaredPathsAreReachedItselfAboveOrAsContents) {
  const DeclaredPaths declared({"/data/proj", "/store//real/./"});
  struct Reached {
    std::string word;
    Reach reach;
    std::string witness;
    std::string declared;
    bool exact;
  };
  const WorkingDirectories start;
  for (const Reached& c : std::vector<Reached>{
           {"/data/proj", Reach::kItself, "/data/proj", "/data/proj", true},
           {"/data/proj/", Reach::kItself, "/data/proj", "/data/proj", true},
           {"/data/proj/x/..", Reach::kItself, "/data/proj", "/data/proj", true},
           {"/store/real", Reach::kItself, "/store/real", "/store/real", true},
           {"/data", Reach::kAbove, "/data", "/data/proj", true},
           {"/", Reach::kAbove, "/", "/data/proj", true},
           {"/data/proj/*", Reach::kContents, "/data/proj/*", "/data/proj", true},
           {"/data/proj/?*", Reach::kContents, "/data/proj/?*", "/data/proj", true},
           // ".*" can be "..": the worst reading is the directory above.
           {"/data/proj/.*", Reach::kAbove, "/data", "/data/proj", false},
           {"/data/*", Reach::kItself, "/data/proj", "/data/proj", false},
           {"/d?ta/proj", Reach::kItself, "/data/proj", "/data/proj", false},
           {"/data/pro[j]", Reach::kItself, "/data/proj", "/data/proj", false},
           {"/data/proj/x/.*", Reach::kItself, "/data/proj", "/data/proj", false},
           {"$X", Reach::kItself, "/data/proj", "/data/proj", false},
       }) {
    std::optional<DeclaredReading> r = ReadDeclared(c.word, start, declared);
    ASSERT_TRUE(r.has_value()) << c.word;
    EXPECT_EQ(static_cast<int>(r->reach), static_cast<int>(c.reach)) << c.word;
    EXPECT_EQ(r->witness, c.witness) << c.word;
    EXPECT_EQ(r->declared, c.declared) << c.word;
    EXPECT_EQ(r->exact, c.exact) << c.word;
  }
  for (std::string word : {"/data/proj/build", "/data/proj/*.o", "/data/projects", "/data/p",
                           "/dat", "/store/realm", "proj", "*", "~/proj", "/data/proj/x/*"}) {
    EXPECT_FALSE(ReadDeclared(word, start, declared).has_value()) << word;
  }
  EXPECT_FALSE(ReadDeclared("/data/proj", start, DeclaredPaths()).has_value());
  EXPECT_FALSE(ReadDeclared("/data/proj", start, DeclaredPaths({"data/proj"})).has_value());
  // "*" does not match a leading dot: /data/* leaves /data/.proj alone.
  EXPECT_FALSE(ReadDeclared("/data/*", start, DeclaredPaths({"/data/.proj"})).has_value());
  EXPECT_TRUE(ReadDeclared("/data/.*", start, DeclaredPaths({"/data/.proj"})).has_value());
}

TEST(PathReadingTest, DeclaredPathsFollowDirectoryChanges) {
  const DeclaredPaths declared({"/data/proj"});
  WorkingDirectories cwd;
  cwd.Change("/data");
  EXPECT_TRUE(ReadDeclared("proj", cwd, declared).has_value());
  EXPECT_TRUE(ReadDeclared("*", cwd, declared).has_value());
  EXPECT_FALSE(ReadDeclared("proj/build", cwd, declared).has_value());
  WorkingDirectories unknown;
  unknown.Change("$D");
  EXPECT_TRUE(ReadDeclared("x", unknown, declared).has_value());
}

// Below find's starting points a -name test narrows what `{}` can be, at any depth.
TEST(PathReadingTest, BelowARootANameTestNarrowsTheDeclaredReading) {
  const DeclaredPaths declared({"/data/a/b/c/d/e/proj"});
  const WorkingDirectories start;
  auto below = [&](std::string root, std::optional<NameTest> name) {
    return ReadDeclared(".", start.Below({root}, name), declared);
  };
  EXPECT_TRUE(below("/data", std::nullopt).has_value());
  EXPECT_TRUE(below("/data", NameTest{.pattern = "proj"}).has_value());
  EXPECT_TRUE(below("/data", NameTest{.pattern = "c"}).has_value());  // Above it.
  EXPECT_TRUE(below("/data", NameTest{.pattern = "PRO?", .ignore_case = true}).has_value());
  EXPECT_FALSE(below("/data", NameTest{.pattern = "PROJ"}).has_value());
  EXPECT_FALSE(below("/data", NameTest{.pattern = "*.pyc"}).has_value());
  EXPECT_TRUE(below("/data/a/b/c/d/e/proj", NameTest{.pattern = "p*"}).has_value());
  EXPECT_FALSE(below("/data/a/b/c/d/e/proj", NameTest{.pattern = "build"}).has_value());
  EXPECT_FALSE(below("/data/a/b/c/d/e/proj/build", std::nullopt).has_value());
}

}  // namespace
}  // namespace skillrt::path_reading
